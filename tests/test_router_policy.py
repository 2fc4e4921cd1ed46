"""The routing policy: cheapest tier meeting the lower-bound target, features, outages."""

import pytest

from agents.router.cascade import run_cascade
from agents.router.policy import Router, RouteRequest, TierHealth
from agents.router.registry import CapabilityRegistry, Outcome, TierInfo, learn
from agents.router.stats import wilson
from agents.router.tasks import task_class_for_question, task_class_of, verifier_of

TIERS = [
    TierInfo(name="tier0"),
    TierInfo(name="small", cost_per_1k_input=0.1, cost_per_1k_output=0.3),
    TierInfo(name="large", cost_per_1k_input=1.0, cost_per_1k_output=3.0),
]


def outcomes(task_class: str, tier: str, wins: int, n: int, cost: float = 0.0) -> list[Outcome]:
    return [
        Outcome(case=f"{tier}-{i}", task_class=task_class, tier=tier, passed=i < wins, cost=cost)
        for i in range(n)
    ]


def registry(
    rates: dict[str, tuple[int, int]], task_class: str = "monitor/diagnose"
) -> CapabilityRegistry:
    rows = [o for tier, (w, n) in rates.items() for o in outcomes(task_class, tier, w, n)]
    return learn(rows, TIERS, sources=["test"])


def test_wilson_interval_brackets_the_rate_and_narrows_with_trials() -> None:
    low, high = wilson(8, 10)
    assert low < 0.8 < high
    wide, narrow = wilson(8, 10), wilson(80, 100)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(10, 10)[1] == pytest.approx(1.0)


def test_cheapest_tier_whose_lower_bound_meets_the_target() -> None:
    reg = registry({"tier0": (30, 60), "small": (58, 60), "large": (59, 60)})
    decision = Router(reg, target=0.95, cascade_floor=2.0).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert decision.tier == "small"
    assert decision.cascade == ["small", "large"]


def test_a_strict_target_takes_the_best_tier() -> None:
    reg = registry({"tier0": (30, 60), "small": (50, 60), "large": (60, 60)})
    decision = Router(reg, target=1.0, cascade_floor=2.0).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert decision.tier == "large"


def test_tier0_wins_when_it_is_as_good() -> None:
    reg = registry({"tier0": (60, 60), "small": (55, 60), "large": (58, 60)})
    decision = Router(reg).route(RouteRequest(task_class="monitor/diagnose"))
    assert (decision.tier, decision.cascade) == ("tier0", ["tier0"])


def test_difficulty_features_shift_the_choice() -> None:
    reg = registry({"tier0": (40, 60), "small": (57, 60), "large": (60, 60)})
    plain = Router(reg, target=0.9, cascade_floor=2.0).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    hard = Router(reg, target=0.9, cascade_floor=2.0, feature_shift=0.05).route(
        RouteRequest(task_class="monitor/diagnose", features=["hard", "conflicting_signals"])
    )
    assert plain.tier == "small"
    assert hard.tier == "large"
    assert hard.target > plain.target


def test_no_grammar_match_rules_tier0_out() -> None:
    task_class = "assistant/answer:drift"
    reg = registry({"tier0": (60, 60), "small": (58, 60), "large": (59, 60)}, task_class)
    understood = Router(reg).route(RouteRequest(task_class=task_class))
    free_text = Router(reg).route(
        RouteRequest(task_class=task_class, features=["no_grammar_match"])
    )
    assert understood.tier == "tier0"
    assert free_text.tier == "small"
    assert "ruled out by no_grammar_match" in {c.skipped for c in free_text.candidates}


def test_a_tier_that_is_down_or_slow_is_routed_around_and_recorded() -> None:
    reg = registry({"tier0": (30, 60), "small": (58, 60), "large": (59, 60)})
    health = TierHealth(down={"small": "ConnectError"})
    decision = Router(reg, health=health, cascade_floor=2.0).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert decision.tier == "large"
    assert decision.routed_around == ["small"]
    assert "routed around small" in decision.why
    slow = TierHealth(latency_s={"small": 90.0}, slow_after_s=30.0)
    decision = Router(reg, health=slow, cascade_floor=2.0).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert (decision.tier, decision.routed_around) == ("large", ["small"])


