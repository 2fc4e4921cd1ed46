import re
import sqlite3
from pathlib import Path

import pytest

from tools.domain import AiActRisk, ChangePlan, Environment, Lineage, NewModel, NewVersion
from tools.errors import BackendUnavailableError, ConflictError, NotFoundError, StateError
from tools.registry import CHALLENGER, CHAMPION, AliasHistory, MlflowRegistry, sqlite_uri


def _register(registry: MlflowRegistry, name: str = "churn-0001") -> None:
    registry.register_model(
        NewModel(
            name=name,
            owner="growth",
            env=Environment.PROD,
            pipeline="growth-features-00",
            ai_act_risk=AiActRisk.HIGH,
            change_plan=ChangePlan(reference="doc://plan"),
            tags={"features": "f01,f02"},
        )
    )


def test_model_metadata_round_trips_through_mlflow_tags(registry: MlflowRegistry) -> None:
    _register(registry)
    model = registry.get_model("churn-0001")
    assert model.env is Environment.PROD
    assert model.ai_act_risk is AiActRisk.HIGH
    assert model.change_plan == ChangePlan(reference="doc://plan")
    assert model.tags == {"features": "f01,f02"}
    assert [m.name for m in registry.list_models()] == ["churn-0001"]


def test_version_keeps_metrics_and_lineage(registry: MlflowRegistry) -> None:
    _register(registry)
    lineage = Lineage(
        training_data="lake://w1", code_version="abc123", promoted_from=Environment.TEST
    )
    created = registry.create_version(
        "churn-0001", NewVersion(metrics={"auc": 0.91}, lineage=lineage)
    )
    loaded = registry.get_version("churn-0001", created.version)
    assert loaded.metrics == {"auc": 0.91}
    assert loaded.lineage.training_data == "lake://w1"
    assert loaded.lineage.promoted_from is Environment.TEST
    assert loaded.lineage.run_id is not None
    assert loaded.lineage.run_id == created.lineage.run_id


def test_alias_moves_are_recorded_in_order(registry: MlflowRegistry) -> None:
    _register(registry)
    for _ in range(3):
        registry.create_version("churn-0001", NewVersion(metrics={"auc": 0.9}))
    registry.set_alias("churn-0001", CHAMPION, 1, actor="alice", reason="first")
    registry.set_alias("churn-0001", CHALLENGER, 2, actor="retrainer", reason="new data")
    registry.set_alias("churn-0001", CHAMPION, 2, actor="bob", reason="promote")
    registry.delete_alias("churn-0001", CHALLENGER, actor="bob", reason="promoted")

    assert registry.get_alias("churn-0001", CHAMPION).version == 2
    assert registry.get_model("churn-0001").aliases == {CHAMPION: 2}
    moves = [
        (c.alias, c.old_version, c.new_version, c.actor)
        for c in registry.alias_history("churn-0001")
    ]
    assert moves == [
        (CHAMPION, None, 1, "alice"),
        (CHALLENGER, None, 2, "retrainer"),
        (CHAMPION, 1, 2, "bob"),
        (CHALLENGER, 2, None, "bob"),
    ]


def test_a_repeated_keyed_move_is_a_no_op_even_after_a_later_move(
    registry: MlflowRegistry,
) -> None:
    """Re-running a step must not roll the alias back to where that step once moved it."""
    _register(registry)
    for _ in range(3):
        registry.create_version("churn-0001", NewVersion(metrics={"auc": 0.9}))
    registry.set_alias("churn-0001", CHAMPION, 1, actor="ci", reason="deploy")
    first = registry.set_alias(
        "churn-0001", CHAMPION, 2, actor="lotsen", reason="promote", idempotency_key="K"
    )
    registry.set_alias(
        "churn-0001", CHAMPION, 3, actor="lotsen", reason="promote", idempotency_key="L"
    )
    repeated = registry.set_alias(
        "churn-0001", CHAMPION, 2, actor="lotsen", reason="promote", idempotency_key="K"
    )
    assert repeated == first
    assert registry.get_alias("churn-0001", CHAMPION).version == 3
    assert [(c.old_version, c.new_version) for c in registry.alias_history("churn-0001")] == [
        (None, 1),
        (1, 2),
        (2, 3),
    ]


def test_alias_history_is_append_only(tmp_path: Path) -> None:
    history = AliasHistory(tmp_path / "h.db")
    history.record("m", CHAMPION, None, 1, actor="a", reason="r")
    conn = sqlite3.connect(tmp_path / "h.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE alias_changes SET new_version = 9")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM alias_changes")
    assert [c.new_version for c in history.changes()] == [1]


def test_unknown_names_say_what_is_missing(registry: MlflowRegistry) -> None:
    _register(registry)
    registry.create_version("churn-0001", NewVersion())
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        registry.get_model("nope")
    with pytest.raises(NotFoundError, match="no version 7"):
        registry.get_version("churn-0001", 7)
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        registry.get_alias("churn-0001", CHAMPION)
    with pytest.raises(NotFoundError, match="no version 5"):
        registry.set_alias("churn-0001", CHAMPION, 5, actor="a", reason="r")
    with pytest.raises(NotFoundError):
        registry.alias_history("nope")
    assert registry.alias_history() == []


def test_registering_twice_is_a_conflict(registry: MlflowRegistry) -> None:
    _register(registry)
    with pytest.raises(ConflictError, match="already exists"):
        _register(registry)


def test_corrupt_and_foreign_registry_files_are_refused(tmp_path: Path) -> None:
    history = AliasHistory(tmp_path / "h.db")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite at all" * 10)
    with pytest.raises(StateError, match="not a SQLite database"):
        MlflowRegistry(sqlite_uri(corrupt), history, tmp_path)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(StateError, match="not an MLflow registry"):
        MlflowRegistry(sqlite_uri(foreign), history, tmp_path)
    with sqlite3.connect(foreign) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("customers",)]


def test_unreachable_mlflow_server_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(
        BackendUnavailableError, match=re.escape("cannot reach MLflow at http://127.0.0.1:9")
    ):
        MlflowRegistry("http://127.0.0.1:9", AliasHistory(tmp_path / "h.db"), tmp_path)
