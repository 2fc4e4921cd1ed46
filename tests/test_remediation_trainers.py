"""Retraining through the configured trainer, and the fresh champion comparison.

The local trainer runs a real training script (tests/support/train_sklearn.py) against the
world's MLflow registry (a SQLite file); the comparison loads champion and challenger
through `mlflow.pyfunc` and scores both on the same held-out file. The Kubernetes trainer
runs against the stub API server. One seeded world per module, a copy per test.
"""

import dataclasses
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from agents.remediation.executor import ActionResult, RemediationWorld, execute
from agents.remediation.gate import GateResult
from agents.remediation.plan import Action
from agents.remediation.trainers import RUN_TAG, TrainingRequest
from agents.remediation.trainers.config import TrainerSetup, load_trainers_file
from agents.remediation.trainers.holdout import score
from agents.remediation.trainers.local import LocalCommandTrainer
from memory.approvals import Decision
from tests.support.cli import shared_data_dir
from tests.support.plans import plan
from tests.support.worlds import opened_copy
from tools.domain import Environment, JobStatus, NewModel
from tools.policy import tags
from tools.registry import CHALLENGER, CHAMPION, sqlite_uri
from world.remediation import remediation_port, trainer_setup
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "support" / "train_sklearn.py"
MODEL = "fraud-real"
FEATURES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_data_dir(tmp_path_factory, models=16, seed=4)


@pytest.fixture
def world(seeded: Path, tmp_path: Path) -> Iterator[World]:
    with opened_copy(seeded, tmp_path) as opened:
        yield opened


def run(
    w: RemediationWorld, model: str, champion: int, action: Action = Action.RETRAIN
) -> ActionResult:
    [result] = execute(
        plan(model, action),
        GateResult(verdict="allow"),
        {model: champion},
        w,
        pipeline=None,
        window=datetime(2026, 11, 2, tzinfo=UTC),
        cause="test",
    )
    return result


def write_csv(path: Path, weights: np.ndarray, rows: int, seed: int) -> Path:
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(weights)))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x @ weights)))).astype(int)
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = y
    frame.to_csv(path, index=False)
    return path


def trainers_file(tmp_path: Path, command: list[str], data: Path) -> Path:
    path = tmp_path / "trainers.yaml"
    entry = {
        "model": "fraud-*",
        "kind": "local",
        "command": command,
        "cwd": str(tmp_path),
        "env": {"TRAIN_DATA": str(data), "TRAIN_EXPERIMENT": "team-training"},
        "holdout": {"path": "holdout.csv", "label": "label"},
    }
    path.write_text(yaml.safe_dump({"trainers": [entry]}))
    return path


def local_port(world: World, tmp_path: Path, command: list[str], data: Path) -> RemediationWorld:
    entries = tuple(load_trainers_file(trainers_file(tmp_path, command, data)))
    setup = dataclasses.replace(trainer_setup(world), entries=entries)
    return dataclasses.replace(remediation_port(world), trainers=setup)


@dataclasses.dataclass
class Team:
    """A real model whose champion v1 was trained by the team's script on old data."""

    uri: str
    old: Path
    new: Path
    holdout: Path


def team_model(world: World, tmp_path: Path) -> Team:
    w_old = np.array([2.0, -1.0, 0.5])
    w_new = np.array([-0.5, 1.5, 2.0])  # the relation changed: the old champion is stale
    team = Team(
        uri=sqlite_uri(world.files.mlflow_db),
        old=write_csv(tmp_path / "old.csv", w_old, 600, 1),
        new=write_csv(tmp_path / "new.csv", w_new, 600, 2),
        holdout=write_csv(tmp_path / "holdout.csv", w_new, 300, 3),
    )
    world.registry.register_model(
        NewModel(name=MODEL, owner="fraud", pipeline="payments", env=Environment.DEV)
    )
    seed = LocalCommandTrainer(
        [sys.executable, str(SCRIPT)],
        tracking_uri=team.uri,
        env={"TRAIN_DATA": str(team.old), "TRAIN_EXPERIMENT": "team-training"},
        cwd=tmp_path,
    ).run(request(MODEL, "seed-champion"))
    assert seed.status == "succeeded", seed.detail
    world.registry.set_alias(MODEL, CHAMPION, 1, actor="team", reason="first release")
    # a stored number that is not the champion's score on today's window
    run_id = world.registry.get_version(MODEL, 1).lineage.run_id
    world.registry.client.log_metric(run_id, "auc", 0.99)
    return team


def request(model: str, tag: str) -> TrainingRequest:
    end = datetime(2026, 11, 2, tzinfo=UTC)
    return TrainingRequest(
        model=model,
        parent_version=None,
        run_tag=tag,
        window_start=end - timedelta(days=30),
        window_end=end,
        namespace="fraud-dev",
        timeout=timedelta(minutes=5),
    )


def fresh_auc(team: Team, version: int) -> float:
    import pandas as pd

    frame = pd.read_csv(team.holdout)
    x, y = frame[FEATURES], frame["label"].to_numpy()
    import mlflow

    before = mlflow.get_registry_uri(), mlflow.get_tracking_uri()
    mlflow.set_registry_uri(team.uri)
    mlflow.set_tracking_uri(team.uri)
    try:
        return score(MODEL, version, x, y)
    finally:
        mlflow.set_registry_uri(before[0])
        mlflow.set_tracking_uri(before[1])


