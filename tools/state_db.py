"""Opening Lotsen's own SQLite state files safely.

Every file carries a `lotsen_meta` table naming its schema and version, so a corrupt file,
a foreign database or a file from an incompatible release is refused with a clear message
instead of being silently modified.
"""

import sqlite3
from pathlib import Path

from tools.errors import StateError

SQLITE_MAGIC = b"SQLite format 3\x00"


def open_state_db(path: Path, schema: str, version: int, ddl: str) -> sqlite3.Connection:
    """Open (creating if needed) a Lotsen SQLite file of the given schema.

    Args:
        path: File to open.
        schema: Schema name stored in the file, e.g. "lotsen.cluster".
        version: Schema version this code reads and writes.
        ddl: Statements creating the schema's tables (run once, on a new file).

    Raises:
        StateError: the file is not SQLite, belongs to something else, or has another version.
    """
    _refuse_non_sqlite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _check_or_create(conn, path, schema, version, ddl)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateError(f"{path} is not a usable SQLite database ({exc}); move it away") from exc
    except StateError:
        conn.close()
        raise
    return conn


def _refuse_non_sqlite(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_MAGIC))
    if header != SQLITE_MAGIC:
        raise StateError(f"{path} is not a SQLite database (corrupt or foreign file); move it away")


def _check_or_create(
    conn: sqlite3.Connection, path: Path, schema: str, version: int, ddl: str
) -> None:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        conn.execute("BEGIN IMMEDIATE")
        conn.executescript(
            "CREATE TABLE lotsen_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);" + ddl
        )
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO lotsen_meta VALUES (?, ?)", [("schema", schema), ("version", str(version))]
        )
        conn.execute("COMMIT")
        return
    if "lotsen_meta" not in tables:
        raise StateError(f"{path} is a SQLite database of something else, not a {schema} file")
    meta = dict(conn.execute("SELECT key, value FROM lotsen_meta").fetchall())
    if meta.get("schema") != schema:
        raise StateError(f"{path} holds {meta.get('schema')!r}, expected {schema!r}")
    if meta.get("version") != str(version):
        raise StateError(
            f"{path} has {schema} schema version {meta.get('version')}, this Lotsen reads "
            f"{version}; re-seed with `lotsen fleet init --force`"
        )
