"""Read-only facts from the remediation workflow's state: data incidents, approvals."""

import json
from datetime import datetime

from pydantic import BaseModel

from agents.assistant.context import FleetView


class DataIncident(BaseModel):
    """An open data incident (from the remediation workflow)."""

    id: str
    pipeline: str | None
    models: list[str]
    owner: str | None
    opened_at: datetime
    cause: str


class PendingApproval(BaseModel):
    """A plan waiting for a human."""

    id: str
    action: str
    models: list[str]
    reasons: list[str]
    proposer: str
    expires_at: datetime


def open_data_incidents(view: FleetView) -> list[DataIncident] | None:
    """Open data incidents; None when no remediation state is available."""
    store = view.ctx.store
    if store is None:
        return None
    rows = [r for r in store.data_incidents() if r["status"] == "open"]
    return [
        DataIncident(
            id=str(r["id"]),
            pipeline=None if r["pipeline"] is None else str(r["pipeline"]),
            models=json.loads(str(r["models"])),
            owner=None if r["owner"] is None else str(r["owner"]),
            opened_at=datetime.fromisoformat(str(r["opened_at"])),
            cause=str(r["cause"]),
        )
        for r in rows
    ]


def pending_approvals(view: FleetView) -> list[PendingApproval] | None:
    """Approval requests still pending; None when no approval queue is available."""
    queue = view.ctx.approvals
    if queue is None:
        return None
    return [
        PendingApproval(
            id=a.id,
            action=a.action,
            models=a.models,
            reasons=a.reasons,
            proposer=a.proposer,
            expires_at=a.expires_at,
        )
        for a in queue.requests(view.ctx.clock(), "pending")
    ]
