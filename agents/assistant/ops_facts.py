"""Read-only facts from the remediation workflow's state: data incidents, approvals."""

from datetime import datetime

from pydantic import BaseModel

from agents.assistant.context import FleetView
from memory.remediation import DataIncident


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
    return [r for r in store.data_incidents() if r.status == "open"]


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
