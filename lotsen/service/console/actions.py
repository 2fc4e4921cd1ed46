"""Console pages that change something: approval decisions, incident acknowledgement.

Every form carries the session's CSRF token; the identity recorded is the
logged-in user's, never a form field; the server refuses a role that may not act, whatever
the page showed.
"""

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from lotsen.service.auth import Principal, verify_csrf
from lotsen.service.console.views import approvals as approval_views
from lotsen.service.console.web import PREFIX, error_page, principal_of, render, role_label
from lotsen.service.deps import locked_world
from tools.errors import ConflictError, LotsenError, NotFoundError

router = APIRouter(prefix=PREFIX, include_in_schema=False)
STATUSES = ("pending", "approved", "rejected", "expired", "all")
Note = Annotated[str, Form(max_length=2000)]
Token = Annotated[str, Form(max_length=200)]
FLASH = {
    "approved": "Approved: the proposing agent has acted on it.",
    "rejected": "Rejected: nothing is done.",
}


def _refused(request: Request, who: Principal, role: str) -> Response | None:
    """A 403 page when `who` lacks `role`, else None."""
    if who.has(role):
        return None
    return error_page(request, who, 403, f"{who.name} ({role_label(who)}) may not act as {role}")


@router.get("/approvals")
def inbox(request: Request, status: Annotated[str, Query(max_length=20)] = "pending") -> Response:
    """Approval requests (pending by default), with approve/reject for approvers."""
    who = principal_of(request)
    if status not in STATUSES:
        return error_page(request, who, 422, f"unknown status {status!r}: use {STATUSES}")
    with locked_world(request) as world:
        views = approval_views.approval_views(
            world,
            who.name,
            who.has("approver"),
            None if status == "all" else status,  # type: ignore[arg-type]
        )
    return render(
        request,
        who,
        "approvals.html",
        "approvals",
        views=views,
        status=None if status == "all" else status,
        statuses=STATUSES,
    )


@router.get("/fragments/pending")
def pending_count(request: Request) -> Response:
    """The nav bar's count of pending requests (htmx loads it and refreshes it)."""
    principal_of(request)
    with locked_world(request) as world:
        count = len(approval_views.approval_views(world, "", False))
    text = f'<span class="badge pending" title="pending approvals">{count}</span>' if count else ""
    return Response(text, media_type="text/html")


@router.get("/approvals/{request_id}")
def approval(
    request: Request, request_id: str, done: Annotated[str, Query(max_length=20)] = ""
) -> Response:
    """One request: what it does, the gate's reasons, the decision."""
    who = principal_of(request)
    try:
        with locked_world(request) as world:
            view = approval_views.approval_view(world, request_id, who.name, who.has("approver"))
    except NotFoundError as exc:
        return error_page(request, who, 404, str(exc).splitlines()[0])
    return render(
        request,
        who,
        "approval.html",
        "approvals",
        v=view,
        flash=FLASH.get(done, ""),
        flash_kind="ok",
    )


@router.post("/approvals/{request_id}/decide")
def decide(
    request: Request,
    request_id: str,
    decision: Annotated[Literal["approve", "reject"], Form()],
    csrf_token: Token = "",
    note: Note = "",
) -> Response:
    """Approve or reject as the logged-in approver (never the proposer: four eyes)."""
    who = principal_of(request)
    verify_csrf(request, csrf_token)
    refused = _refused(request, who, "approver")
    if refused is not None:
        return refused
    from world.approvals import decide as decide_request

    approved = decision == "approve"
    try:
        with locked_world(request) as world:
            decide_request(world, request_id, who.name, approved, note.strip() or None)
    except NotFoundError as exc:
        return error_page(request, who, 404, str(exc).splitlines()[0])
    except ConflictError as exc:
        return _conflict(request, who, request_id, str(exc).splitlines()[0])
    done = "approved" if approved else "rejected"
    return RedirectResponse(f"{PREFIX}/approvals/{quote(request_id)}?done={done}", status_code=303)


def _conflict(request: Request, who: Principal, request_id: str, message: str) -> Response:
    """The request's page again, saying why the decision was refused (409)."""
    try:
        with locked_world(request) as world:
            view = approval_views.approval_view(world, request_id, who.name, who.has("approver"))
    except LotsenError:
        return error_page(request, who, 409, message)
    return render(
        request,
        who,
        "approval.html",
        "approvals",
        status_code=409,
        v=view,
        flash=message,
        flash_kind="error",
    )


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge(
    request: Request, incident_id: str, csrf_token: Token = "", note: Note = ""
) -> Response:
    """Acknowledge an open incident as the logged-in operator."""
    who = principal_of(request)
    verify_csrf(request, csrf_token)
    refused = _refused(request, who, "operator")
    if refused is not None:
        return refused
    from world.incidents import acknowledge as acknowledge_incident

    try:
        with locked_world(request) as world:
            acknowledge_incident(world, incident_id, who.name, note.strip() or None)
    except NotFoundError as exc:
        return error_page(request, who, 404, str(exc).splitlines()[0])
    except ConflictError as exc:
        return error_page(request, who, 409, str(exc).splitlines()[0])
    return RedirectResponse(f"{PREFIX}/incidents/{quote(incident_id)}?done=acknowledged", 303)
