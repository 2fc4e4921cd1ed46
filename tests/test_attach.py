"""Attach mode: Lotsen on an MLflow registry it did not seed, read as it is.

The "user's" registry is a SQLite MLflow store (not the embedded one) whose models are
created with plain MLflow client calls, as a team's own tooling would, never by Lotsen.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Run, run_lotsen
from tools.registry import sqlite_uri

TAGGED = "fraud-scorer"
UNTAGGED = "churn"
CONTRACT = {
    "owner": "risk-team",
    "env": "production",
    "pipeline": "txn-features",
    "task": "classification",
    "ai_act_risk": "High",
    "features": "amount,merchant",
}


@pytest.fixture
def user_registry(tmp_path: Path, mlflow_template: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The user's own registry (two models, one untagged) and Lotsen pointed at it."""
    from mlflow import MlflowClient

    db = tmp_path / "user" / "registry.db"
    db.parent.mkdir()
    shutil.copy(mlflow_template, db)  # MLflow's empty schema; the models come below
    uri = sqlite_uri(db)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for name, tags in ((TAGGED, CONTRACT), (UNTAGGED, {})):
        client.create_registered_model(name, tags=tags)
        for _ in range(2):
            client.create_model_version(name, source=f"file://{tmp_path}/model")
        client.set_registered_model_alias(name, "champion", "2")
    monkeypatch.setenv("LOTSEN_MLFLOW_URI", uri)
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(tmp_path / "data"))
    return client


def lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    """Run the real entry point in-process; return (exit code, stdout, stderr)."""
    return run_lotsen(capsys, monkeypatch, *args)


def _names(client: Any) -> list[str]:
    return sorted(m.name for m in client.search_registered_models())


def test_commands_read_the_registry_as_it_is_without_fleet_init(
    user_registry: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = lotsen(capsys, monkeypatch, "models", "list", "--json")
    assert (code, err) == (0, "")
    models = {m["name"]: m for m in json.loads(out)}
    assert models[TAGGED]["env"] == "prod" and models[TAGGED]["ai_act_risk"] == "high"
    assert models[UNTAGGED]["env"] is None and models[UNTAGGED]["ai_act_risk"] is None
    assert models[UNTAGGED]["aliases"] == {"champion": 2}

    code, out, _ = lotsen(capsys, monkeypatch, "models", "list")
    row = next(line for line in out.splitlines() if f" {UNTAGGED} " in line)
    assert code == 0 and row.count("unknown") == 3  # owner, env, risk: nothing invented
    assert "dev" not in row and "minimal" not in row

    code, out, err = lotsen(capsys, monkeypatch, "ask", f"who owns {TAGGED}", "--json")
    assert (code, err) == (0, "") and "risk-team" in json.loads(out)["text"]
    code, out, err = lotsen(capsys, monkeypatch, "ask", f"who owns {UNTAGGED}")
    assert (code, err) == (0, "") and f"{UNTAGGED} has no owner tag" in out

    code, out, err = lotsen(capsys, monkeypatch, "compliance", "scan", "--json")
    assert (code, err) == (0, "")
    findings = json.loads(out)["findings"]
    tag_findings = {f["subject"]: f for f in findings if f["policy_id"] == "TAG-01"}
    overseer = {f["subject"]: f["status"] for f in findings if f["policy_id"] == "AIA-04"}
    assert overseer[UNTAGGED] == "fail"  # unknown risk: the high-risk duties apply
    assert tag_findings[TAGGED]["status"] == "pass"
    assert tag_findings[UNTAGGED]["status"] == "fail"
    assert "env missing" in tag_findings[UNTAGGED]["message"]
    assert "ai_act_risk missing" in tag_findings[UNTAGGED]["message"]

    assert _names(user_registry) == [UNTAGGED, TAGGED]  # nothing seeded into it
    data = tmp_path / "data"
    assert not (data / "world").exists() and (data / "attached").is_dir()


def test_the_gate_treats_an_untagged_model_as_prod_and_high_risk(
    user_registry: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_registry.set_registered_model_tag(UNTAGGED, "ai_act_risk", "minimal")
    user_registry.set_registered_model_tag(UNTAGGED, "env", "staging2")  # not an environment
    code, out, _ = lotsen(
        capsys, monkeypatch, "compliance", "check", "rollback", "--model", UNTAGGED, "--json"
    )
    decision = json.loads(out)
    assert code == 0 and decision["verdict"] == "needs_approval"
    assert (
        "[TAG-01] env tag 'staging2' not understood: treated as prod, a human decides"
        in (decision["reasons"])
    )

    user_registry.delete_registered_model_tag(UNTAGGED, "ai_act_risk")
    user_registry.set_registered_model_tag(UNTAGGED, "env", "Sandbox")  # dev
    code, out, _ = lotsen(
        capsys, monkeypatch, "compliance", "check", "rollback", "--model", UNTAGGED, "--json"
    )
    decision = json.loads(out)
    assert code == 0 and decision["verdict"] == "needs_approval"
    assert (
        "[TAG-01] ai_act_risk tag missing: treated as high-risk, a human decides"
        in (decision["reasons"])
    )

    user_registry.set_registered_model_tag(UNTAGGED, "ai_act_risk", "minimal")
    code, out, _ = lotsen(
        capsys, monkeypatch, "compliance", "check", "rollback", "--model", UNTAGGED, "--json"
    )
    assert json.loads(out)["verdict"] == "allow"  # tagged dev and minimal: no human needed

    code, out, _ = lotsen(
        capsys, monkeypatch, "compliance", "check", "rollback", "--model", TAGGED, "--json"
    )
    reasons = json.loads(out)["reasons"]
    assert "[SEG-05] rollback touches prod: a human decides" in reasons  # env=production


def test_models_lint_names_what_each_model_lacks_and_gates_ci(
    user_registry: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user_registry.create_registered_model("Churn", tags=CONTRACT)
    code, out, _ = lotsen(capsys, monkeypatch, "models", "lint", "--json")
    assert code == 1
    found = {(f["model"], f["key"]): f for f in json.loads(out)}
    assert found[(UNTAGGED, "env")]["problem"] == "missing"
    assert "every change needs a human" in found[(UNTAGGED, "env")]["effect"]
    assert {key for model, key in found if model == UNTAGGED} == {
        "owner",
        "env",
        "pipeline",
        "task",
        "ai_act_risk",
        "features",
        "name",
    }
    assert "only in case" in found[("Churn", "name")]["problem"]
    assert not any(model == TAGGED for model, _ in found)

    user_registry.delete_registered_model(UNTAGGED)
    user_registry.delete_registered_model("Churn")
    code, out, _ = lotsen(capsys, monkeypatch, "models", "lint")
    assert code == 0 and "1 models carry the tag contract" in out


def test_fleet_init_refuses_to_seed_a_registry_lotsen_does_not_own(
    user_registry: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = lotsen(capsys, monkeypatch, "fleet", "init", "--models", "5")
    assert code == 2 and "a registry Lotsen does not own" in err
    assert "--seed-into-external-registry" in err and err.count("\n") == 1
    assert _names(user_registry) == [UNTAGGED, TAGGED]
    assert not (tmp_path / "data" / "world").exists()
