"""Opening Lotsen's own state files safely, migrating older ones forward.

Every file carries a `lotsen_meta` table naming its schema and version, so a corrupt file,
a foreign database or a file from a newer release is refused with a clear message instead
of being silently modified.

A store declares its schema as an ordered tuple of migrations, one SQL script per version:
the first creates the tables, each later one changes them (and moves data with plain SQL
where needed). Never edit a migration that has shipped; append a new one::

    _MIGRATIONS = (
        "CREATE TABLE items (name TEXT PRIMARY KEY);",  # 1
        "ALTER TABLE items ADD COLUMN note TEXT;",  # 2
    )
    conn = open_state_db(path, "lotsen.items", _MIGRATIONS)

The current version is `len(migrations)`. A new file gets every step, an older file the
steps it lacks; each step and its version bump commit together or not at all. `migrate`
holds that logic for any database behind a `StateBackend` (the DuckDB telemetry store
uses it too); `open_state_db` is the SQLite front door.
"""

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tools.errors import StateError
from tools.state_manifest import RESTORE_HINT, expect_store, record_store, refuse_emptied

SQLITE_MAGIC = b"SQLite format 3\x00"

_META_DDL = "CREATE TABLE lotsen_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"

logger = logging.getLogger(__name__)


class StateBackend(Protocol):
    """The few operations `migrate` needs from a database connection."""

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        """What the database raises when a statement fails."""
        ...

    def begin(self) -> None:
        """Open a write transaction, taking the write lock now."""
        ...

    def execute(self, sql: str, params: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        ...

    def script(self, sql: str) -> None:
        """Run several `;`-separated statements inside the open transaction."""
        ...


def open_state_db(path: Path, schema: str, migrations: tuple[str, ...]) -> sqlite3.Connection:
    """Open (creating if needed) a Lotsen SQLite file, migrating it to the current version.

    The connection is in autocommit mode (`isolation_level=None`, WAL, foreign keys on):
    callers open their own transactions with `BEGIN IMMEDIATE`.

    Args:
        path: File to open.
        schema: Schema name stored in the file, e.g. "lotsen.cluster".
        migrations: SQL script of each version in order; the first creates the tables.
            A tuple, not any sequence: a lone string would pass as one step per character.

    Raises:
        StateError: the file is not SQLite, belongs to something else, is of a newer
            version than `len(migrations)`, or a migration step failed (the file then
            stays at the last version that applied).
    """
    listed = expect_store(path, schema)
    _refuse_non_sqlite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        backend = SQLiteBackend(conn)
        has_tables = _file_version(backend, path, schema) > 0
        refuse_emptied(path, schema, listed=listed, has_tables=has_tables)
        migrate(backend, path, schema, migrations)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"{path} is not a usable SQLite database ({exc}); {RESTORE_HINT}") from exc
    except StateError:
        conn.close()
        raise
    if not listed:
        record_store(path, schema)
    return conn


def migrate(db: StateBackend, path: Path | str, schema: str, migrations: tuple[str, ...]) -> None:
    """Bring the database at `path` to version `len(migrations)` of `schema`.

    Each missing step runs in its own transaction together with its version bump, and the
    version is read again under the write lock, so two processes opening the same old file
    apply each step once.

    Args:
        db: The open database.
        path: Where it lives (for messages and logs).
        schema: Schema name stored in `lotsen_meta`.
        migrations: SQL script of each version in order.

    Raises:
        StateError: foreign database, newer version than `migrations` knows, or a step failed.
    """
    latest = len(migrations)
    found = _file_version(db, path, schema)
    if found > latest:
        raise StateError(
            f"{path} has {schema} schema version {found}, this Lotsen reads up to {latest}; "
            "upgrade Lotsen"
        )
    for step in range(found + 1, latest + 1):
        _apply(db, path, schema, step, migrations[step - 1])


def _file_version(db: StateBackend, path: Path | str, schema: str) -> int:
    """Schema version of an open Lotsen database; 0 for an empty one."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return 0
    if "lotsen_meta" not in tables:
        raise StateError(f"{path} is a database of something else, not a {schema} file")
    meta = dict(db.execute("SELECT key, value FROM lotsen_meta"))
    if meta.get("schema") != schema:
        raise StateError(f"{path} holds {meta.get('schema')!r}, expected {schema!r}")
    version = str(meta.get("version"))
    if not version.isdigit():
        raise StateError(f"{path} has no valid {schema} schema version ({version}); {RESTORE_HINT}")
    return int(version)


def _apply(db: StateBackend, path: Path | str, schema: str, step: int, sql: str) -> None:
    db.begin()
    try:
        if _file_version(db, path, schema) >= step:  # another process got here first
            db.execute("ROLLBACK")
            return
        db.script((_META_DDL if step == 1 else "") + sql)
        db.execute(
            "INSERT OR REPLACE INTO lotsen_meta VALUES (?, ?), (?, ?)",
            ("schema", schema, "version", str(step)),
        )
        db.execute("COMMIT")
    except db.errors as exc:
        _rollback(db)
        raise StateError(
            f"{path}: {schema} migration {step} failed and was rolled back, the file stays at "
            f"version {step - 1} ({exc})"
        ) from exc
    except BaseException:
        _rollback(db)
        raise
    logger.info("%s: applied %s schema migration %s", path, schema, step)


def _rollback(db: StateBackend) -> None:
    # Some failures (SQLite on a full disk) already ended the transaction; the error being
    # raised is the one to report, not "no transaction is active".
    with suppress(*db.errors):
        db.execute("ROLLBACK")


@dataclass(frozen=True)
class SQLiteBackend:
    """`StateBackend` over a `sqlite3` connection opened with `isolation_level=None`."""

    conn: sqlite3.Connection
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def begin(self) -> None:
        """Open a write transaction, taking the write lock now."""
        self.conn.execute("BEGIN IMMEDIATE")

    def execute(self, sql: str, params: Sequence[str] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        return self.conn.execute(sql, params).fetchall()

    def script(self, sql: str) -> None:
        """Run several statements inside the open transaction.

        Not `executescript`, which would commit the open transaction first.
        """
        for statement in _statements(sql):
            self.conn.execute(statement)


def _statements(script: str) -> Iterator[str]:
    """Split a script at the `;` that end statements (not those inside a trigger body)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending
            pending = ""
    if pending.strip(" \t\n;"):
        yield pending  # incomplete: let SQLite report the syntax error


def is_sqlite(path: Path) -> bool:
    """Whether an existing file starts with SQLite's header."""
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _refuse_non_sqlite(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    if not is_sqlite(path):
        raise StateError(
            f"{path} is not a SQLite database (corrupt or foreign file); {RESTORE_HINT}"
        )
