"""The approval queue: list, read, approve, reject (approvers; never their own proposal)."""

from fastapi import APIRouter, HTTPException, Request

from lotsen.service.api.common import ERRORS, Approver, Note, Viewer, with_world
from memory.approvals import ApprovalRequest, ApprovalStatus, same_person
from tools.errors import NotFoundError
from world.approvals import DecisionOutcome
from world.world import World

router = APIRouter(responses=ERRORS, tags=["approvals"])


@router.get("/approvals", summary="Approval requests")
def approvals(
    request: Request, who: Viewer, status: ApprovalStatus | None = None
) -> list[ApprovalRequest]:
    """Requests, oldest first (pending ones past their expiry are marked expired)."""

    def read(w: World) -> list[ApprovalRequest]:
        if not w.state.approvals_db.exists():
            return []
        return w.approvals.requests(w.clock(), status)

    return with_world(request, read)


@router.get("/approvals/{request_id}", summary="One approval request")
def approval(request: Request, request_id: str, who: Viewer) -> ApprovalRequest:
    """What the action does, the gate's verdict and reasons, its status (404: unknown)."""
    return with_world(request, lambda w: _get(w, request_id))


@router.post("/approvals/{request_id}/approve", summary="Approve a request")
def approve(
    request: Request, request_id: str, who: Approver, body: Note | None = None
) -> DecisionOutcome:
    """Approve as the caller; the proposing agent then acts (403: own proposal, 409: decided)."""
    return with_world(request, lambda w: _decide(w, request_id, who.name, True, body))


@router.post("/approvals/{request_id}/reject", summary="Reject a request")
def reject(
    request: Request, request_id: str, who: Approver, body: Note | None = None
) -> DecisionOutcome:
    """Reject as the caller, with an optional note (403: own proposal, 409: decided)."""
    return with_world(request, lambda w: _decide(w, request_id, who.name, False, body))


def _decide(
    world: World, request_id: str, name: str, approved: bool, body: Note | None
) -> DecisionOutcome:
    from world.approvals import decide

    approver = world.user(name, "approver")
    pending = _get(world, request_id)
    if same_person(approver, pending.proposer):
        raise HTTPException(
            403, f"four-eyes rule: {approver} proposed this change and cannot decide it"
        )
    return decide(world, request_id, approver, approved, body.note if body else None)


def _get(world: World, request_id: str) -> ApprovalRequest:
    if not world.state.approvals_db.exists():  # reading creates no store
        raise NotFoundError(f"unknown approval request {request_id!r}: none was ever queued")
    return world.approvals.get(request_id)