def test_every_tier_down_falls_back_to_tier0() -> None:
    reg = registry({"small": (58, 60), "large": (59, 60)})
    reg.tiers = TIERS[1:]
    health = TierHealth(down={"small": "x", "large": "y"})
    decision = Router(reg, health=health).route(RouteRequest(task_class="monitor/diagnose"))
    assert decision.tier == "tier0"
    assert decision.routed_around == ["small", "large"]


def test_cascade_starts_cheap_where_a_verifier_exists_and_measured() -> None:
    reg = registry({"tier0": (50, 60), "small": (58, 60), "large": (60, 60)})
    decision = Router(reg, target=1.0, cascade_floor=0.9).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert decision.cascade == ["small", "large"]
    other = registry({"tier0": (50, 60), "small": (58, 60), "large": (60, 60)}, "billing/run")
    no_verifier = Router(other, target=1.0, cascade_floor=0.9).route(
        RouteRequest(task_class="billing/run")
    )
    assert no_verifier.cascade == ["large"]


def test_priors_never_start_a_cascade_and_pick_the_cheapest_llm_tier() -> None:
    reg = CapabilityRegistry(tiers=TIERS)
    decision = Router(reg).route(RouteRequest(task_class="assistant/answer:registry"))
    assert (decision.tier, decision.cascade) == ("small", ["small"])


def test_cascade_escalates_only_when_the_verifier_rejects() -> None:
    reg = registry({"tier0": (50, 60), "small": (58, 60), "large": (60, 60)})
    health = TierHealth()
    decision = Router(reg, target=1.0, cascade_floor=0.9).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    answers = {"small": "bad json", "large": "ok"}
    run = run_cascade(decision, answers.__getitem__, lambda r: None if r == "ok" else r, health)
    assert (run.tier, run.result, run.accepted) == ("large", "ok", True)
    assert [(e.from_tier, e.to_tier) for e in run.escalations] == [("small", "large")]
    assert "rejected: bad json" in run.escalations[0].reason
    accepted = run_cascade(decision, lambda _t: "ok", lambda r: None)
    assert (accepted.tier, accepted.escalations) == ("small", [])


def test_cascade_marks_a_failing_tier_down() -> None:
    reg = registry({"tier0": (50, 60), "small": (58, 60), "large": (60, 60)})
    health = TierHealth()
    decision = Router(reg, target=1.0, cascade_floor=0.9).route(
        RouteRequest(task_class="monitor/diagnose")
    )

    def attempt(tier: str) -> str:
        if tier == "small":
            raise ConnectionError("refused")
        return "ok"

    run = run_cascade(decision, attempt, lambda r: None, health)
    assert run.tier == "large" and run.accepted
    assert "small" in health.down
    again = Router(reg, target=1.0, cascade_floor=0.9, health=health).route(
        RouteRequest(task_class="monitor/diagnose")
    )
    assert again.routed_around == ["small"]


@pytest.mark.parametrize(
    ("question", "task_class"),
    [
        ("Which models are drifting right now?", "assistant/answer:drift"),
        ("What changed in prod in the last 24 hours?", "assistant/answer:changes"),
        ("Which nodes are down?", "assistant/answer:nodes"),
        ("Who owns credit-score-0018?", "assistant/answer:registry"),
        ("tell me a joke", "assistant/answer:other"),
    ],
)
def test_chat_questions_get_an_intent_family(question: str, task_class: str) -> None:
    assert task_class_for_question(question) == task_class


def test_every_agent_has_a_task_class_and_verifier() -> None:
    assert task_class_of("monitor") == "monitor/diagnose"
    assert task_class_of("compliance", gate=True) == "compliance/gate"
    assert verifier_of("retrainer/decide") == "policy_gate"
    assert verifier_of("assistant/answer:drift") == "understood"
    assert verifier_of("nobody/knows") is None
