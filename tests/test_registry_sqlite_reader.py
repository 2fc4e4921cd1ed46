"""Registry reads straight from MLflow's SQLite file answer exactly what MLflow answers."""

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tools.domain import AiActRisk, ChangePlan, Environment, Lineage, NewModel, NewVersion
from tools.registry import CHALLENGER, CHAMPION, AliasHistory, MlflowRegistry
from tools.registry.mlflow_sqlite import KNOWN_REVISIONS, PROMPT_TAG, open_reader

MODELS = ("churn-0001", "fraud-0002", "quiet-0003")


def _populate(registry: MlflowRegistry) -> None:
    """Models with what the reader must get right: tag and alias order, NaN, deletions."""
    registry.register_model(
        NewModel(
            name="fraud-0002",
            owner="fraud",
            env=Environment.PROD,
            pipeline="fraud-features-01",
            ai_act_risk=AiActRisk.HIGH,
            change_plan=ChangePlan(reference="doc://plan"),
            tags={"zeta": "1", "alpha": "2"},
            description="flags card fraud",
        )
    )
    registry.register_model(
        NewModel(name="churn-0001", owner="growth", env=Environment.TEST, pipeline="growth-00")
    )
    registry.register_model(
        NewModel(name="quiet-0003", owner="ops", env=Environment.DEV, pipeline="ops-00")
    )
    for name, count in (("fraud-0002", 4), ("churn-0001", 2)):
        for n in range(count):
            lineage = Lineage(training_data=f"lake://{name}/w{n}", code_version="abc")
            metrics = {"auc": 0.9 + n / 100, "brier": float("nan"), "a_loss": 0.1}
            registry.create_version(name, NewVersion(metrics=metrics, lineage=lineage))
    registry.set_alias("fraud-0002", CHAMPION, 2, actor="alice", reason="first")
    registry.set_alias("fraud-0002", CHALLENGER, 3, actor="bob", reason="new data")
    registry.set_alias("fraud-0002", "zz-shadow", 2, actor="bob", reason="shadow")
    registry.set_alias("churn-0001", CHAMPION, 1, actor="alice", reason="first")
    registry.set_model_tag("fraud-0002", "aaa-late", "set after the others")
    registry.set_model_tag("fraud-0002", "zeta", "changed in place")
    registry.set_version_tag("fraud-0002", 3, "approval", "erin")
    registry.client.delete_model_version("fraud-0002", "4")  # soft-deleted: never shown


def _reads(registry: MlflowRegistry, names: tuple[str, ...]) -> list[str]:
    """Every read of the protocol, on all models and on `names`, as comparable text."""

    def shown(call: Callable[[], Any]) -> str:
        try:
            value = call()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        items = value if isinstance(value, list) else [value]
        return json.dumps([v.model_dump() for v in items], default=str)  # NaN stays NaN

    reads = [shown(registry.list_models), shown(registry.all_versions)]
    for name in names:
        reads += [
            shown(partial(registry.get_model, name)),
            shown(partial(registry.list_versions, name)),
            shown(partial(registry.all_versions, name)),
            shown(partial(registry.get_alias, name, CHAMPION)),
            shown(partial(registry.alias_history, name)),
        ]
        reads += [shown(partial(registry.get_version, name, v)) for v in range(5)]
    return reads


@pytest.fixture
def populated(registry: MlflowRegistry) -> MlflowRegistry:
    _populate(registry)
    return registry


def test_reader_answers_every_read_as_mlflow_does(
    populated: MlflowRegistry, tmp_path: Path
) -> None:
    history = AliasHistory(tmp_path / "alias_history.db")
    fresh = MlflowRegistry(populated._uri, history, tmp_path / "artifacts")
    known = (*MODELS, "nope")
    fast = _reads(fresh, known)
    assert "_client" not in vars(fresh)  # all of them read without MLflow
    odd = ("bad/name", "", " ", "a:b", "../up", "it's")  # left to MLflow's own validation
    fast += _reads(fresh, odd)
    populated._reader = None  # every read through MlflowClient
    assert fast == _reads(populated, known) + _reads(populated, odd)
    assert any('"brier": NaN' in read for read in fast)  # the data covers NaN metrics
    history.close()


def test_reads_see_writes_made_through_mlflow_at_once(populated: MlflowRegistry) -> None:
    populated.set_alias("churn-0001", CHAMPION, 2, actor="carol", reason="promote")
    populated.client.set_registered_model_tag("churn-0001", "owner", "risk")  # out of band
    model = populated.get_model("churn-0001")
    assert (model.aliases[CHAMPION], model.owner) == (2, "risk")
    assert populated.get_version("churn-0001", 2).aliases == (CHAMPION,)


def test_the_file_mlflow_creates_has_a_known_revision(mlflow_template: Path) -> None:
    """Fails when an MLflow upgrade migrates the schema: check the reader, then add it."""
    with sqlite3.connect(mlflow_template) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision in KNOWN_REVISIONS
    assert open_reader(mlflow_template) is not None


def test_what_the_reader_does_not_model_is_left_to_mlflow(
    populated: MlflowRegistry, tmp_path: Path
) -> None:
    db = Path(populated._uri.removeprefix("sqlite:///"))
    for name, change in (
        ("other-revision", "UPDATE alembic_version SET version_num = 'f00dfeed'"),
        ("prompt", f"UPDATE registered_model_tags SET key = '{PROMPT_TAG}' WHERE key = 'zeta'"),
        ("workspace", "UPDATE model_versions SET workspace = 'team-b' WHERE version = 4"),
    ):
        copy = shutil.copy(db, tmp_path / f"{name}.db")
        with sqlite3.connect(copy) as conn:
            conn.execute(change)
        assert open_reader(Path(copy)) is None, name
    assert open_reader(tmp_path / "missing.db") is None


def test_reading_the_registry_does_not_import_mlflow(
    populated: MlflowRegistry, tmp_path: Path
) -> None:
    script = f"""
import sys
from pathlib import Path
from tools.registry import AliasHistory, MlflowRegistry
registry = MlflowRegistry(
    {populated._uri!r}, AliasHistory(Path({str(tmp_path / "h.db")!r})), Path("artifacts")
)
assert [m.name for m in registry.list_models()] == {sorted(MODELS)!r}
assert registry.get_alias("fraud-0002", "champion").metrics["auc"] == 0.91
assert [v.version for v in registry.list_versions("fraud-0002")] == [1, 2, 3]
print(sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "sqlalchemy", "alembic")))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
