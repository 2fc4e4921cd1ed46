"""The lifecycle of incidents: one record per occurrence of a problem, its status and history.

A scan observes incidents (`observe`): the same problem (the incident's `key`) seen again
updates its open occurrence (last seen, windows, models, evidence) instead of opening a
second one. A problem seen again in a later window after its occurrence was resolved or
closed is a new occurrence (`<key>-<n>`): a new remediation thread, so its remediation is not
skipped as done. People acknowledge and close (`transition`); the remediation workflow
moves an occurrence to remediating and resolved, or back to open (`follow_run`).

The tables live in the remediation store's file (memory/remediation.py, migration 3): the
incidents describe the world being watched, and a run and the incident it moves change in
the same file.
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel

from tools.drift.incidents import Incident, occurrence_id
from tools.errors import ConflictError, NotFoundError

IncidentStatus = Literal["open", "acknowledged", "remediating", "resolved", "closed"]
STATUSES: tuple[IncidentStatus, ...] = get_args(IncidentStatus)
OVER: frozenset[IncidentStatus] = frozenset({"resolved", "closed"})
"""An occurrence in these is over: the problem seen in a later window is a new occurrence."""
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    "open": frozenset({"acknowledged", "remediating", "resolved", "closed"}),
    "acknowledged": frozenset({"remediating", "resolved", "closed"}),
    "remediating": frozenset({"open", "acknowledged", "resolved", "closed"}),
    "resolved": frozenset({"closed"}),
    "closed": frozenset(),
}
"""Allowed moves. Closed is final (a recurrence is a new occurrence); remediating goes back
to open (or acknowledged) when a run ends without fixing anything."""
MONITOR = "lotsen-monitor"
"""Who opens and updates incidents from scans."""

INCIDENTS_MIGRATION = """
CREATE TABLE incidents (id TEXT PRIMARY KEY, key TEXT NOT NULL, occurrence INTEGER NOT NULL,
                        kind TEXT NOT NULL, pipeline TEXT, models TEXT NOT NULL,
                        features TEXT NOT NULL, probable_cause TEXT NOT NULL,
                        evidence TEXT NOT NULL, windows TEXT NOT NULL, status TEXT NOT NULL,
                        first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
                        changed_by TEXT NOT NULL, changed_at TEXT NOT NULL,
                        acknowledged_by TEXT, acknowledged_at TEXT, action TEXT, note TEXT,
                        UNIQUE (key, occurrence));
CREATE TABLE incident_events (incident_id TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
                              status TEXT NOT NULL, note TEXT);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id);
"""
"""Migration 3 of the remediation store (appended there; never edit once shipped)."""


class IncidentEvent(BaseModel):
    """One change of an occurrence's status."""

    at: datetime
    actor: str
    status: IncidentStatus
    note: str | None = None


class IncidentRecord(BaseModel):
    """One occurrence of a problem as the store keeps it."""

    id: str
    """The occurrence (`Incident.id`): remediation's thread derives from it."""
    key: str
    """The problem across scans (`Incident.key`)."""
    occurrence: int
    kind: str
    pipeline: str | None
    models: list[str]
    features: list[str]
    probable_cause: str
    evidence: list[str]
    windows: list[datetime]
    """Window starts the occurrence was seen in, oldest first."""
    status: IncidentStatus
    first_seen: datetime
    last_seen: datetime
    """The world's clock at the first and the latest scan that saw it."""
    changed_by: str
    changed_at: datetime
    """Who moved it to `status`, and when."""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    action: str | None = None
    """The remediation action last run for it."""
    note: str | None = None
    """The note of the latest change (a close's reason, a run's summary)."""


