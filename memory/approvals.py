"""The one approval queue: every agent's proposals that wait for a human.

A request stores the exact `ProposedAction`s, the proposing agent, the proposer, the gate's
verdict and reasons, its expiry and an opaque resume handle (the remediation graph's thread,
the capacity plan's action, ...). Ids are generated, never derived from other ids. A
proposal is queued once per idempotency key while it is live; an expired one can be
proposed anew. Deciding is atomic: of two concurrent decisions exactly one wins.
"""

import hashlib
import json
import secrets
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter

from tools.errors import ConflictError, NotFoundError
from tools.policy.action import ProposedAction, Verdict
from tools.state_db import open_state_db

ApprovalStatus = Literal["pending", "approved", "rejected", "expired"]
Agent = Literal["remediation", "capacity", "assistant"]

_MIGRATIONS = (
    """
CREATE TABLE requests (
  id TEXT PRIMARY KEY, key TEXT NOT NULL, agent TEXT NOT NULL, action TEXT NOT NULL,
  actions TEXT NOT NULL, models TEXT NOT NULL, reasons TEXT NOT NULL, verdict TEXT NOT NULL,
  proposer TEXT NOT NULL, incident_id TEXT, handle TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, status TEXT NOT NULL,
  decided_by TEXT, decided_at TEXT, note TEXT, executed_at TEXT, result TEXT);
CREATE UNIQUE INDEX live_key ON requests(key) WHERE status != 'expired';
CREATE INDEX by_status ON requests(status, created_at);
""",
    # 2: the hash of the exact actions (and handle) as proposed; an approval binds it
    "ALTER TABLE requests ADD COLUMN action_sha256 TEXT;",
)
_ACTIONS = TypeAdapter(list[ProposedAction])


class Decision(BaseModel):
    """A human's decision on a request: the one shape from queue to audit to version tag."""

    request_id: str
    approved: bool
    by: str
    """Who decided (never the proposer)."""
    at: datetime
    note: str | None = None
    action_sha256: str | None = None
    """The exact actions decided on (`action_digest`); None for requests of older releases."""

    def tag(self) -> str:
        """The value recorded on a model version the decision let through."""
        return f"{self.request_id} by {self.by}"


class ApprovalRequest(BaseModel):
    """A proposal waiting for (or decided by) a human."""

    id: str
    key: str
    """Idempotency key of the proposal: the same proposal is queued once while live."""
    agent: Agent
    action: str
    """What it does, in a few words (e.g. `retrain`, `capacity scale`)."""
    actions: list[ProposedAction] = Field(default_factory=list)
    """The exact actions, as the gate reviewed them."""
    models: list[str]
    reasons: list[str]
    """Why a human must decide (the gate's reasons)."""
    verdict: Verdict
    proposer: str
    incident_id: str | None = None
    handle: str = ""
    """Opaque to the queue: how the proposing agent resumes (graph thread, plan action)."""
    created_at: datetime
    expires_at: datetime
    status: ApprovalStatus
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    executed_at: datetime | None = None
    result: str | None = None
    """What executing the approved actions did."""
    action_sha256: str | None = None
    """`action_digest` of `actions` and `handle` when proposed (None: an older release's)."""

    def intact(self) -> bool:
        """Whether the stored actions are still exactly those proposed (and reviewed)."""
        return self.action_sha256 is None or self.action_sha256 == action_digest(
            self.actions, self.handle
        )

    def decision(self) -> Decision | None:
        """The decision, once there is one."""
        if self.status not in ("approved", "rejected") or self.decided_by is None:
            return None
        assert self.decided_at is not None
        return Decision(
            request_id=self.id,
            approved=self.status == "approved",
            by=self.decided_by,
            at=self.decided_at,
            note=self.note,
            action_sha256=self.action_sha256,
        )


class NewRequest(BaseModel):
    """What an agent submits to the queue."""

    key: str
    agent: Agent
    action: str
    actions: list[ProposedAction]
    models: list[str]
    reasons: list[str]
    verdict: Verdict
    proposer: str
    incident_id: str | None = None
    handle: str = ""


