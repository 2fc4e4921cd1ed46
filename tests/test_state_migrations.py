"""Numbered schema migrations of Lotsen's state files (SQLite and the DuckDB telemetry store)."""

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tools.errors import StateError
from tools.registry.alias_history import _MIGRATIONS as ALIAS_MIGRATIONS
from tools.registry.alias_history import AliasHistory
from tools.state_db import SQLiteBackend, migrate, open_state_db
from tools.telemetry.store import _MIGRATIONS as TELEMETRY_MIGRATIONS
from tools.telemetry.store import SCHEMA as TELEMETRY_SCHEMA
from tools.telemetry.store import DuckDBBackend, InjectedFault, TelemetryStore

SCHEMA = "lotsen.test"
STEPS = (
    "CREATE TABLE items (name TEXT PRIMARY KEY, size INTEGER NOT NULL);",
    "ALTER TABLE items ADD COLUMN doubled INTEGER; UPDATE items SET doubled = size * 2;",
    "CREATE TABLE notes (item TEXT NOT NULL, text TEXT NOT NULL);",
)
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)

Opener = Callable[[Path, tuple[str, ...]], Any]


def _open_sqlite(path: Path, migrations: tuple[str, ...]) -> sqlite3.Connection:
    return open_state_db(path, SCHEMA, migrations)


def _open_duckdb(path: Path, migrations: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    try:
        migrate(DuckDBBackend(conn), path, SCHEMA, migrations)
    except StateError:
        conn.close()
        raise
    return conn


@pytest.fixture(params=["sqlite", "duckdb"])
def open_db(request: pytest.FixtureRequest) -> Opener:
    """Opens a file of the test schema through SQLite's or DuckDB's backend."""
    return _open_sqlite if request.param == "sqlite" else _open_duckdb


def _version(conn: Any) -> int:
    return int(conn.execute("SELECT value FROM lotsen_meta WHERE key = 'version'").fetchone()[0])


def test_an_older_file_gets_the_missing_steps_and_keeps_its_rows(
    tmp_path: Path, open_db: Opener
) -> None:
    path = tmp_path / "state.db"
    conn = open_db(path, STEPS[:1])
    conn.execute("INSERT INTO items VALUES ('a', 1), ('b', 5)")
    conn.close()

    conn = open_db(path, STEPS)

    assert _version(conn) == 3
    rows = conn.execute("SELECT name, size, doubled FROM items ORDER BY name").fetchall()
    assert rows == [("a", 1, 2), ("b", 5, 10)]
    assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    conn.close()


def test_a_new_file_gets_every_step(tmp_path: Path, open_db: Opener) -> None:
    conn = open_db(tmp_path / "state.db", STEPS)
    assert _version(conn) == 3
    assert conn.execute("SELECT value FROM lotsen_meta WHERE key = 'schema'").fetchone() == (
        SCHEMA,
    )
    conn.close()


def test_a_file_of_a_newer_version_is_refused_untouched(tmp_path: Path, open_db: Opener) -> None:
    path = tmp_path / "state.db"
    open_db(path, STEPS).close()

    with pytest.raises(StateError) as refused:
        open_db(path, STEPS[:2])

    assert str(refused.value) == (
        f"{path} has {SCHEMA} schema version 3, this Lotsen reads up to 2; upgrade Lotsen"
    )
    conn = open_db(path, STEPS)
    assert _version(conn) == 3
    conn.close()


def test_a_failing_step_is_rolled_back_and_leaves_the_previous_version(
    tmp_path: Path, open_db: Opener
) -> None:
    path = tmp_path / "state.db"
    conn = open_db(path, STEPS[:1])
    conn.execute("INSERT INTO items VALUES ('a', 1)")
    conn.close()
    broken = (*STEPS[:1], "INSERT INTO items VALUES ('b', 2); CREATE TABLE items (x INTEGER);")

    with pytest.raises(StateError) as failed:
        open_db(path, broken)

    message = str(failed.value)
    assert str(path) in message
    assert f"{SCHEMA} migration 2 failed" in message
    assert "stays at version 1" in message
    assert "items" in message and "exists" in message  # the database's own error
    conn = open_db(path, STEPS[:1])
    assert _version(conn) == 1
    assert conn.execute("SELECT name, size FROM items").fetchall() == [("a", 1)]
    conn.close()


def test_foreign_and_other_schema_sqlite_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StateError, match=r"something else, not a lotsen\.test file"):
        open_state_db(foreign, SCHEMA, STEPS)
    other = tmp_path / "other.db"
    open_state_db(other, "lotsen.fleet", STEPS[:1]).close()
    with pytest.raises(StateError, match=r"holds 'lotsen\.fleet', expected 'lotsen\.test'"):
        open_state_db(other, SCHEMA, STEPS)
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello " * 10)
    with pytest.raises(StateError, match="not a SQLite database"):
        open_state_db(not_sqlite, SCHEMA, STEPS)


