"""What the remediation workflow remembers: runs, data incidents, quarantine, watches.

The lifecycle of the incidents scans find is here too (`incidents`, memory/incidents.py).
Approval requests live in the one approval queue (memory/approvals.py).
"""

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from memory.incidents import INCIDENTS_MIGRATION, IncidentStore
from tools.errors import NotFoundError
from tools.state_db import open_state_db

RunStatus = Literal["running", "waiting_approval", "done", "rejected", "failed", "expired"]

_MIGRATIONS = (
    """
CREATE TABLE runs (thread_id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, kind TEXT NOT NULL,
                   status TEXT NOT NULL, proposer TEXT NOT NULL, updated_at TEXT NOT NULL,
                   summary TEXT);
CREATE TABLE approvals (id TEXT PRIMARY KEY, thread_id TEXT UNIQUE NOT NULL,
                        incident_id TEXT NOT NULL,
                        action TEXT NOT NULL, models TEXT NOT NULL, reasons TEXT NOT NULL,
                        proposer TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
                        status TEXT NOT NULL, decided_by TEXT, decided_at TEXT, note TEXT);
CREATE TABLE data_incidents (id TEXT PRIMARY KEY, pipeline TEXT, models TEXT NOT NULL, owner TEXT,
                             opened_at TEXT NOT NULL, status TEXT NOT NULL, cause TEXT NOT NULL);
CREATE TABLE quarantine (model TEXT NOT NULL, window_start TEXT NOT NULL, incident_id TEXT NOT NULL,
                         PRIMARY KEY (model, window_start));
CREATE TABLE watchlist (model TEXT PRIMARY KEY, incident_id TEXT NOT NULL, since TEXT NOT NULL,
                        scan_every_hours REAL NOT NULL);
""",
    # 2: approval requests moved to the one approval queue (memory/approvals.py); the old
    # rows stay readable until the queue has adopted them.
    "ALTER TABLE approvals RENAME TO legacy_approvals;",
    # 3: the incident lifecycle (memory/incidents.py): occurrences, status, history
    INCIDENTS_MIGRATION,
)


class Run(BaseModel):
    """One incident's remediation (a LangGraph thread)."""

    thread_id: str
    incident_id: str
    kind: str
    status: RunStatus
    proposer: str
    updated_at: datetime
    summary: str | None = None


class DataIncident(BaseModel):
    """A data incident opened for a pipeline's owner (an upstream break: no retrain)."""

    id: str
    pipeline: str | None
    """The feature pipeline that broke (None: the models share none)."""
    models: list[str]
    owner: str | None
    """Who is told: the pipeline's owner (or the model's, without a pipeline)."""
    opened_at: datetime
    status: str
    cause: str


class RemediationStore:
    """SQLite state of remediation runs and their side records."""

    def __init__(self, path: Path) -> None:
        """Open or create the store."""
        self._conn = open_state_db(path, "lotsen.remediation", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row
        self.incidents = IncidentStore(self._conn)
        """The incidents' lifecycle (same file: a run and the incident it moves)."""

    # runs
    def start_run(
        self, thread_id: str, incident_id: str, kind: str, proposer: str, now: datetime
    ) -> Run:
        """Register a run (no-op if it exists) and return it."""
        self._conn.execute(
            "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, 'running', ?, ?, NULL)",
            (thread_id, incident_id, kind, proposer, now.isoformat()),
        )
        return self.run(thread_id)

    def run(self, thread_id: str) -> Run:
        """One run."""
        row = self._conn.execute("SELECT * FROM runs WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no remediation run {thread_id!r}")
        return Run.model_validate(dict(row))

    def runs(self, status: RunStatus | None = None) -> list[Run]:
        """Runs, optionally by status."""
        rows = self._conn.execute(
            "SELECT * FROM runs" + (" WHERE status = ?" if status else ""),
            (status,) if status else (),
        ).fetchall()
        return [Run.model_validate(dict(r)) for r in rows]

    def set_run(
        self, thread_id: str, status: RunStatus, now: datetime, summary: str | None = None
    ) -> None:
        """Update a run's status."""
        self._conn.execute(
            "UPDATE runs SET status = ?, updated_at = ?, summary = coalesce(?, summary) "
            "WHERE thread_id = ?",
            (status, now.isoformat(), summary, thread_id),
        )

    def legacy_approvals(self) -> list[dict[str, Any]]:
        """Approval requests of the schema-1 layout, for the approval queue to adopt."""
        rows = self._conn.execute("SELECT * FROM legacy_approvals ORDER BY created_at").fetchall()
        return [dict(r) for r in rows]

    # side records (idempotent)
    def open_data_incident(
        self,
        incident_id: str,
        pipeline: str | None,
        models: list[str],
        owner: str | None,
        cause: str,
        now: datetime,
    ) -> None:
        """Open a data incident for the pipeline owner (once)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO data_incidents VALUES (?, ?, ?, ?, ?, 'open', ?)",
            (incident_id, pipeline, json.dumps(models), owner, now.isoformat(), cause),
        )

    def quarantine(self, incident_id: str, models: list[str], window_start: datetime) -> None:
        """Keep a broken window out of training and reference data."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?)",
            [(m, window_start.isoformat(), incident_id) for m in models],
        )

    def watch(self, incident_id: str, models: list[str], now: datetime, every_hours: float) -> None:
        """Scan these models more often."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO watchlist VALUES (?, ?, ?, ?)",
            [(m, incident_id, now.isoformat(), every_hours) for m in models],
        )

    def data_incidents(self) -> list[DataIncident]:
        """Data incidents, oldest first."""
        rows = self._conn.execute("SELECT * FROM data_incidents ORDER BY opened_at").fetchall()
        return [
            DataIncident.model_validate({**dict(r), "models": json.loads(r["models"])})
            for r in rows
        ]

    def watched(self) -> list[str]:
        """Models on the watch list."""
        return [r[0] for r in self._conn.execute("SELECT model FROM watchlist ORDER BY model")]

    def watch_intervals(self) -> dict[str, float]:
        """Watched model -> how often the watch asks for it to be scanned (hours)."""
        rows = self._conn.execute("SELECT model, scan_every_hours FROM watchlist")
        return {r[0]: float(r[1]) for r in rows}

    def quarantined(self) -> list[tuple[str, str]]:
        """(model, window start) pairs in quarantine."""
        return [
            (r[0], r[1])
            for r in self._conn.execute("SELECT model, window_start FROM quarantine ORDER BY 1")
        ]

    def close(self) -> None:
        """Close the file."""
        self._conn.close()
