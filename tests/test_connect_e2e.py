"""A team's own fleet, end to end: a real `mlflow server`, models trained and registered by
the team's scikit-learn script (no Lotsen seeding), Lotsen attached to it, real rows
ingested and scanned, a retrain through the local trainer, gated, approved by a second
person, promoted, and a clean compliance scan for the model afterwards."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.support.cli import Run, run_lotsen
from tests.support.mlflow_server import mlflow_server

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "support" / "train_sklearn.py"
FEATURES = ["f0", "f1", "f2", "f3"]
PROD, UNTAGGED = "churn-e2e", "fraud-e2e"


def _rows(n: int, seed: int, *, recent: bool) -> pd.DataFrame:
    """Old data: the label follows f0. Recent: inputs shifted and the label follows f1."""
    rng = np.random.default_rng(seed)
    shift = np.array([1.5, 1.5, 0.0, 0.0]) if recent else np.zeros(4)
    x = rng.normal(size=(n, 4)) + shift
    driver = x[:, 1] - 1.5 if recent else x[:, 0]
    label = (driver + rng.normal(scale=0.3, size=n) > 0).astype(int)
    return pd.DataFrame(x, columns=FEATURES).assign(label=label)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The team's registry: two models whose version 1 their own script trained."""
    root = tmp_path_factory.mktemp("team")
    files = {"old": _rows(2000, 1, recent=False), "recent": _rows(2000, 2, recent=True)}
    files["holdout"] = _rows(1000, 3, recent=True)
    for name, frame in files.items():
        frame.to_csv(root / f"{name}.csv", index=False)
        frame.drop(columns="label").to_csv(root / f"{name}-rows.csv", index=False)
    with mlflow_server(root / "server") as url:
        for model in (PROD, UNTAGGED):
            _train(url, root, model, "old.csv", run_tag=f"{model}-initial")
        client = mlflow.MlflowClient(url, registry_uri=url)
        tags = {
            "owner": "team-churn", "env": "Production", "pipeline": "churn-features",
            "task": "classification", "ai_act_risk": "limited", "features": ",".join(FEATURES),
        }  # fmt: skip
        for key, value in tags.items():
            client.set_registered_model_tag(PROD, key, value)
        for model in (PROD, UNTAGGED):
            client.set_registered_model_alias(model, "champion", "1")
        yield url, root


def _train(url: str, root: Path, model: str, data: str, run_tag: str) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": url,
        "LOTSEN_MODEL": model,
        "LOTSEN_RUN_TAG_KEY": "lotsen.idempotency_key",
        "LOTSEN_RUN_TAG": run_tag,
        "TRAIN_DATA": str(root / data),
        "TRAIN_EXPERIMENT": model,
    }
    subprocess.run([sys.executable, str(SCRIPT)], env=env, check=True, capture_output=True)


def _lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    code, out, err = run_lotsen(capsys, monkeypatch, *args)
    assert "Traceback" not in out + err
    return code, out, err


def test_attach_scan_retrain_approve_promote_comply(
    team: tuple[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, root = team
    trainers = tmp_path / "trainers.yaml"
    entry = {
        "model": PROD,
        "kind": "local",
        "command": [sys.executable, str(SCRIPT)],
        "env": {
            "TRAIN_DATA": str(root / "recent.csv"),
            "TRAIN_EXPERIMENT": PROD,
            "VALIDATED_IN": "test",
        },
        "holdout": {"path": str(root / "holdout.csv"), "label": "label"},
    }
    trainers.write_text(yaml.safe_dump({"trainers": [entry]}), encoding="utf-8")
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOTSEN_MLFLOW_URI", url)
    monkeypatch.setenv("LOTSEN_TRAINERS_FILE", str(trainers))

    code, out, err = _lotsen(capsys, monkeypatch, "models", "list", "--json")
    assert code == 0, err
    assert {m["name"] for m in json.loads(out)} == {PROD, UNTAGGED}, "nothing seeded, nothing lost"

    reference = ["telemetry", "reference", PROD, str(root / "old-rows.csv")]
    code, _, err = _lotsen(capsys, monkeypatch, *reference, "--metric", "auc", "--value", "0.93")
    assert code == 0, err
    start = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    window = ["telemetry", "ingest", PROD, str(root / "recent-rows.csv"), "--window-start", start]
    code, _, err = _lotsen(capsys, monkeypatch, *window, "--metric-value", "0.61")
    assert code == 0, err
    code, out, err = _lotsen(capsys, monkeypatch, "scan", "--json")
    assert code == 0, err
    kinds = {i["kind"] for i in json.loads(out)["incidents"]}
    assert "drift_with_performance_drop" in kinds, out

    code, out, err = _lotsen(capsys, monkeypatch, "remediate", "--auto", "--as", "bob", "--json")
    assert code == 0, err
    [request] = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert request["models"] == [PROD], "a prod retrain waits for a human"

    code, out, err = _lotsen(
        capsys, monkeypatch, "approvals", "approve", request["id"], "--as", "alice"
    )
    assert code == 0, err
    client = mlflow.MlflowClient(url, registry_uri=url)
    # approving the retrain approved the training only: the challenger waits for its own
    # promotion request, shown once the training has finished
    assert client.get_model_version_by_alias(PROD, "champion").version == "1", out
    assert client.get_model_version_by_alias(PROD, "challenger").version == "2", out
    [promotion] = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert promotion["action"] == "promote" and promotion["id"] != request["id"]
    code, out, err = _lotsen(
        capsys, monkeypatch, "approvals", "approve", promotion["id"], "--as", "alice"
    )
    assert code == 0, err
    champion = client.get_model_version_by_alias(PROD, "champion")
    assert champion.version == "2", out
    assert champion.tags.get("lotsen.approval", "").startswith(promotion["id"])
    assert champion.run_id is not None
    run = client.get_run(champion.run_id)
    assert run.data.tags.get("lotsen.idempotency_key"), "the version the local trainer registered"

    code, out, err = _lotsen(capsys, monkeypatch, "compliance", "scan", "--json")
    findings = json.loads(out)["findings"]
    failing = [f for f in findings if f.get("subject") == PROD and f.get("status") == "fail"]
    assert not failing, failing