class IncidentStore:
    """Occurrences and their status history, on the remediation store's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Use an open connection (autocommit; transactions are opened here)."""
        self._conn = conn

    def observe(self, incidents: list[Incident], now: datetime) -> list[Incident]:
        """Record a scan's incidents; return them with the ids of their occurrences.

        The problem's open occurrence is updated; a problem new or seen in a later window
        than its last occurrence, which is over (resolved or closed), opens an occurrence.
        Seen again in the same window, an occurrence that is over stays as it is (the scan
        read the window it was remediated for).
        """
        out = []
        with self._transaction():
            for incident in incidents:
                key = incident.key or incident.id
                latest = self._latest(key)
                if latest is None or (
                    latest.status in OVER and incident.window_start > max(latest.windows)
                ):
                    number = 1 if latest is None else latest.occurrence + 1
                    record = self._open(incident, key, number, now)
                elif latest.status in OVER:
                    record = latest
                else:
                    record = self._update(latest, incident, now)
                out.append(
                    incident.model_copy(
                        update={"id": record.id, "key": key, "occurrence": record.occurrence}
                    )
                )
        return out

    def get(self, incident_id: str) -> IncidentRecord:
        """One occurrence.

        Raises:
            NotFoundError: no such incident.
        """
        found = self.find(incident_id)
        if found is None:
            raise NotFoundError(
                f"unknown incident {incident_id!r}; `lotsen incidents list` shows them"
            )
        return found

    def find(self, incident_id: str) -> IncidentRecord | None:
        """One occurrence, or None."""
        row = self._conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else _record(row)

    def occurrences(self, status: IncidentStatus | None = None) -> list[IncidentRecord]:
        """Occurrences, most recently seen first, optionally by status."""
        rows = self._conn.execute(
            "SELECT * FROM incidents"
            + (" WHERE status = ?" if status else "")
            + " ORDER BY last_seen DESC, id",
            (status,) if status else (),
        ).fetchall()
        return [_record(r) for r in rows]

    def history(self, incident_id: str) -> list[IncidentEvent]:
        """An occurrence's status changes, oldest first."""
        rows = self._conn.execute(
            "SELECT at, actor, status, note FROM incident_events WHERE incident_id = ? "
            "ORDER BY rowid",
            (incident_id,),
        ).fetchall()
        return [IncidentEvent.model_validate(dict(r)) for r in rows]

    def transition(
        self,
        incident_id: str,
        status: IncidentStatus,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> IncidentRecord:
        """Move an occurrence to `status` as a person asks (acknowledge, close).

        Only an open occurrence is acknowledged (one being remediated has someone on it).

        Raises:
            NotFoundError: no such incident.
            ConflictError: the move is not allowed from its status (one line saying why).
        """
        with self._transaction():
            record = self.get(incident_id)
            allowed = TRANSITIONS[record.status]
            if status not in allowed or (status == "acknowledged" and record.status != "open"):
                raise ConflictError(_refusal(record, status))
            return self._set(record, status, actor, now, note)

    def follow_run(
        self,
        incident_id: str,
        status: Literal["remediating", "resolved", "open"],
        actor: str,
        now: datetime,
        action: str,
        note: str | None = None,
    ) -> None:
        """Move an occurrence along with its remediation run; a move not allowed is ignored.

        A run that leaves the status as it is (a watch, a data incident: still open) is
        recorded as a change by the run's proposer all the same, with its summary.

        `open` goes back to acknowledged for an acknowledged occurrence. An occurrence the
        store does not know (incidents not from a scan) or one already closed stays as it is.
        """
        with self._transaction():
            record = self.find(incident_id)
            if record is None:
                return
            target: IncidentStatus = (
                "acknowledged" if status == "open" and record.acknowledged_at else status
            )
            if target in TRANSITIONS[record.status] or (
                target == record.status and record.action != action
            ):  # the same status after another action (a watch, a data incident): noted too
                self._set(record, target, actor, now, note, action=action)

    # --- internals -----------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._conn.in_transaction:  # nested: the outer transaction decides
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _latest(self, key: str) -> IncidentRecord | None:
        row = self._conn.execute(
            "SELECT * FROM incidents WHERE key = ? ORDER BY occurrence DESC LIMIT 1", (key,)
        ).fetchone()
        return None if row is None else _record(row)

    def _open(self, incident: Incident, key: str, number: int, now: datetime) -> IncidentRecord:
        incident_id = occurrence_id(key, number)
        legacy = _legacy_id(incident)
        if (
            number == 1
            and self._conn.execute("SELECT 1 FROM runs WHERE incident_id = ?", (legacy,)).fetchone()
        ):  # remediated before ids were stable: keep its id, do not run it again
            incident_id = legacy
        note = None if number == 1 else f"recurred: occurrence {number}"
        self._conn.execute(
            "INSERT INTO incidents (id, key, occurrence, kind, pipeline, models, features, "
            "probable_cause, evidence, windows, status, first_seen, last_seen, changed_by, "
            "changed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
            (
                incident_id,
                key,
                number,
                incident.kind,
                incident.pipeline,
                json.dumps(incident.models),
                json.dumps(incident.features),
                incident.probable_cause,
                json.dumps(incident.evidence),
                json.dumps([incident.window_start.isoformat()]),
                now.isoformat(),
                now.isoformat(),
                MONITOR,
                now.isoformat(),
                note,
            ),
        )
        self._event(incident_id, now, MONITOR, "open", note)
        return self.get(incident_id)

    def _update(self, record: IncidentRecord, incident: Incident, now: datetime) -> IncidentRecord:
        windows = sorted({*record.windows, incident.window_start})
        self._conn.execute(
            "UPDATE incidents SET models = ?, features = ?, probable_cause = ?, evidence = ?, "
            "windows = ?, last_seen = ? WHERE id = ?",
            (
                json.dumps(incident.models),
                json.dumps(incident.features),
                incident.probable_cause,
                json.dumps(incident.evidence),
                json.dumps([w.isoformat() for w in windows]),
                now.isoformat(),
                record.id,
            ),
        )
        return self.get(record.id)

    def _set(
        self,
        record: IncidentRecord,
        status: IncidentStatus,
        actor: str,
        now: datetime,
        note: str | None,
        action: str | None = None,
    ) -> IncidentRecord:
        acked = status == "acknowledged" and record.acknowledged_at is None
        self._conn.execute(
            "UPDATE incidents SET status = ?, changed_by = ?, changed_at = ?, note = ?, "
            "action = coalesce(?, action), "
            "acknowledged_by = CASE WHEN ? THEN ? ELSE acknowledged_by END, "
            "acknowledged_at = CASE WHEN ? THEN ? ELSE acknowledged_at END WHERE id = ?",
            (
                status,
                actor,
                now.isoformat(),
                note,
                action,
                acked,
                actor,
                acked,
                now.isoformat(),
                record.id,
            ),
        )
        if status == "closed":  # the data incident opened for it is closed with it
            self._conn.execute(
                "UPDATE data_incidents SET status = 'closed' WHERE id = ?", (record.id,)
            )
        self._event(record.id, now, actor, status, note)
        return self.get(record.id)

    def _event(
        self, incident_id: str, now: datetime, actor: str, status: str, note: str | None
    ) -> None:
        self._conn.execute(
            "INSERT INTO incident_events VALUES (?, ?, ?, ?, ?)",
            (incident_id, now.isoformat(), actor, status, note),
        )


def _legacy_id(incident: Incident) -> str:
    """The id an incident had before ids were stable (its window hashed in)."""
    models = ",".join(incident.models)
    window = incident.window_start.isoformat()
    seen = f"{incident.kind}|{incident.pipeline}|{models}|{window}"
    return f"inc-{hashlib.sha1(seen.encode()).hexdigest()[:10]}"


def _record(row: sqlite3.Row) -> IncidentRecord:
    values = dict(row)
    for column in ("models", "features", "evidence", "windows"):
        values[column] = json.loads(values[column])
    return IncidentRecord.model_validate(values)


def _refusal(record: IncidentRecord, status: IncidentStatus) -> str:
    verb = {"acknowledged": "acknowledged", "closed": "closed"}.get(status, f"moved to {status}")
    since = f"{record.status} since {record.changed_at:%Y-%m-%d %H:%M} by {record.changed_by}"
    if record.status == "closed":
        return f"incident {record.id} is {since}: closed is final (a recurrence opens a new one)"
    return f"incident {record.id} is {since}; it cannot be {verb}"
