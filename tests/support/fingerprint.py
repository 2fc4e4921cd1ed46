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
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb

from tools.state_db import is_sqlite

_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".wal", ".lotsen-stores.json")
"""Journals and locks, and the store manifests (bookkeeping of which stores exist)."""


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
    if path.stat().st_size and is_sqlite(path):
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as lite:
            names = "SELECT name FROM sqlite_master WHERE type = 'table' "
            return _rows_digest(
                lite.execute(names + "AND name NOT LIKE 'sqlite_%'").fetchall(),
                lambda sql: lite.execute(sql).fetchall(),
            )
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as duck:
            names = "SELECT table_name FROM information_schema.tables"
            return _rows_digest(
                duck.execute(names).fetchall(), lambda sql: duck.execute(sql).fetchall()
            )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows_digest(
    tables: list[tuple[Any, ...]], fetch: Callable[[str], list[tuple[Any, ...]]]
) -> str | None:
    """Hash of every table's rows, tables by name, rows sorted; None when no table has rows."""
    digest = hashlib.sha256()
    rows_seen = 0
    for (table,) in sorted(tables):
        rows = sorted(repr(row) for row in fetch(f'SELECT * FROM "{table}"'))
        if rows:
            rows_seen += len(rows)
            digest.update(f"{table}:{len(rows)}\n".encode())
            digest.update("\n".join(rows).encode())
    return digest.hexdigest() if rows_seen else None


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths whose content differs (added, removed or changed)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
