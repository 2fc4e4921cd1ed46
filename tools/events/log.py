"""An append-only SQLite log of change events (deploys, config/runtime changes, scaling).

The twin writes to it where the change happens (beside its own state file); scenarios may
declare events that happened before the world was handed to an agent.
"""

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.domain import Environment
from tools.domain.events import ChangeEvent, EventKind
from tools.state_db import open_state_db

SCHEMA = "lotsen.events"
_MIGRATIONS = (
    """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    model TEXT,
    version INTEGER,
    environment TEXT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
""",
)


def events_path(state_file: Path) -> Path:
    """Where the event log of a world lives: `events.db` beside the twin's state file."""
    return state_file.with_name("events.db")


class EventLog:
    """Records change events; rows are added, never changed or removed."""

    def __init__(self, path: Path) -> None:
        """Open or create the log in the SQLite file at `path`."""
        self._conn = open_state_db(path, SCHEMA, _MIGRATIONS)

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def record(
        self,
        kind: EventKind,
        subject: str,
        at: datetime,
        *,
        actor: str,
        model: str | None = None,
        version: int | None = None,
        environment: Environment | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str = "",
    ) -> ChangeEvent:
        """Append one event and return it (with its id)."""
        cursor = self._conn.execute(
            "INSERT INTO events (kind, subject, model, version, environment, at, actor, before,"
            " after, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.value,
                subject,
                model,
                version,
                environment.value if environment else None,
                at.isoformat(),
                actor,
                json.dumps(before or {}, sort_keys=True, default=str),
                json.dumps(after or {}, sort_keys=True, default=str),
                reason,
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        return self._event(self._conn.execute(f"{_SELECT} WHERE seq = ?", (seq,)).fetchone())

    def between(
        self, start: datetime, end: datetime, models: set[str] | None = None
    ) -> list[ChangeEvent]:
        """Events with start <= at <= end (optionally for these models), oldest first."""
        rows = self._conn.execute(
            f"{_SELECT} WHERE at >= ? AND at <= ? ORDER BY at, seq",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
        found = [self._event(r) for r in rows]
        return [e for e in found if models is None or e.model in models]

    def all(self) -> list[ChangeEvent]:
        """Every event, oldest first."""
        return [self._event(r) for r in self._conn.execute(f"{_SELECT} ORDER BY at, seq")]

    def latest_config(self, subject: str) -> dict[str, Any]:
        """A deployment's serving configuration as its config/runtime events leave it."""
        config: dict[str, Any] = {}
        for event in self.all():
            if event.subject == subject and event.kind in (
                EventKind.CONFIG_CHANGE,
                EventKind.RUNTIME_CHANGE,
            ):
                config.update(event.after)
        return config

    @staticmethod
    def _event(row: sqlite3.Row | tuple[Any, ...]) -> ChangeEvent:
        seq, kind, subject, model, version, env, at, actor, before, after, reason = row
        return ChangeEvent(
            id=f"evt-{seq:05d}",
            kind=EventKind(kind),
            subject=subject,
            model=model,
            version=version,
            environment=Environment(env) if env else None,
            at=datetime.fromisoformat(at),
            actor=actor,
            before=json.loads(before),
            after=json.loads(after),
            reason=reason,
        )


_SELECT = (
    "SELECT seq, kind, subject, model, version, environment, at, actor, before, after, reason"
    " FROM events"
)
