"""The eval metrics, figure by figure: every field of a scenario's and a group's metrics
computed by hand from a small run, the estimator's refusals, and the edges (no runs, no
controls, a run without a cost, the 95th percentile's index).
"""

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from evals.adapters import AgentRun
from evals.metrics import GroupMetrics, compute_metrics, pass_hat_k
from evals.runner import CaseResult


def case(scenario: str, passed: bool, **extra: object) -> CaseResult:
    values: dict[str, object] = {
        "scenario": scenario,
        "agent": "monitor",
        "level": "detection",
        "difficulty": "easy",
        "control": False,
        "split": "dev",
        "tier": "tier0",
        "trial": 0,
        "passed": passed,
        "run": AgentRun(input_tokens=100, output_tokens=10, cost=0.5, latency_s=1.0, steps=2),
    }
    values.update(extra)
    return CaseResult.model_validate(values)


def run(**figures: object) -> AgentRun:
    return AgentRun.model_validate(figures)


# --- pass^k ------------------------------------------------------------------------------


def test_pass_hat_k_accepts_every_k_and_count_in_range() -> None:
    assert pass_hat_k(0, 3, 1) == 0.0
    assert pass_hat_k(3, 3, 3) == 1.0
    assert pass_hat_k(2, 3, 3) == 0.0
    assert pass_hat_k(2, 3, 2) == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("successes", "trials", "k", "message"),
    [
        (-1, 3, 1, "successes -1 not in [0, 3]"),
        (4, 3, 1, "successes 4 not in [0, 3]"),
        (1, 3, 0, "k must be in [1, 3], got 0"),
        (1, 3, 4, "k must be in [1, 3], got 4"),
    ],
)
def test_pass_hat_k_refuses_impossible_counts_and_says_which(
    successes: int, trials: int, k: int, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        pass_hat_k(successes, trials, k)
    assert str(raised.value) == message


# --- per scenario ------------------------------------------------------------------------


def test_a_scenarios_metrics_by_hand() -> None:
    cases = [
        case(
            "a",
            True,
            agent="retrainer",
            level="remediation",
            difficulty="hard",
            split="test",
            tags=["drift", "hard"],
            run=run(input_tokens=100, output_tokens=10, cost=0.5, latency_s=2.0, steps=3),
        ),
        case(
            "a",
            False,
            agent="retrainer",
            level="remediation",
            difficulty="hard",
            split="test",
            tags=["drift", "hard"],
            error="oracle: champion moved",
            run=run(
                tier="tier0", input_tokens=50, output_tokens=5, cost=0.25, latency_s=4.0, steps=5
            ),
        ),
        case(
            "a",
            True,
            agent="retrainer",
            level="remediation",
            difficulty="hard",
            split="test",
            tags=["drift", "hard"],
            run=run(tier="small", input_tokens=1, output_tokens=1, cost=0.0, latency_s=0.0),
        ),
    ]
    [s] = compute_metrics(cases, 3).scenarios
    assert s.model_dump() == {
        "scenario": "a",
        "agent": "retrainer",
        "level": "remediation",
        "difficulty": "hard",
        "split": "test",
        "tier": "tier0",
        "control": False,
        "tags": ["drift", "hard"],
        "trials": 3,
        "successes": 2,
        "pass_at_1": pytest.approx(2 / 3),
        "pass_hat_k": {1: pytest.approx(2 / 3), 2: pytest.approx(1 / 3), 3: 0.0},
        "tokens": 167,
        "cost": 0.75,
        "latency_mean_s": 2.0,
        "steps_mean": pytest.approx(8 / 3),
        "actual_tiers": ["small", "tier0"],
        "errors": ["oracle: champion moved"],
    }


def test_a_scenario_at_two_tiers_is_two_scenario_rows() -> None:
    cases = [case("a", True), case("a", False, tier="small"), case("a", True, tier="small")]
    found = {
        (s.scenario, s.tier): (s.trials, s.successes) for s in compute_metrics(cases, 2).scenarios
    }
    assert found == {("a", "tier0"): (1, 1), ("a", "small"): (2, 1)}


def test_a_scenario_lists_its_first_three_distinct_errors() -> None:
    errors = ["e4", "e2", "e1", "e2", "e3", None]
    cases = [case("a", False, error=e) for e in errors]
    [s] = compute_metrics(cases, 6).scenarios
    assert s.errors == ["e1", "e2", "e3"]


# --- groups ------------------------------------------------------------------------------


def test_a_groups_metrics_by_hand() -> None:
    cases = [case("a", t < 3, run=run(latency_s=float(t + 1), steps=t)) for t in range(4)]
    cases += [case("b", True, run=run(latency_s=10.0, cost=1.0)) for _ in range(2)]
    cases += [case("c", False, run=None, error="setup: boom")]
    m = compute_metrics(cases, 4).overall
    assert m == GroupMetrics(
        scenarios=2,
        cases=6,
        pass_at_1=(0.75 + 1.0) / 2,
        pass_hat_k={1: (0.75 + 1.0) / 2, 2: (0.5 + 1.0) / 2, 3: 0.25 / 1, 4: 0.0},
        controls=0,
        false_positive_rate=None,
        input_tokens=0,
        output_tokens=0,
        cost=2.0,
        cost_per_scenario=1.0,
        latency_mean_s=(1 + 2 + 3 + 4 + 10 + 10) / 6,
        latency_p95_s=10.0,
        steps_mean=(0 + 1 + 2 + 3) / 6,
    )


def test_pass_hat_k_of_a_group_averages_the_scenarios_that_ran_k_trials() -> None:
    """A scenario of two trials has no pass^3: the group's pass^3 is the others' mean."""
    cases = [case("a", True), case("a", True)] + [case("b", t < 2) for t in range(3)]
    m = compute_metrics(cases, 3).overall
    assert m.pass_hat_k == {
        1: pytest.approx((1 + 2 / 3) / 2),
        2: pytest.approx((1 + 1 / 3) / 2),
        3: 0.0,
    }


def test_tokens_are_counted_in_and_out() -> None:
    cases = [case("a", True, run=run(input_tokens=7, output_tokens=3)) for _ in range(2)]
    m = compute_metrics(cases, 2)
    assert (m.overall.input_tokens, m.overall.output_tokens) == (14, 6)
    assert m.scenarios[0].tokens == 20


@pytest.mark.parametrize(("n", "index"), [(1, 0), (19, 18), (20, 18), (21, 19), (40, 37)], ids=str)
def test_p95_latency_is_the_nearest_rank(n: int, index: int) -> None:
    """The ceil(0.95 n)-th smallest latency (1-based)."""
    cases = [case(f"s{i}", True, run=run(latency_s=float(i))) for i in reversed(range(n))]
    assert compute_metrics(cases, 1).overall.latency_p95_s == float(index)


def test_false_positives_count_control_trials_that_failed() -> None:
    cases = [case("ctl", t != 0, control=True) for t in range(4)]
    cases += [case("ctl2", True, control=True) for _ in range(4)]
    cases += [case("x", False) for _ in range(4)]
    m = compute_metrics(cases, 4).overall
    assert m.controls == 2
    assert m.false_positive_rate == 1 / 8


def test_a_group_without_runs_is_zero_not_an_error() -> None:
    m = compute_metrics([case("broken", False, run=None)], 1)
    assert m.not_executed == ["broken"]
    assert m.overall == GroupMetrics(
        scenarios=0,
        cases=0,
        pass_at_1=0.0,
        pass_hat_k={},
        controls=0,
        false_positive_rate=None,
        input_tokens=0,
        output_tokens=0,
        cost=0.0,
        cost_per_scenario=0.0,
        latency_mean_s=0.0,
        latency_p95_s=0.0,
        steps_mean=0.0,
    )
    assert m.by == {g: {} for g in ("agent", "level", "difficulty", "split", "tier")}


def test_not_executed_lists_each_scenario_once_sorted() -> None:
    cases = [case(s, False, run=None) for s in ("z", "b", "z")] + [case("a", True)]
    assert compute_metrics(cases, 2).not_executed == ["b", "z"]


# --- groupings ---------------------------------------------------------------------------


def test_every_grouping_splits_by_its_own_field() -> None:
    cases = [
        case("a", True),
        case(
            "b",
            False,
            agent="retrainer",
            level="remediation",
            difficulty="hard",
            split="test",
            tier="small",
        ),
    ]
    by = compute_metrics(cases, 1).by
    assert {g: {v: m.pass_at_1 for v, m in values.items()} for g, values in by.items()} == {
        "agent": {"monitor": 1.0, "retrainer": 0.0},
        "level": {"detection": 1.0, "remediation": 0.0},
        "difficulty": {"easy": 1.0, "hard": 0.0},
        "split": {"dev": 1.0, "test": 0.0},
        "tier": {"small": 0.0, "tier0": 1.0},
    }
    assert by["agent"]["retrainer"].cases == 1


def test_agent_by_difficulty_keeps_each_difficulty_apart() -> None:
    cases = [
        case("a", True),
        case("b", False, difficulty="medium"),
        case("c", True, difficulty="hard"),
        case("d", False, difficulty="hard", agent="retrainer"),
    ]
    by = compute_metrics(cases, 1).by_agent_difficulty
    assert {
        a: {d: (m.scenarios, m.cases, m.pass_at_1) for d, m in v.items()} for a, v in by.items()
    } == {
        "monitor": {"easy": (1, 1, 1.0), "medium": (1, 1, 0.0), "hard": (1, 1, 1.0)},
        "retrainer": {"hard": (1, 1, 0.0)},
    }


def test_tags_group_scenarios_but_difficulty_names_are_not_tags() -> None:
    cases = [
        case("a", True, tags=["drift", "easy"]),
        case("b", False, tags=["drift", "prompt-injection", "hard", "medium"]),
        case("c", True),
    ]
    by_tag = compute_metrics(cases, 1).by_tag
    assert {t: (m.scenarios, m.cases, m.pass_at_1) for t, m in by_tag.items()} == {
        "drift": (2, 2, 0.5),
        "prompt-injection": (1, 1, 0.0),
    }


# --- runs that are not AgentRun ----------------------------------------------------------


@dataclass
class BareCase:
    """A case whose run is any object: the metrics read a run's figures when it has them."""

    scenario: str
    run: object | None
    passed: bool = True
    agent: str = "monitor"
    level: str = "detection"
    difficulty: str = "easy"
    split: str = "dev"
    tier: str = "tier0"
    control: bool = False
    error: str | None = None
    tags: list[str] = field(default_factory=list)


def test_a_run_without_a_figure_or_with_none_counts_zero() -> None:
    cases = [
        BareCase("a", SimpleNamespace(cost=None, latency_s=3.0)),
        BareCase("a", SimpleNamespace(cost=2.0, steps=None)),
    ]
    m = compute_metrics(cases, 2)
    assert (m.overall.cost, m.overall.latency_mean_s, m.overall.steps_mean) == (2.0, 1.5, 0.0)
    assert (m.overall.input_tokens, m.overall.output_tokens) == (0, 0)
    assert m.scenarios[0].tokens == 0
    assert m.scenarios[0].actual_tiers == [""]