def retrain_record(w: RemediationWorld, model: str) -> dict[str, Any]:
    [record] = [r for r in w.audit.records(model=model) if r.kind == "action"]
    return dict(record.data)


@pytest.mark.slow
def test_local_trainer_registers_a_version_that_is_compared_fresh_and_promoted(
    world: World, tmp_path: Path
) -> None:
    team = team_model(world, tmp_path)
    w = local_port(world, tmp_path, [sys.executable, str(SCRIPT)], team.new)
    result = run(w, MODEL, 1)
    assert result.ok, result.summary
    model = w.registry.get_model(MODEL)
    assert model.aliases[CHAMPION] == 2, result.summary
    assert CHALLENGER not in model.aliases  # promoted: the challenger alias is cleared
    assert w.registry.get_version(MODEL, 2).tags[RUN_TAG] == f"inc-{MODEL}:{MODEL}:retrain"
    data = retrain_record(w, MODEL)
    # both scored now, on the same held-out rows, through MLflow: not the stored 0.99
    assert data["champion"] == fresh_auc(team, 1) != 0.99
    assert data["challenger"] == fresh_auc(team, 2) > data["champion"]
    assert data["holdout_rows"] == 300
    assert "local training" in result.summary and "promoted to champion" in result.summary


@pytest.mark.slow
def test_a_failed_training_job_is_a_recorded_failure_not_a_promotion(
    world: World, tmp_path: Path
) -> None:
    team = team_model(world, tmp_path)
    failing = [sys.executable, "-c", "raise SystemExit('no labelled rows in the window')"]
    w = local_port(world, tmp_path, failing, team.new)
    result = run(w, MODEL, 1)
    assert not result.ok
    assert "failed: exit code 1: no labelled rows in the window" in result.summary
    assert w.registry.get_model(MODEL).aliases == {CHAMPION: 1}
    assert [v.version for v in w.registry.list_versions(MODEL)] == [1]
    [failure] = [r for r in w.audit.records(model=MODEL) if r.kind == "action_failed"]
    assert "nothing promoted" in failure.data["error"]


@pytest.mark.slow
def test_a_job_that_registers_no_version_is_a_recorded_failure(
    world: World, tmp_path: Path
) -> None:
    team = team_model(world, tmp_path)
    w = local_port(world, tmp_path, [sys.executable, "-c", "pass"], team.new)
    result = run(w, MODEL, 1)
    assert not result.ok
    assert "registered no version" in result.summary
    assert w.registry.get_model(MODEL).aliases == {CHAMPION: 1}


def test_an_external_registry_without_a_trainer_fails_instead_of_training_synthetically(
    seeded: Path, tmp_path: Path
) -> None:
    with opened_copy(seeded, tmp_path) as world:
        db = world.files.mlflow_db
    external = Settings(data_dir=tmp_path / "data", mlflow_uri=sqlite_uri(db))
    with World(external) as world:
        model = next(m for m in world.registry.list_models() if CHAMPION in m.aliases)
        w = remediation_port(world)
        result = run(w, model.name, model.aliases[CHAMPION])
        assert not result.ok
        assert f"no trainer configured for {model.name}: set LOTSEN_TRAINERS_FILE" in (
            result.summary
        )
        assert len(w.registry.list_versions(model.name)) == len(
            world.registry.list_versions(model.name)
        )
        assert world.cluster.jobs() == []


def test_the_synthetic_training_job_has_finished_when_its_version_is_promoted(
    world: World,
) -> None:
    """The demo world's default: the synthetic trainer, its job on the twin's clock."""
    w = remediation_port(world)
    assert isinstance(w.trainers, TrainerSetup)
    model = next(
        m
        for m in world.registry.list_models()
        if m.env is Environment.DEV
        and CHAMPION in m.aliases
        and m.ai_act_risk is not None
        and m.ai_act_risk.value != "high"
    )
    result = run(w, model.name, model.aliases[CHAMPION])
    assert result.ok, result.summary
    [job] = [j for j in w.cluster.jobs() if j.spec.model == model.name]
    assert job.status is JobStatus.SUCCEEDED, result.summary
    assert job.finished_at is not None and job.finished_at <= w.clock()
    assert CHALLENGER not in w.registry.get_model(model.name).aliases


def test_an_approved_rollback_records_its_approval_and_leaves_no_finding(world: World) -> None:
    """AIA-06 and SEG-05 read the approval on the version @champion points at."""
    from world.compliance import scan

    w = remediation_port(world)
    model = next(
        m
        for m in world.registry.list_models()
        if m.env is Environment.PROD
        and CHAMPION in m.aliases
        and m.aliases[CHAMPION] > 1
        and not scan(world, about=m.name).failures()
    )
    approval = Decision(request_id="apr-7", approved=True, by="alice", at=datetime.now(UTC))
    [result] = execute(
        plan(model.name, Action.ROLLBACK),
        GateResult(verdict="needs_approval"),
        {model.name: model.aliases[CHAMPION]},
        w,
        pipeline=None,
        window=datetime(2026, 11, 2, tzinfo=UTC),
        cause="test",
        approval=approval,
    )
    assert result.ok, result.summary
    target = w.registry.get_model(model.name).aliases[CHAMPION]
    assert target < model.aliases[CHAMPION]
    failing = {f.policy_id for f in scan(world, about=model.name).failures()}
    assert not failing & {"AIA-06", "SEG-05"}, failing
    assert w.registry.get_version(model.name, target).tags[tags.APPROVAL] == "apr-7 by alice"
