import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import Run, copy_data_dir, init_data_dir, run_lotsen
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow


def lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    """Run the real entry point in-process; return (exit code, stdout, stderr)."""
    return run_lotsen(capsys, monkeypatch, *args)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_data_dir(tmp_path_factory.mktemp("seeded") / "data", models=12, seed=2)


@pytest.fixture
def data(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_data_dir(seeded, tmp_path, monkeypatch)


def test_status_json_describes_the_seeded_fleet(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = lotsen(capsys, monkeypatch, "fleet", "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert sum(e["models"] for e in status["envs"]) == 12
    assert {p["pool"] for p in status["pools"]} >= {"prod-h100-mig", "test-a100-train"}


def test_the_seeded_fleet_carries_the_tag_contract(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = lotsen(capsys, monkeypatch, "models", "lint", "--json")
    assert (code, json.loads(out)) == (0, [])


def test_rich_status_and_listings_render(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "GPU pools" in lotsen(capsys, monkeypatch, "fleet", "status")[1]
    code, out, _ = lotsen(capsys, monkeypatch, "models", "list", "--json")
    models = json.loads(out)
    assert code == 0 and len(models) == 12
    name = models[0]["name"]
    code, out, _ = lotsen(
        capsys, monkeypatch, "models", "show", name, "--alias", "champion", "--json"
    )
    assert code == 0 and json.loads(out)[1]["aliases"][0] in ("champion", "challenger")
    code, out, _ = lotsen(capsys, monkeypatch, "models", "history", name, "--json")
    assert code == 0 and json.loads(out)[-1]["alias"] == "champion"
    for listing in ("nodes", "namespaces", "deployments", "jobs"):
        code, out, _ = lotsen(capsys, monkeypatch, "cluster", listing, "--json")
        assert code == 0 and isinstance(json.loads(out), list)


def test_twin_faults_and_reset_from_the_cli(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = json.loads(
        lotsen(capsys, monkeypatch, "cluster", "nodes", "--env", "prod", "--json")[1]
    )
    node = nodes[0]["name"]
    assert lotsen(capsys, monkeypatch, "twin", "fault", "node-loss", node)[0] == 0
    faults = json.loads(lotsen(capsys, monkeypatch, "twin", "faults", "--json")[1])
    assert [(f["kind"], f["target"]) for f in faults] == [("node_loss", node)]
    code, out, _ = lotsen(capsys, monkeypatch, "twin", "advance", "--hours", "3")
    assert code == 0 and "09:00" in out
    assert lotsen(capsys, monkeypatch, "twin", "reset")[0] == 0
    assert json.loads(lotsen(capsys, monkeypatch, "twin", "faults", "--json")[1]) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "no-such-model"], "unknown model 'no-such-model'"),
        (["models", "show", "x", "--alias", "champion"], "unknown model 'x'"),
        (["cluster", "deployments", "--namespace", "nope"], "unknown namespace 'nope'"),
        (["twin", "fault", "node-loss", "nope"], "unknown node 'nope'"),
        (["twin", "fault", "quota-cut", "nope", "1"], "unknown namespace 'nope'"),
        (["fleet", "init", "--models", "5"], "a fleet already exists"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    code, _, err = lotsen(capsys, monkeypatch, *args)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_settings_and_inputs_without_a_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = lotsen(capsys, monkeypatch, "fleet", "status")
    assert (code, "no fleet in") == (2, err[7:18])
    code, _, err = lotsen(capsys, monkeypatch, "fleet", "init", "--models", "0")
    assert code == 2 and "positive number of models" in err
    assert not (tmp_path / "empty" / "world").exists()
    monkeypatch.setenv("LOTSEN_CLUSTER", "openshift")
    code, _, err = lotsen(capsys, monkeypatch, "cluster", "nodes")
    assert code == 2 and "invalid setting LOTSEN_CLUSTER" in err


def test_unreachable_backends_are_named(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSEN_MLFLOW_URI", "http://127.0.0.1:9")
    code, _, err = lotsen(capsys, monkeypatch, "models", "list")
    assert code == 2 and "cannot reach MLflow at http://127.0.0.1:9" in err
    monkeypatch.delenv("LOTSEN_MLFLOW_URI")
    monkeypatch.setenv("LOTSEN_CLUSTER", "kubernetes")
    monkeypatch.setenv("LOTSEN_KUBE_API_URL", "http://127.0.0.1:9")
    code, _, err = lotsen(capsys, monkeypatch, "cluster", "nodes")
    assert code == 2 and "cannot reach the Kubernetes API" in err
    code, _, err = lotsen(capsys, monkeypatch, "twin", "reset")
    assert code == 2 and "embedded twin only" in err


def test_corrupt_state_file_is_refused_and_left_alone(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    twin_file = data / "world" / "cluster.db"
    for suffix in ("-wal", "-shm"):
        Path(str(twin_file) + suffix).unlink(missing_ok=True)
    twin_file.write_bytes(b"garbage" * 100)
    code, _, err = lotsen(capsys, monkeypatch, "cluster", "nodes")
    assert code == 2 and "not a SQLite database" in err
    assert twin_file.read_bytes() == b"garbage" * 100
    with sqlite3.connect(data / "world" / "mlflow.db") as conn:
        conn.execute("DROP TABLE registered_models")
    code, _, err = lotsen(capsys, monkeypatch, "models", "list")
    assert code == 2 and "not an MLflow registry" in err


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("lotsen")
    result = subprocess.run(
        [str(exe), "--data-dir", str(tmp_path), "fleet", "init", "--models", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "error: --models must be a positive number of models, got -1\n"


def test_telemetry_simulate_and_scan(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = lotsen(capsys, monkeypatch, "scan")
    assert code == 2 and "no telemetry yet" in err
    assert lotsen(capsys, monkeypatch, "telemetry", "simulate", "--rows", "2000")[0] == 0
    truth = json.loads(lotsen(capsys, monkeypatch, "telemetry", "faults", "--json")[1])
    assert truth and truth[0]["kind"] == "pipeline_break"
    code, out, _ = lotsen(capsys, monkeypatch, "scan", "--json")
    report = json.loads(out)
    assert code == 0 and report["models"] == 12
    broken = set(truth[0]["models"])
    assert any(
        set(i["models"]) == broken and i["kind"] == "data_quality" for i in report["incidents"]
    )
    model = sorted(broken)[0]
    code, out, _ = lotsen(
        capsys, monkeypatch, "scan", "--model", model, "--feature", truth[0]["features"][0]
    )
    assert code == 0 and "null_spike" in out and "reference " in out
    assert "Incidents" in lotsen(capsys, monkeypatch, "scan")[1]
    code, _, err = lotsen(capsys, monkeypatch, "scan", "--model", "nope")
    assert code == 2 and "no telemetry for model 'nope'" in err


def test_remediate_approvals_and_audit_from_the_cli(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lotsen(capsys, monkeypatch, "telemetry", "simulate", "--rows", "2000")[0] == 0
    # the retrain this fleet's faults call for is on a dev model: make it high-risk, so the
    # retrain waits for a human and the four-eyes rule below has a request to refuse
    truth = json.loads(lotsen(capsys, monkeypatch, "telemetry", "faults", "--json")[1])
    [dropped] = [f for f in truth if '"performance_drop"' in f["detail"]]
    with World(Settings(data_dir=data)) as world:
        for name in dropped["models"]:
            world.registry.set_model_tag(name, "ai_act_risk", "high")
    code, out, _ = lotsen(capsys, monkeypatch, "remediate")
    assert code == 0 and "planned actions (nothing executed)" in out
    code, out, _ = lotsen(capsys, monkeypatch, "remediate", "--auto", "--as", "bob", "--json")
    outcomes = json.loads(out)
    assert code == 0 and {o["action"] for o in outcomes} >= {"open_data_incident"}
    pending = json.loads(lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert pending, "the seeded faults include a prod / high-risk change that waits for a human"
    code, _, err = lotsen(
        capsys, monkeypatch, "approvals", "approve", pending[0]["id"], "--as", "bob"
    )
    assert code == 2 and "four-eyes rule" in err
    code, out, _ = lotsen(capsys, monkeypatch, "audit", "verify")
    assert code == 0 and "audit log intact" in out
    conn = sqlite3.connect(data / "state" / "audit.db")
    conn.executescript(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 1;"
    )
    conn.close()
    code, out, _ = lotsen(capsys, monkeypatch, "audit", "verify")
    assert code == 1 and "TAMPERED" in out and "record 1 was modified" in out


def test_real_rows_reference_ingest_and_scan(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    models = json.loads(lotsen(capsys, monkeypatch, "models", "list", "--json")[1])
    model = models[0]["name"]
    features = json.loads(lotsen(capsys, monkeypatch, "models", "show", model, "--json")[1])[0][
        "tags"
    ]
    names = features["features"].split(",")[:4]
    rng = np.random.default_rng(0)
    pd.DataFrame({n: rng.normal(10, 2, 3000) for n in names}).to_parquet(tmp_path / "ref.parquet")
    shifted = pd.DataFrame({n: rng.normal(10, 2, 3000) for n in names})
    shifted[names[0]] += 3.0
    shifted.to_csv(tmp_path / "now.csv", index=False)
    code, out, _ = lotsen(
        capsys,
        monkeypatch,
        "telemetry",
        "reference",
        model,
        str(tmp_path / "ref.parquet"),
        "--value",
        "0.9",
    )
    assert code == 0 and "4 feature(s)" in out
    code, _, _ = lotsen(
        capsys,
        monkeypatch,
        "telemetry",
        "ingest",
        model,
        str(tmp_path / "now.csv"),
        "--window-start",
        "2026-11-02T00:00:00",
        "--metric-value",
        "0.89",
    )
    assert code == 0
    detail = json.loads(lotsen(capsys, monkeypatch, "scan", "--model", model, "--json")[1])
    assert detail["drifted_features"] == [names[0]] and not detail["performance_drop"]
    code, _, err = lotsen(
        capsys,
        monkeypatch,
        "telemetry",
        "ingest",
        "nope",
        str(tmp_path / "now.csv"),
        "--window-start",
        "2026-11-02T00:00:00",
    )
    assert code == 2 and "model 'nope' has no reference telemetry" in err
    code, _, err = lotsen(
        capsys, monkeypatch, "telemetry", "reference", model, str(tmp_path / "missing.parquet")
    )
    assert code == 2 and "does not exist" in err
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    code, _, err = lotsen(
        capsys, monkeypatch, "telemetry", "reference", model, str(tmp_path / "bad.parquet")
    )
    assert code == 2 and "cannot read" in err


def test_delayed_labels_ingest_estimates_the_metric_and_labels_later_replace_it(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    model = json.loads(lotsen(capsys, monkeypatch, "models", "list", "--json")[1])[0]["name"]
    tags = json.loads(lotsen(capsys, monkeypatch, "models", "show", model, "--json")[1])[0]["tags"]
    names = tags["features"].split(",")[:3]
    rng = np.random.default_rng(1)

    def rows(spread: float) -> pd.DataFrame:
        score = 1 / (1 + np.exp(-rng.normal(0, spread, 4000)))
        frame = pd.DataFrame({n: rng.normal(10, 2, 4000) for n in names})
        return frame.assign(score=score, label=(rng.random(4000) < score).astype(int))

    rows(2.0).to_parquet(tmp_path / "ref.parquet")
    unsure = rows(0.6)  # same inputs, far less confident scores: the metric drops
    unsure.drop(columns="label").to_csv(tmp_path / "now.csv", index=False)
    unsure.drop(columns=["label", "score"]).to_csv(tmp_path / "bare.csv", index=False)
    reference = ["telemetry", "reference", model, str(tmp_path / "ref.parquet")]
    code, out, err = lotsen(capsys, monkeypatch, *reference, "--prediction-column", "score")
    assert code == 0, err
    assert "auc estimated from 'score' while labels are delayed" in " ".join(out.split())
    window = ["telemetry", "ingest", model, "--window-start", "2026-11-02T00:00:00"]
    code, out, err = lotsen(
        capsys, monkeypatch, *window[:3], str(tmp_path / "bare.csv"), *window[3:]
    )
    flat = " ".join(out.split())  # the console wraps long lines
    assert code == 0 and "no performance estimate: the window has no column 'score'" in flat, err
    code, out, err = lotsen(
        capsys, monkeypatch, *window[:3], str(tmp_path / "now.csv"), *window[3:]
    )
    assert code == 0 and "auc estimated 0.6" in " ".join(out.split()), err

    scan = json.loads(lotsen(capsys, monkeypatch, "scan", "--json")[1])
    (mine,) = [s for s in scan["signals"] if s["model"] == model]
    assert mine["estimated_drop"] and not mine["performance_drop"]
    (incident,) = [i for i in scan["incidents"] if model in i["models"]]
    assert incident["kind"] == "estimated_performance_drop"

    labels = ["telemetry", "labels", model, *window[3:], "--metric-value", "0.62"]
    code, _, err = lotsen(capsys, monkeypatch, *labels, "--rows", "4000")
    assert code == 0, err
    scan = json.loads(lotsen(capsys, monkeypatch, "scan", "--json")[1])
    (mine,) = [s for s in scan["signals"] if s["model"] == model]
    assert mine["performance_drop"] and not mine["estimated_drop"]
    assert mine["metric_value"] == 0.62 and mine["estimated_metric"] is None
    early = [*labels[:4], "2026-10-01T00:00:00", *labels[5:], "--rows", "10"]
    code, _, err = lotsen(capsys, monkeypatch, *early)
    assert code == 2 and "has no window starting 2026-10-01 00:00" in err
