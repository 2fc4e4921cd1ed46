"""A fingerprint of a data directory's logical content, to prove a refused command changed
nothing.

Bytes on disk are not stable across a read-only command (SQLite checkpoints its WAL when
the last connection closes, DuckDB rewrites blocks), so databases are hashed by their rows:
every table with rows, in a fixed order. An empty table and a missing one look the same, so
a command that only creates a schema on first use (the audit log, the approval queue) does
not count as a change. Other files are hashed by their bytes.
"""

import hashlib
import sqlite3
from pathlib import Path

import duckdb

_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".wal", ".lotsen-stores.json")
"""Journals and locks, and the store manifests (bookkeeping of which stores exist)."""
_SQLITE_MAGIC = b"SQLite format 3\x00"


def fingerprint(data_dir: Path) -> dict[str, str]:
    """Relative path -> hash of the logical content, for every file under `data_dir`.

    The `world` symlink is followed (its target is part of the content); files with no
    rows are left out.
    """
    found: dict[str, str] = {}
    root = data_dir.resolve()
    world = data_dir / "world"
    if world.is_symlink():
        found["world ->"] = str(world.readlink())
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        digest = _digest(path)
        if digest is not None:
            found[str(path.relative_to(root))] = digest
    return found


def _digest(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head == _SQLITE_MAGIC:
        return _sqlite_digest(path)
    if path.suffix == ".duckdb":
        return _duckdb_digest(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqlite_digest(path: Path) -> str | None:
    digest = hashlib.sha256()
    rows_seen = 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
            if rows:
                rows_seen += len(rows)
                digest.update(f"{table}:{len(rows)}\n".encode())
                digest.update("\n".join(rows).encode())
    finally:
        conn.close()
    return digest.hexdigest() if rows_seen else None


def _duckdb_digest(path: Path) -> str | None:
    digest = hashlib.sha256()
    rows_seen = 0
    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"').fetchall())
            if rows:
                rows_seen += len(rows)
                digest.update(f"{table}:{len(rows)}\n".encode())
                digest.update("\n".join(rows).encode())
    finally:
        conn.close()
    return digest.hexdigest() if rows_seen else None


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths whose content differs (added, removed or changed)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
