"""pass@1 / pass^k arithmetic, false positives on controls, comparisons, refusing empty runs."""

from datetime import UTC, datetime
from math import comb
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.adapters import AgentRun
from evals.compare import compare
from evals.metrics import compute_metrics, pass_hat_k
from evals.report import load_result, render_html, render_markdown, write_reports
from evals.runner import CaseResult, EmptyRunError, RunResult, run_suite
from tools.errors import ConfigError


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_hat_k_is_the_unbiased_estimator(nc: tuple[int, int]) -> None:
    n, c = nc
    assert pass_hat_k(c, n, 1) == pytest.approx(c / n)
    values = [pass_hat_k(c, n, k) for k in range(1, n + 1)]
    assert values == sorted(values, reverse=True)  # all-k-succeed only gets harder
    assert values[-1] == (1.0 if c == n else 0.0)
    for k, value in enumerate(values, start=1):
        assert value == pytest.approx(comb(c, k) / comb(n, k))


def test_pass_hat_k_by_hand() -> None:
    # 3 of 4 trials passed: pass^2 = C(3,2)/C(4,2) = 3/6, pass^4 = 0
    assert pass_hat_k(3, 4, 2) == 0.5
    assert pass_hat_k(3, 4, 4) == 0.0
    with pytest.raises(ValueError, match="k must be in"):
        pass_hat_k(3, 4, 5)


def case(scenario: str, trial: int, passed: bool, **extra: object) -> CaseResult:
    values: dict[str, object] = {
        "scenario": scenario,
        "agent": "monitor",
        "level": "detection",
        "difficulty": "easy",
        "control": False,
        "split": "dev",
        "tier": "tier0",
        "trial": trial,
        "passed": passed,
        "run": AgentRun(input_tokens=100, output_tokens=10, cost=0.5, latency_s=1.0, steps=2),
    }
    values.update(extra)
    return CaseResult.model_validate(values)


def result(cases: list[CaseResult], trials: int = 4) -> RunResult:
    now = datetime.now(UTC)
    return RunResult(
        started_at=now,
        finished_at=now,
        wall_s=1.0,
        trials=trials,
        jobs=1,
        tiers=["tier0"],
        host="test",
        scenarios=[],
        cases=cases,
        metrics=compute_metrics(cases, trials),
    )


def test_metrics_per_scenario_group_and_controls() -> None:
    cases = [case("a", t, t < 3) for t in range(4)]  # 3/4
    cases += [case("b", t, True, difficulty="hard", agent="retrainer") for t in range(4)]
    cases += [
        case("ctl", t, t != 0, control=True, tags=["prompt-injection"]) for t in range(4)
    ]  # acted once
    m = compute_metrics(cases, 4)
    assert m.overall.pass_at_1 == pytest.approx((0.75 + 1 + 0.75) / 3)
    assert m.overall.pass_hat_k[4] == pytest.approx(1 / 3)
    assert m.overall.pass_hat_k[2] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert m.overall.false_positive_rate == pytest.approx(1 / 4)
    assert m.by["agent"]["retrainer"].pass_hat_k[4] == 1.0
    assert m.by_agent_difficulty["monitor"]["easy"].scenarios == 2
    assert m.by["agent"]["retrainer"].false_positive_rate is None
    assert m.overall.cost == pytest.approx(12 * 0.5)
    assert m.overall.cost_per_scenario == pytest.approx(2.0)
    assert m.overall.input_tokens == 1200
    assert m.by_tag["prompt-injection"].pass_at_1 == 0.75
    assert m.by_tag["prompt-injection"].false_positive_rate == 0.25


def test_setup_failures_are_listed_not_scored() -> None:
    cases = [case("a", 0, True), case("broken", 0, False, run=None, error="setup: boom")]
    m = compute_metrics(cases, 1)
    assert m.overall.scenarios == 1
    assert m.not_executed == ["broken"]


def test_a_run_with_zero_cases_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmptyRunError, match="no case was executed"):
        run_suite([], trials=4, tiers=[None], jobs=1, workdir=tmp_path, cache_dir=tmp_path)


def test_compare_highlights_regressions(tmp_path: Path) -> None:
    before = result(
        [case("a", t, True) for t in range(4)] + [case("b", t, t < 2) for t in range(4)]
    )
    after = result([case("a", t, t < 3) for t in range(4)] + [case("b", t, True) for t in range(4)])
    diff = compare(before, after)
    regressed = {d.name for d in diff.regressions}
    assert "a" in regressed
    assert "b" not in regressed
    assert diff.scenarios[0].name == "a"  # regressions first
    assert compare(before, after, tolerance=0.3).regressions == []
    assert compare(before, before).regressions == []


def test_reports_round_trip_and_are_self_contained(tmp_path: Path) -> None:
    run = result(
        [case("a", t, t < 3) for t in range(4)]
        + [case("c", t, True, control=True) for t in range(4)]
    )
    paths = write_reports(run, tmp_path / "run")
    assert load_result(tmp_path / "run").metrics == run.metrics
    html = paths["html"].read_text(encoding="utf-8")
    assert "<svg" in html and "pass^4" in html
    assert "src=" not in html and "<link" not in html and "<script" not in html
    assert "| monitor | 87.5% / 50.0% (n=2)" in render_markdown(run)
    assert "a</code> trial 3" in render_html(run)
    with pytest.raises(ConfigError, match="does not exist"):
        load_result(tmp_path / "nowhere")
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a Lotsen eval result"):
        load_result(tmp_path / "junk.json")