def action_digest(actions: list[ProposedAction], handle: str) -> str:
    """SHA-256 of the canonical form of what a request would do (its actions and handle).

    Who proposed is not part of it (the request records the proposer for four eyes): a run
    resumed by another process does the same thing whoever resumes it.
    """
    canonical = json.dumps(
        {
            "actions": _ACTIONS.dump_python(
                actions, mode="json", exclude={"__all__": {"proposer"}}
            ),
            "handle": handle,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def same_person(a: str, b: str) -> bool:
    """Whether two recorded names are one person (case and spaces do not make a second)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class ApprovalQueue:
    """SQLite queue of approval requests."""

    def __init__(self, path: Path) -> None:
        """Open or create the queue."""
        self._conn = open_state_db(path, "lotsen.approvals", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row

    def submit(self, new: NewRequest, now: datetime, ttl: timedelta) -> ApprovalRequest:
        """Queue a proposal, or return its live request (same key) unchanged."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._expire(now)
            live = self._live(new.key)
            if live is None:
                live = "apr-" + secrets.token_hex(5)
                self._conn.execute(
                    "INSERT INTO requests (id, key, agent, action, actions, models, reasons, "
                    "verdict, proposer, incident_id, handle, created_at, expires_at, status, "
                    "action_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (
                        live,
                        new.key,
                        new.agent,
                        new.action,
                        _ACTIONS.dump_json(new.actions).decode(),
                        json.dumps(new.models),
                        json.dumps(new.reasons),
                        new.verdict,
                        new.proposer,
                        new.incident_id,
                        new.handle,
                        now.isoformat(),
                        (now + ttl).isoformat(),
                        action_digest(new.actions, new.handle),
                    ),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.get(live)

    def get(self, request_id: str) -> ApprovalRequest:
        """One request."""
        row = self._conn.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"unknown approval request {request_id!r}; `lotsen approvals list` shows them"
            )
        return _request(row)

    def by_key(self, key: str) -> ApprovalRequest | None:
        """The newest request of a proposal, if any."""
        row = self._conn.execute(
            "SELECT * FROM requests WHERE key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (key,),
        ).fetchone()
        return None if row is None else _request(row)

    def requests(
        self,
        now: datetime,
        status: ApprovalStatus | None = None,
        agent: Agent | None = None,
    ) -> list[ApprovalRequest]:
        """Requests, oldest first (pending ones past their expiry are marked expired first)."""
        self._expire(now)
        where: list[str] = []
        args: list[str] = []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if agent is not None:
            where.append("agent = ?")
            args.append(agent)
        sql = "SELECT * FROM requests" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._conn.execute(sql + " ORDER BY created_at, rowid", args).fetchall()
        return [_request(r) for r in rows]

    def decide(
        self, request_id: str, approver: str, approved: bool, now: datetime, note: str | None
    ) -> ApprovalRequest:
        """Record a decision atomically, enforcing four eyes and expiry.

        Raises:
            NotFoundError: unknown request.
            ConflictError: already decided, expired, or the approver proposed it.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            request = self.get(request_id)
            self._check_decidable(request, approver, approved, now)
            self._record(request_id, approver, approved, now, note)
            self._conn.execute("COMMIT")
        except ConflictError:
            self._conn.execute("COMMIT")  # keeps an expiry recorded by the check
            raise
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.get(request_id)

    def expire(self, request_ids: list[str], now: datetime) -> list[str]:
        """Expire pending requests now (e.g. their world is replaced); return those expired."""
        expired = []
        for request_id in request_ids:
            cursor = self._conn.execute(
                "UPDATE requests SET status = 'expired', expires_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (now.isoformat(), request_id),
            )
            if cursor.rowcount:
                expired.append(request_id)
        return expired

    def mark_executed(self, request_id: str, now: datetime, result: str) -> ApprovalRequest:
        """Record what executing an approved request did (once; later calls keep the first)."""
        self._conn.execute(
            "UPDATE requests SET executed_at = ?, result = ? "
            "WHERE id = ? AND status = 'approved' AND executed_at IS NULL",
            (now.isoformat(), result, request_id),
        )
        return self.get(request_id)

    def adopt(self, requests: list[ApprovalRequest]) -> int:
        """Take over requests kept elsewhere by an older release (ids kept); return how many."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for r in requests:
                data = r.model_dump(mode="json")
                data["action_sha256"] = r.action_sha256 or action_digest(r.actions, r.handle)
                data["actions"] = _ACTIONS.dump_json(r.actions).decode()
                data["models"], data["reasons"] = json.dumps(r.models), json.dumps(r.reasons)
                columns = ", ".join(data)
                marks = ", ".join("?" * len(data))
                self._conn.execute(
                    f"INSERT OR IGNORE INTO requests ({columns}) VALUES ({marks})",
                    list(data.values()),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return len(requests)

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def _record(
        self, request_id: str, approver: str, approved: bool, now: datetime, note: str | None
    ) -> None:
        updated = self._conn.execute(
            "UPDATE requests SET status = ?, decided_by = ?, decided_at = ?, note = ? "
            "WHERE id = ? AND status = 'pending'",
            ("approved" if approved else "rejected", approver, now.isoformat(), note, request_id),
        )
        if updated.rowcount != 1:
            raise ConflictError(f"approval {request_id} was decided by someone else just now")

    def _check_decidable(
        self, request: ApprovalRequest, approver: str, approved: bool, now: datetime
    ) -> None:
        if approved and not request.intact():
            raise ConflictError(
                f"approval {request.id} is void: its stored actions changed after they were "
                "proposed and reviewed; reject it and let the agent propose anew"
            )
        if request.status != "pending":
            raise ConflictError(f"approval {request.id} is already {request.status}")
        if now > request.expires_at:
            self._conn.execute("UPDATE requests SET status = 'expired' WHERE id = ?", (request.id,))
            raise ConflictError(
                f"approval {request.id} expired at {request.expires_at:%Y-%m-%d %H:%M}; "
                "the proposing agent proposes it anew on its next run"
            )
        if same_person(approver, request.proposer):
            raise ConflictError(
                f"four-eyes rule: {approver} proposed this change and cannot approve it; "
                "ask someone else"
            )

    def _live(self, key: str) -> str | None:
        row = self._conn.execute(
            "SELECT id FROM requests WHERE key = ? AND status != 'expired'", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _expire(self, now: datetime) -> None:
        self._conn.execute(
            "UPDATE requests SET status = 'expired' WHERE status = 'pending' AND expires_at < ?",
            (now.isoformat(),),
        )


def _request(row: sqlite3.Row) -> ApprovalRequest:
    data = dict(row)
    data["actions"] = _ACTIONS.validate_json(data["actions"])
    data["models"], data["reasons"] = json.loads(data["models"]), json.loads(data["reasons"])
    return ApprovalRequest.model_validate(data)
