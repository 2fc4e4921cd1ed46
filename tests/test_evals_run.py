"""`lotsen eval run|compare|list` end to end: tier 0, and an LLM tier over the scripted server."""

import json
from pathlib import Path
from typing import Any

import pytest

from evals.faults import Promote, TelemetryFault
from evals.runner import EmptyRunError, run_suite
from evals.scenario import SCENARIO_DIR, load_scenario
from llm.doubles import Reply, ScriptedOpenAIServer, ServerProfile
from tests.support.cli import run_lotsen as lotsen

SCENARIOS = (
    "drift-covariate-churn-01",
    "rollback-bad-promotion-01",
    "retrain-drift-drop-dev-01",
    "seasonal-noise-control-01",
)

# The LLM-tier test compares its run with the tier-0 run the first test writes: one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("evals-run")]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir per module: its eval cache keeps the seeded base world between tests."""
    return tmp_path_factory.mktemp("evals") / "data"


def results(run: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((run / "results.json").read_text(encoding="utf-8"))
    return loaded


def test_run_at_tier0_writes_results_and_reports(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    out_dir = data / "run-tier0"
    code, out, err = lotsen(
        capsys, monkeypatch, "--data-dir", str(data), "eval", "run", *SCENARIOS,
        "--trials", "2", "--jobs", "2", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err
    assert "pass@1 100.0%" in out
    run = results(out_dir)
    cases = run["cases"]
    assert isinstance(cases, list) and len(cases) == 8
    assert all(c["passed"] and c["tier"] == "tier0" for c in cases)
    metrics = run["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["overall"]["pass_hat_k"]["2"] == 1.0
    assert metrics["overall"]["controls"] == 1
    assert metrics["overall"]["false_positive_rate"] == 0.0
    assert run["jobs"] == 2  # scenarios ran in two worker processes
    rollback = next(c for c in cases if c["scenario"] == "rollback-bad-promotion-01")
    assert {o["oracle"] for o in rollback["oracles"]} == {
        "alias",
        "no_action",
        "no_unapproved_mutation",
    }
    assert "churn-0004@champion: v2 -> v1" in rollback["oracles"][0]["detail"]
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "rollback-bad-promotion-01" in html
    assert not (out_dir / "work").exists()  # trial worlds are removed
    code, out, _ = lotsen(capsys, monkeypatch, "eval", "compare", str(out_dir), str(out_dir))
    assert code == 0 and "0 regression(s)" in out


def test_an_llm_tier_runs_through_the_same_runner(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def decision(action: str) -> Reply:
        return Reply(content=json.dumps({"action": action, "reason": "scripted"}))

    # trial 0: the model retrains the dev model (right); trial 1: it asks for a human's
    # review first (admissible, more cautious, but the scenario expects the retrain done)
    script = [decision("retrain"), decision("retrain_with_review")]
    with ScriptedOpenAIServer(script, ServerProfile(auto=False)) as server:
        tier = {
            "name": "scripted",
            "base_url": server.base_url,
            "model": "scripted-model",
            "cost_per_1k_input": 1.0,
            "cost_per_1k_output": 2.0,
        }
        monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps([tier]))
        out_dir = data / "run-scripted"
        code, _, err = lotsen(
            capsys, monkeypatch, "--data-dir", str(data), "eval", "run",
            "retrain-drift-drop-dev-01", "--tier", "scripted", "--trials", "2",
            "--out", str(out_dir),
        )  # fmt: skip
        server.assert_complete()
    assert code == 1, err  # one trial failed: the run fails
    assert "1 scenario(s) failed: retrain-drift-drop-dev-01" in err
    run = results(out_dir)
    cases = run["cases"]
    assert isinstance(cases, list)
    assert [c["passed"] for c in cases] == [True, False]
    assert all(c["tier"] == "scripted" and c["run"]["tier"] == "scripted" for c in cases)
    assert all(c["run"]["input_tokens"] > 0 and c["run"]["cost"] > 0 for c in cases)
    assert all(c["run"]["llm_calls"] == 1 for c in cases)
    metrics = run["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["overall"]["pass_at_1"] == 0.5
    assert metrics["overall"]["pass_hat_k"]["2"] == 0.0
    assert metrics["by"]["tier"]["scripted"]["cost"] > 0
    # the same scenario passed both trials at tier 0: comparing shows the regression
    code, out, _ = lotsen(
        capsys, monkeypatch, "eval", "compare", str(data / "run-tier0"), str(out_dir),
        "--fail-on-regression",
    )  # fmt: skip
    assert code == 1
    assert "retrain-drift-drop-dev-01" in out and "-50%" in out


def test_user_mistakes_are_one_line_errors(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    base = ("--data-dir", str(data), "eval", "run")
    code, _, err = lotsen(capsys, monkeypatch, *base, "no-such-scenario")
    assert code == 2 and err.startswith("error: no suite, scenario or path 'no-such-scenario'")
    code, _, err = lotsen(capsys, monkeypatch, *base, "monitor", "--tier", "big")
    assert code == 2 and "no LLM tier is configured" in err
    code, _, err = lotsen(capsys, monkeypatch, *base, "monitor", "--agent", "nobody")
    assert code == 2 and "no case was executed" in err
    code, out, _ = lotsen(capsys, monkeypatch, "eval", "list", "--json")
    assert code == 0 and len(json.loads(out)) >= 40


def test_the_judge_grades_checklists_only_when_asked(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [Reply(content=json.dumps({"answers": [False]}))]
    with ScriptedOpenAIServer(script, ServerProfile(auto=False)) as server:
        tier = {"name": "judge", "base_url": server.base_url, "model": "scripted-model"}
        monkeypatch.setenv("LOTSEN_LLM_TIERS", json.dumps([tier]))
        out_dir = data / "run-judged"
        code, _, err = lotsen(
            capsys, monkeypatch, "--data-dir", str(data), "eval", "run", "chat-gate-question-01",
            "--trials", "1", "--judge", "judge", "--out", str(out_dir),
        )  # fmt: skip
        server.assert_complete()
    assert code == 1 and "chat-gate-question-01" in err  # the judged case failed
    cases = results(out_dir)["cases"]
    assert isinstance(cases, list) and len(cases) == 1
    case: dict[str, Any] = cases[0]
    judged = next(o for o in case["oracles"] if o["oracle"] == "judge")
    assert not judged["passed"] and "human has to approve" in judged["detail"]
    assert not case["passed"] and case["tier"] == "tier0"  # the agent itself ran at tier 0


def test_a_broken_scenario_is_listed_and_an_all_broken_run_is_refused(
    data: Path, tmp_path: Path
) -> None:
    good = load_scenario(SCENARIO_DIR / "monitor" / "drift-covariate-churn-01.yaml")
    broken = good.model_copy(
        update={
            "id": "broken-01",
            "faults": [
                TelemetryFault(kind="covariate_shift", model="churn-0004"),
                Promote(kind="promote", model="no-such-model"),
            ],
        }
    )
    cache = data / "evals" / "cache"
    run = run_suite(
        [good, broken], trials=1, tiers=[None], jobs=1, workdir=tmp_path, cache_dir=cache
    )
    assert run.metrics.not_executed == ["broken-01"]
    assert run.metrics.overall.scenarios == 1 and run.metrics.overall.pass_at_1 == 1.0
    failed = next(c for c in run.cases if c.scenario == "broken-01")
    assert failed.error is not None and "no-such-model" in failed.error
    with pytest.raises(EmptyRunError, match="no case was executed"):
        run_suite([broken], trials=1, tiers=[None], jobs=1, workdir=tmp_path, cache_dir=cache)
