"""The tamper-evident audit log: append-only, hash-chained records of decisions and actions.

Each record stores the hash of the previous one; its own hash covers its content and that
link. Editing, deleting or reordering any record breaks the chain, and `verify()` names the
first record where it breaks. SQLite triggers refuse UPDATE and DELETE, but verification
does not rely on them: someone with the file can drop triggers; they cannot fix the chain
without rewriting every later hash (and an exported head hash then gives them away).
"""

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.state_db import open_state_db

GENESIS = "0" * 64
_MIGRATIONS = (
    # 1: the chain
    """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
    model TEXT, incident TEXT, idempotency_key TEXT UNIQUE, data TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX audit_model ON audit (model, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
""",
)


class AuditRecord(BaseModel):
    """One audited fact."""

    seq: int
    at: datetime
    kind: str
    """decision, gate, approval_requested, approved, rejected, action, action_failed, ..."""
    actor: str
    """Agent, user or service that caused it."""
    model: str | None = None
    incident: str | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    """Evidence, tier, prompt hash, plan, result: whatever makes the record self-explaining."""
    prev_hash: str
    hash: str


class VerifyResult(BaseModel):
    """Outcome of `AuditLog.verify()`."""

    ok: bool
    records: int
    head: str
    """Hash of the last record (publish it elsewhere to detect a rewritten chain)."""
    problem: str = ""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """Hash of a record's content chained to the previous record's hash."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """Append-only audit records in a SQLite file."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = _utcnow) -> None:
        """Open or create the log."""
        self._conn = open_state_db(path, "lotsen.audit", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row
        self._clock = clock

    def append(
        self,
        kind: str,
        *,
        actor: str,
        data: Mapping[str, Any],
        model: str | None = None,
        incident: str | None = None,
        idempotency_key: str | None = None,
    ) -> AuditRecord:
        """Add a record; with an idempotency key already present, return that record instead."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if idempotency_key is not None:
                row = self._conn.execute(
                    "SELECT * FROM audit WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    self._conn.execute("ROLLBACK")
                    return _record(row)
            last = self._conn.execute(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            fields = {
                "seq": seq,
                "at": self._clock().isoformat(),
                "kind": kind,
                "actor": actor,
                "model": model,
                "incident": incident,
                "idempotency_key": idempotency_key,
                "data": dict(data),
            }
            digest = record_hash(prev, fields)
            self._conn.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    fields["at"],
                    kind,
                    actor,
                    model,
                    incident,
                    idempotency_key,
                    json.dumps(fields["data"], sort_keys=True, default=str),
                    prev,
                    digest,
                ),
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return AuditRecord.model_validate({**fields, "prev_hash": prev, "hash": digest})

    def records(self, model: str | None = None, incident: str | None = None) -> list[AuditRecord]:
        """Records in order, optionally for one model or incident."""
        query, args = "SELECT * FROM audit", []
        clauses = []
        if model is not None:
            clauses.append("model = ?")
            args.append(model)
        if incident is not None:
            clauses.append("incident = ?")
            args.append(incident)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        return [_record(row) for row in self._conn.execute(query + " ORDER BY seq", args)]

    def find(self, idempotency_key: str) -> AuditRecord | None:
        """The record written with this key, if any."""
        row = self._conn.execute(
            "SELECT * FROM audit WHERE idempotency_key = ?", (idempotency_key,)
        ).fetchone()
        return None if row is None else _record(row)

    def verify(self) -> VerifyResult:
        """Recompute the chain; report the first record that does not fit."""
        prev, count = GENESIS, 0
        for expected_seq, row in enumerate(
            self._conn.execute("SELECT * FROM audit ORDER BY seq"), start=1
        ):
            count += 1
            record = _record(row)
            if record.seq != expected_seq:
                return VerifyResult(
                    ok=False,
                    records=count,
                    head=prev,
                    problem=f"record {expected_seq} is missing (found {record.seq} instead)",
                )
            if record.prev_hash != prev:
                return VerifyResult(
                    ok=False,
                    records=count,
                    head=prev,
                    problem=f"record {record.seq} does not follow record {record.seq - 1}",
                )
            fields = record.model_dump(mode="json", exclude={"prev_hash", "hash"})
            fields["at"] = row["at"]
            if record_hash(prev, fields) != record.hash:
                return VerifyResult(
                    ok=False,
                    records=count,
                    head=prev,
                    problem=f"record {record.seq} was modified after it was written",
                )
            prev = record.hash
        return VerifyResult(ok=True, records=count, head=prev)

    def close(self) -> None:
        """Close the file."""
        self._conn.close()


def _record(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"],
        at=datetime.fromisoformat(row["at"]),
        kind=row["kind"],
        actor=row["actor"],
        model=row["model"],
        incident=row["incident"],
        idempotency_key=row["idempotency_key"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