def test_a_foreign_duckdb_file_is_not_adopted_as_telemetry(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StateError, match="something else"):
        TelemetryStore(path)


def test_alias_history_v1_file_gains_idempotency_keys_and_keeps_its_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.db"
    conn = open_state_db(path, "lotsen.alias_history", ALIAS_MIGRATIONS[:1])
    conn.execute(
        "INSERT INTO alias_changes (at, model, alias, old_version, new_version, actor, reason)"
        " VALUES (?, 'churn', 'champion', 1, 2, 'alice', 'better auc')",
        (AT.isoformat(),),
    )
    conn.close()

    with caplog.at_level(logging.INFO, logger="tools.state_db"):
        history = AliasHistory(path, clock=lambda: AT)

    assert "applied lotsen.alias_history schema migration 2" in caplog.text
    (old,) = history.changes()
    assert (old.seq, old.model, old.new_version, old.actor) == (1, "churn", 2, "alice")
    first = history.record("churn", "champion", 2, 3, actor="bob", reason="r", idempotency_key="k")
    again = history.record("churn", "champion", 2, 3, actor="bob", reason="r", idempotency_key="k")
    assert first == again and [c.seq for c in history.changes()] == [1, 2]
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        history._conn.execute(
            "INSERT INTO alias_changes (at, model, alias, actor, reason, idempotency_key)"
            " VALUES ('t', 'm', 'a', 'x', 'y', 'k')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        history._conn.execute("DELETE FROM alias_changes")
    assert _version(history._conn) == len(ALIAS_MIGRATIONS) == 2
    history.close()


@dataclass(frozen=True)
class _Overtaken(SQLiteBackend):
    """A backend whose every transaction starts just after another process migrated."""

    rival: Callable[[], None] = lambda: None

    def begin(self) -> None:
        self.rival()
        super().begin()


def test_a_step_another_process_applied_first_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    open_state_db(path, "lotsen.alias_history", ALIAS_MIGRATIONS[:1]).close()
    conn = sqlite3.connect(path, isolation_level=None)

    def rival() -> None:
        open_state_db(path, "lotsen.alias_history", ALIAS_MIGRATIONS).close()

    migrate(_Overtaken(conn, rival=rival), path, "lotsen.alias_history", ALIAS_MIGRATIONS)

    assert _version(conn) == 2
    conn.close()


def test_telemetry_file_from_before_migrations_is_read_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    fault = InjectedFault(id=1, kind="drift", target="churn", models=["churn"], window_start=AT)
    with duckdb.connect(str(path)) as conn:  # what the store wrote before migrations existed
        conn.execute("CREATE TABLE lotsen_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        conn.execute("INSERT INTO lotsen_meta VALUES ('schema', 'lotsen.telemetry/1')")
        conn.execute(TELEMETRY_MIGRATIONS[0])
        conn.execute(
            "INSERT INTO injected_faults VALUES (?, ?, ?, ?, ?, ?, ?)",
            list(fault.model_dump().values()),
        )

    store = TelemetryStore(path)

    assert store.faults() == [fault]
    meta = dict(store.db.execute("SELECT key, value FROM lotsen_meta").fetchall())
    assert meta == {"schema": TELEMETRY_SCHEMA, "version": str(len(TELEMETRY_MIGRATIONS))}
    store.close()
