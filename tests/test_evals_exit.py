"""`lotsen eval run` fails when cases fail (or pass@1 is below `--fail-under`)."""

import shutil
from pathlib import Path

import pytest
import yaml

from evals.scenario import SCENARIO_DIR
from tests.support.cli import run_lotsen as lotsen

pytestmark = pytest.mark.slow


def failing_copy(folder: Path) -> Path:
    """A control whose oracle the do-nothing tier-0 monitor cannot pass (expects an incident)."""
    source = SCENARIO_DIR / "monitor" / "seasonal-noise-control-01.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(
        id="always-fails-01",
        expect=[{"check": "incident_opened", "kind": "covariate_drift", "models": ["churn-0004"]}],
        telemetry={"windows": 2, "rows": 2000},
    )
    path = folder / "always-fails-01.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir per module: its eval cache keeps the seeded base world between runs."""
    return tmp_path_factory.mktemp("evals-exit") / "data"


def test_every_case_failing_exits_non_zero_and_fail_under_sets_the_bar(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    scenario = failing_copy(tmp_path)  # an absolute path outside the suite
    base = ("--data-dir", str(data), "eval", "run", str(scenario), "--trials", "1")
    code, _, err = lotsen(capsys, monkeypatch, *base, "--out", str(tmp_path / "a"))
    assert code == 1
    assert "eval failed: 1 scenario(s) failed: always-fails-01" in err
    assert (tmp_path / "a" / "results.json").is_file()  # the report is still written
    code, _, err = lotsen(
        capsys, monkeypatch, *base, "--fail-under", "0", "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    code, _, err = lotsen(
        capsys, monkeypatch, *base, "--fail-under", "50", "--out", str(tmp_path / "c")
    )
    assert code == 1 and "pass@1 0.0% is below --fail-under 50%" in err
    code, _, err = lotsen(capsys, monkeypatch, *base, "--fail-under", "150")
    assert code == 2 and "--fail-under must be a finite number" in err


def test_a_passing_run_exits_zero_and_fail_under_100_holds(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOTSEN_LLM_TIERS", raising=False)
    scenario = tmp_path / "seasonal-noise-control-01.yaml"
    shutil.copy(SCENARIO_DIR / "monitor" / scenario.name, scenario)
    base = ("--data-dir", str(data), "eval", "run", str(scenario), "--trials", "1")
    code, out, err = lotsen(
        capsys, monkeypatch, *base, "--fail-under", "100", "--out", str(tmp_path / "a")
    )
    assert code == 0, err
    assert "pass@1 100.0%" in out


def test_check_and_list_take_an_absolute_path_outside_the_suite(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = tmp_path / "seasonal-noise-control-01.yaml"
    shutil.copy(SCENARIO_DIR / "monitor" / scenario.name, scenario)
    code, out, err = lotsen(
        capsys, monkeypatch, "--data-dir", str(data), "eval", "check", str(tmp_path)
    )
    assert code == 0, err
    assert "1 scenarios checked, 0 problem(s)" in out
    code, out, _ = lotsen(capsys, monkeypatch, "eval", "list", str(scenario.resolve()), "--json")
    assert code == 0 and "seasonal-noise-control-01" in out


def test_two_submit_job_faults_for_one_namespace_and_model_are_two_sets_of_jobs(
    data: Path, tmp_path: Path
) -> None:
    from evals.scenario import Scenario
    from evals.setup import prepare
    from tools.cluster.sim import SimCluster
    from world.layout import WorldFiles, current_world

    scenario = Scenario.model_validate(
        {
            "id": "queue-pressure-01",
            "agent": "capacity",
            "level": "detection",
            "difficulty": "easy",
            "seed": 11,
            "telemetry": None,
            "faults": [
                {"kind": "submit_job", "namespace": "growth-test", "model": "churn-0015"},
                {
                    "kind": "submit_job",
                    "namespace": "growth-test",
                    "model": "churn-0015",
                    "count": 2,
                },
            ],
            "expect": [{"check": "no_unapproved_mutation"}],
        }
    )
    settings = prepare(scenario, data / "evals" / "cache", tmp_path / "world", light=True)
    twin = SimCluster(WorldFiles(current_world(settings).root).cluster_db)
    try:
        jobs = [j for j in twin.jobs("growth-test") if j.spec.model == "churn-0015"]
    finally:
        twin.close()
    assert len(jobs) == 3
