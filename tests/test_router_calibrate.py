"""Calibration on a training split, scored on a separate held-out split."""

from agents.router.calibrate import CaseRun, calibrate, play, registry_of, split_of
from agents.router.registry import Outcome, TierInfo
from llm.doubles.tier_profiles import TierProfiles
from lotsen.bench.router import add_scripted, bench_router

TIERS = [
    TierInfo(name="tier0"),
    TierInfo(name="small", cost_per_1k_input=0.0001, cost_per_1k_output=0.0003),
    TierInfo(name="large", cost_per_1k_input=0.0009, cost_per_1k_output=0.0027),
]


def cases(n: int) -> list[CaseRun]:
    """Tier 0 passes the monitor cases and fails a third of the chat ones (unverified)."""
    runs = []
    for i in range(n):
        chat = i % 2 == 0
        task_class = "assistant/answer:drift" if chat else "monitor/diagnose"
        fails = chat and i % 3 == 0
        run = CaseRun(case=f"case-{i:03d}", task_class=task_class)
        run.outcomes["tier0"] = Outcome(
            case=run.case, task_class=task_class, tier="tier0", passed=not fails, verified=not fails
        )
        runs.append(run)
    return runs


def test_split_is_deterministic_disjoint_and_near_the_share() -> None:
    ids = [f"case-{i}" for i in range(400)]
    first = [split_of(c) for c in ids]
    assert first == [split_of(c) for c in reversed(ids)][::-1]
    assert 150 < first.count("train") < 250
    assert {split_of(c, 0.3) for c in ids} == {"train", "test"}


def test_play_pays_for_every_tier_a_cascade_tries() -> None:
    run = CaseRun(case="c", task_class="monitor/diagnose")
    run.outcomes["small"] = Outcome(
        case="c",
        task_class="x",
        tier="small",
        passed=False,
        verified=False,
        cost=1.0,
        latency_s=1.0,
    )
    run.outcomes["large"] = Outcome(
        case="c", task_class="x", tier="large", passed=True, cost=5.0, latency_s=2.0
    )
    played = play(run, ["small", "large"])
    assert (played.passed, played.cost, played.latency_s, played.escalations) == (True, 6.0, 3.0, 1)
    assert play(run, ["large"]).cost == 5.0
    last = play(run, ["small"])
    assert (last.passed, last.escalations) == (False, 0)


def test_calibration_uses_only_the_training_split_and_scores_the_other() -> None:
    runs = cases(120)
    add_scripted(runs, TierProfiles.load(), served=None)
    result = bench_router(runs, TIERS, mode="simulated", first_line="simulated")
    train_ids = {c.case for c in runs if split_of(c.case) == "train"}
    assert result.train_cases == len(train_ids)
    assert result.test_cases == len(runs) - len(train_ids)
    assert sum(e.trials for e in result.registry.entries) == 3 * len(train_ids)
    largest, tier0, router = result.policies
    assert (largest.name, tier0.name, router.name) == ("always-largest", "always-tier0", "router")
    assert router.cost < largest.cost
    assert router.success >= tier0.success
    assert result.cost_reduction == 1 - router.cost / largest.cost


def test_calibration_picks_the_cheapest_setting_that_keeps_success() -> None:
    runs = cases(80)
    add_scripted(runs, TierProfiles.load(), served=None)
    train = [c for c in runs if split_of(c.case) == "train"]
    fitted = calibrate(train, registry_of(train, TIERS, "test"), "large")
    assert fitted.train.success >= 0.98 * fitted.train_largest.success
    assert fitted.train.cost <= fitted.train_largest.cost
