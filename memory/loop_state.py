"""What the operating loop remembers between ticks: scan times, cursors, replicas' ticks.

Everything else the loop does leaves its trace where it belongs (incidents, runs, approvals,
the audit log with idempotency keys); this file only holds the schedule's bookkeeping, so
losing it costs at most one early scan.
"""

import sqlite3
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from tools.state_db import open_state_db

FILE = "loop.db"
_MIGRATIONS = (
    """
CREATE TABLE scans (model TEXT PRIMARY KEY, scanned_at TEXT NOT NULL);
CREATE TABLE ticks (holder TEXT PRIMARY KEY, ticks INTEGER NOT NULL, last_at TEXT NOT NULL,
                    world_at TEXT NOT NULL, summary TEXT NOT NULL);
CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
""",
)


class TickMark(BaseModel):
    """The last tick a loop replica finished."""

    holder: str
    """Who ticked: `host:pid`."""
    ticks: int
    last_at: datetime
    """Wall-clock time of the tick's end."""
    world_at: datetime
    """The world's clock at the tick (virtual on the twin)."""
    summary: str


class LoopState:
    """SQLite bookkeeping of the operating loop (`<data_dir>/state/loop.db`)."""

    def __init__(self, path: Path) -> None:
        """Open or create the file."""
        self._conn = open_state_db(path, "lotsen.loop", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row

    def last_scans(self) -> dict[str, datetime]:
        """Model -> world time of its last scheduled scan."""
        rows = self._conn.execute("SELECT model, scanned_at FROM scans").fetchall()
        return {r["model"]: datetime.fromisoformat(r["scanned_at"]) for r in rows}

    def mark_scanned(self, models: list[str], at: datetime) -> None:
        """Record that these models were scanned (and their incidents handled) at `at`."""
        self._conn.executemany(
            "INSERT INTO scans VALUES (?, ?) "
            "ON CONFLICT (model) DO UPDATE SET scanned_at = excluded.scanned_at",
            [(m, at.isoformat()) for m in models],
        )

    def cursor(self, name: str) -> int | None:
        """A named position (e.g. the last audit record the compliance re-scan has seen)."""
        row = self._conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_cursor(self, name: str, value: int) -> None:
        """Move a named position."""
        self._conn.execute(
            "INSERT INTO cursors VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def record_tick(self, holder: str, now: datetime, world_at: datetime, summary: str) -> None:
        """Count a finished tick of `holder`."""
        self._conn.execute(
            "INSERT INTO ticks VALUES (?, 1, ?, ?, ?) ON CONFLICT (holder) DO UPDATE SET "
            "ticks = ticks + 1, last_at = excluded.last_at, world_at = excluded.world_at, "
            "summary = excluded.summary",
            (holder, now.isoformat(), world_at.isoformat(), summary),
        )

    def ticks(self) -> list[TickMark]:
        """Every replica's last tick, newest first."""
        rows = self._conn.execute("SELECT * FROM ticks ORDER BY last_at DESC").fetchall()
        return [TickMark.model_validate(dict(r)) for r in rows]

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
