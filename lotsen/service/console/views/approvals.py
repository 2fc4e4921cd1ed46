"""The approvals inbox: what each request would do, why a human must decide, who may."""

from pydantic import BaseModel

from memory.approvals import ApprovalRequest, ApprovalStatus, same_person
from tools.policy.action import ActionKind, ProposedAction
from world.world import World

_DOES: dict[ActionKind, str] = {
    ActionKind.SET_ALIAS: "point @{alias} of {model} at version {version}",
    ActionKind.ROLLBACK: "roll {model}'s @champion back to the previous version",
    ActionKind.RETRAIN: "train a challenger of {model} (promotion is decided separately)",
    ActionKind.SCALE: "scale {namespace}/{deployment} to {replicas} replica(s)",
    ActionKind.RESIZE: "change the GPU request of {namespace}/{deployment}",
    ActionKind.MOVE: "re-place the replicas of {namespace}/{deployment} on other GPUs",
    ActionKind.SUBMIT_JOB: "submit or reschedule a job in {namespace} for {model}",
}


class ApprovalView(BaseModel):
    """One request as the inbox shows it, with what the viewer may do about it."""

    request: ApprovalRequest
    does: list[str]
    """One line per exact action: what approving it would do."""
    can_decide: bool
    why_not: str = ""
    """Why the logged-in user may not decide (empty when they may)."""


def describe(action: ProposedAction) -> str:
    """What an action does, in words an approver can check against the request."""
    template = _DOES.get(action.kind, action.kind.value)
    text = template.format(
        alias=action.alias or "?",
        model=action.model or "?",
        version=action.version if action.version is not None else "?",
        namespace=action.namespace or "?",
        deployment=action.deployment or "?",
        replicas=action.replicas if action.replicas is not None else "?",
    )
    return f"{text}: {action.detail}" if action.detail else text


def may_decide(request: ApprovalRequest, user: str, is_approver: bool) -> str:
    """Why `user` may not decide `request` (empty string: they may).

    The queue enforces the same rules when the decision is recorded; this only tells the
    page which buttons to offer.
    """
    if not is_approver:
        return "only approvers decide"
    if request.status != "pending":
        return f"already {request.status}"
    if same_person(user, request.proposer):
        return "you proposed this change (four eyes: someone else decides)"
    return ""


def approval_views(
    world: World, user: str, is_approver: bool, status: ApprovalStatus | None = "pending"
) -> list[ApprovalView]:
    """Requests in `status` (all when None), newest first, with what `user` may do."""
    if not world.state.approvals_db.exists():
        return []
    requests = world.approvals.requests(world.clock(), status)
    return [view(r, user, is_approver) for r in reversed(requests)]


def approval_view(world: World, request_id: str, user: str, is_approver: bool) -> ApprovalView:
    """One request.

    Raises:
        NotFoundError: no such request.
    """
    from tools.errors import NotFoundError

    if not world.state.approvals_db.exists():
        raise NotFoundError(f"unknown approval {request_id!r}")
    world.approvals.requests(world.clock(), "pending")  # marks expired ones first
    return view(world.approvals.get(request_id), user, is_approver)


def view(request: ApprovalRequest, user: str, is_approver: bool) -> ApprovalView:
    """The view of one request for `user`."""
    why_not = may_decide(request, user, is_approver)
    return ApprovalView(
        request=request,
        does=[describe(a) for a in request.actions] or [request.action],
        can_decide=not why_not,
        why_not=why_not,
    )
