"""The notification outbox: what is to be posted where, and how each delivery went.

One row per (event, channel). Queueing the same event again changes nothing, so a tick that
re-runs after a crash does not notify twice; a delivery is retried with backoff until it
succeeds or runs out of attempts, and then stays recorded as failed with its last error.
"""

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from tools.state_db import open_state_db

FILE = "notifications.db"
DeliveryStatus = Literal["pending", "delivered", "failed"]
_MIGRATIONS = (
    """
CREATE TABLE deliveries (event TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL,
                         payload TEXT NOT NULL, created_at TEXT NOT NULL,
                         status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                         next_at TEXT NOT NULL, last_error TEXT, done_at TEXT,
                         PRIMARY KEY (event, channel));
CREATE INDEX deliveries_due ON deliveries (status, next_at);
""",
)


class Delivery(BaseModel):
    """One event posted (or to be posted) to one channel."""

    event: str
    """The event's key, e.g. `incident:inc-...` or `approval:apr-...`."""
    channel: str
    """`webhook` (generic JSON) or `slack` (incoming-webhook format)."""
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    status: DeliveryStatus
    attempts: int
    next_at: datetime
    """Wall-clock time of the next attempt (pending only)."""
    last_error: str | None = None
    done_at: datetime | None = None


class NotificationOutbox:
    """SQLite outbox of notifications (`<data_dir>/state/notifications.db`)."""

    def __init__(self, path: Path) -> None:
        """Open or create the outbox."""
        self._conn = open_state_db(path, "lotsen.notifications", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row

    def enqueue(
        self, event: str, kind: str, payloads: dict[str, dict[str, Any]], now: datetime
    ) -> int:
        """Queue an event for each channel (once); return how many rows were new."""
        cursor = self._conn.executemany(
            "INSERT OR IGNORE INTO deliveries (event, channel, kind, payload, created_at, "
            "status, next_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            [
                (event, channel, kind, json.dumps(payload), now.isoformat(), now.isoformat())
                for channel, payload in payloads.items()
            ],
        )
        return cursor.rowcount

    def due(self, now: datetime, limit: int = 50) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM deliveries WHERE status = 'pending' AND next_at <= ? "
            "ORDER BY next_at, created_at LIMIT ?",
            (now.isoformat(), limit),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def delivered(self, event: str, channel: str, now: datetime) -> None:
        """Record a successful attempt."""
        self._conn.execute(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, done_at = ?, "
            "last_error = NULL WHERE event = ? AND channel = ? AND status = 'pending'",
            (now.isoformat(), event, channel),
        )

    def attempt_failed(
        self, event: str, channel: str, error: str, now: datetime, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: retried at `retry_at`, or failed for good when None."""
        if retry_at is None:
            sql = (
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, "
                "last_error = ?, done_at = ? WHERE event = ? AND channel = ? "
                "AND status = 'pending'"
            )
            self._conn.execute(sql, (error, now.isoformat(), event, channel))
            return
        self._conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_at = ? "
            "WHERE event = ? AND channel = ? AND status = 'pending'",
            (error, retry_at.isoformat(), event, channel),
        )

    def deliveries(self, status: DeliveryStatus | None = None) -> list[Delivery]:
        """Deliveries, newest first, optionally by status."""
        rows = self._conn.execute(
            "SELECT * FROM deliveries"
            + (" WHERE status = ?" if status else "")
            + " ORDER BY created_at DESC, event, channel",
            (status,) if status else (),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def close(self) -> None:
        """Close the file."""
        self._conn.close()


def _delivery(row: sqlite3.Row) -> Delivery:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    return Delivery.model_validate(data)
