"""`lotsen route explain|table|learn` and `lotsen bench router` (small, from a results file)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals.adapters.base import AgentRun
from evals.metrics import compute_metrics
from evals.runner import CaseResult, RunResult
from evals.scenario import load_suite
from lotsen.cli.evals import resolve_targets
from tests.support.cli import run_lotsen as lotsen

SUITES = ["monitor", "retrainer", "compliance", "capacity"]
"""Committed suites: the benchmark test does not depend on scenarios being written."""


def results_file(tmp_path: Path, llm_tier: str | None = None) -> Path:
    """A tier-0 eval run over the committed suites; every 7th case failed.

    With `llm_tier`, that tier's cases too: all passed, each costing 0.01.
    """
    scenarios = load_suite(resolve_targets(SUITES))
    cases = [
        CaseResult(
            scenario=s.id,
            agent=s.agent,
            level=s.level,
            difficulty=s.difficulty,
            control=s.control,
            split=s.split,
            tags=s.tags,
            tier="tier0",
            trial=0,
            passed=i % 7 != 0,
            run=AgentRun(latency_s=0.5),
        )
        for i, s in enumerate(scenarios)
    ]
    if llm_tier is not None:
        cases += [
            c.model_copy(
                update={"tier": llm_tier, "passed": True, "run": AgentRun(cost=0.01, latency_s=3)}
            )
            for c in cases
        ]
    now = datetime.now(UTC)
    run = RunResult(
        started_at=now,
        finished_at=now,
        wall_s=1.0,
        trials=1,
        jobs=1,
        tiers=["tier0", *([llm_tier] if llm_tier else [])],
        host="test",
        scenarios=[],
        cases=cases,
        metrics=compute_metrics(cases, 1),
    )
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(run.model_dump_json(by_alias=True))
    return path


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.slow
def test_bench_router_small_says_simulated_first_and_scores_three_policies(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = results_file(tmp_path)
    code, out, err = lotsen(
        capsys, monkeypatch, "bench", "router", *SUITES, "--results", str(results)
    )
    assert code == 0, err
    assert out.splitlines()[0].startswith("LLM tiers SIMULATED: scripted doubles")
    assert "always-largest" in out and "always-tier0" in out and "router" in out
    code, out, err = lotsen(
        capsys, monkeypatch, "bench", "router", *SUITES, "--results", str(results), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["mode"] == "simulated"
    assert [p["name"] for p in report["policies"]] == ["always-largest", "always-tier0", "router"]
    assert report["train_cases"] + report["test_cases"] == len(load_suite(resolve_targets(SUITES)))
    largest, tier0, router = report["policies"]
    assert tier0["cost"] == 0 and largest["cost"] > router["cost"]
    assert report["cost_reduction"] == pytest.approx(1 - router["cost"] / largest["cost"])


def test_route_learn_then_table_and_explain(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = lotsen(capsys, monkeypatch, "route", "table")
    assert code == 0, err
    assert "nothing measured" in out
    code, out, err = lotsen(capsys, monkeypatch, "route", "learn", str(results_file(tmp_path)))
    assert code == 0, err
    assert (data / "router" / "registry.yaml").exists()
    code, out, err = lotsen(capsys, monkeypatch, "route", "table", "--json")
    assert code == 0, err
    table = json.loads(out)
    classes = {e["task_class"] for e in table["entries"]}
    assert {"monitor/diagnose", "retrainer/decide", "capacity/plan"} <= classes
    code, out, err = lotsen(capsys, monkeypatch, "route", "explain", "monitor/diagnose", "--json")
    assert code == 0, err
    decision = json.loads(out)
    assert (decision["task_class"], decision["tier"]) == ("monitor/diagnose", "tier0")


def test_route_explain_a_question_without_a_world(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = lotsen(
        capsys, monkeypatch, "route", "explain", "Which nodes are down?", "--json"
    )
    assert code == 0, err
    decision = json.loads(out)
    assert decision["task_class"] == "assistant/answer:nodes"
    assert "no world to parse against" in err


def test_bad_registry_is_one_line(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: nope\n")
    code, _, err = lotsen(capsys, monkeypatch, "route", "table", "--registry", str(bad))
    assert code == 2
    assert "is not a router registry" in err and "Traceback" not in err


def test_bench_router_measures_real_tiers_when_configured(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tier = {"name": "gpu", "base_url": "http://127.0.0.1:9/v1", "model": "served-model"}
    monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps([tier]))
    results = results_file(tmp_path, llm_tier="gpu")
    code, out, err = lotsen(
        capsys, monkeypatch, "bench", "router", *SUITES, "--results", str(results)
    )
    assert code == 0, err
    assert out.splitlines()[0].startswith("LLM tiers REAL: gpu")
    code, out, err = lotsen(
        capsys, monkeypatch, "bench", "router", *SUITES, "--results", str(results), "--json"
    )
    report = json.loads(out)
    assert (report["mode"], report["largest"]) == ("real", "gpu")
    largest, tier0, router = report["policies"]
    assert largest["success"] == 1.0 and tier0["success"] < 1.0
    assert largest["cost"] == pytest.approx(0.01 * largest["cases"])
    assert router["success"] >= tier0["success"]


def test_route_explain_shows_a_tier_marked_down_routed_around(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.router

    shipped = Path(agents.router.__file__).with_name("registry.yaml")
    args = ["route", "explain", "compliance/explain", "--registry", str(shipped), "--json"]
    code, out, err = lotsen(capsys, monkeypatch, *args, "--down", "tier0")
    assert code == 0, err
    decision = json.loads(out)
    assert decision["routed_around"] == ["tier0"]
    assert decision["tier"] != "tier0"
