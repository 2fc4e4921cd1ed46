"""Read-only console pages: fleet, GPU pools, incidents, compliance, eval reports, models."""

from html import escape
from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from lotsen.service.console.views import compliance as compliance_views
from lotsen.service.console.views import evals as eval_views
from lotsen.service.console.views import fleet as fleet_views
from lotsen.service.console.views import incidents as incident_views
from lotsen.service.console.web import PREFIX, error_page, principal_of, render, templates
from lotsen.service.deps import locked_world
from memory.incidents import IncidentStatus
from tools.errors import LotsenError, NotFoundError

router = APIRouter(prefix=PREFIX, include_in_schema=False)
STATUSES: tuple[str, ...] = get_args(IncidentStatus)
Text = Annotated[str | None, Query(max_length=200)]


@router.get("", response_class=RedirectResponse)
@router.get("/", response_class=RedirectResponse)
def home() -> Response:
    """The console opens on the chat page."""
    return RedirectResponse(f"{PREFIX}/chat", status_code=303)


@router.get("/fleet")
def fleet(request: Request, env: Text = None, q: Text = None) -> Response:
    """Every registered model with its deployments and open incidents."""
    who = principal_of(request)
    with locked_world(request) as world:
        view = fleet_views.fleet_view(world, env or None, q or None)
    return render(request, who, "fleet.html", "fleet", view=view, env_filter=env, query=q)


@router.get("/models/{name}")
def model(request: Request, name: str) -> Response:
    """One model: registry entry, deployments, incidents, approval requests, compliance."""
    who = principal_of(request)
    try:
        with locked_world(request) as world:
            page = fleet_views.model_page(world, name)
    except NotFoundError as exc:
        return error_page(request, who, 404, str(exc).splitlines()[0])
    return render(request, who, "model.html", "fleet", page=page)


@router.get("/pools")
def pools(request: Request) -> Response:
    """GPU node pools: allocation vs capacity vs use."""
    who = principal_of(request)
    with locked_world(request) as world:
        views = fleet_views.pool_views(world)
    return render(request, who, "pools.html", "pools", pools=views)


@router.get("/fragments/capacity")
def capacity(request: Request) -> Response:
    """The capacity plan of the pools page (loaded after the page: planning takes a while)."""
    from lotsen.service.console.views.capacity import capacity_view

    principal_of(request)
    try:
        with locked_world(request) as world:
            cap = capacity_view(world)
    except LotsenError as exc:
        message = str(exc).splitlines()[0]
        return Response(f"<p class='flash error'>{escape(message)}</p>", media_type="text/html")
    return templates().TemplateResponse(request, "_capacity.html", {"cap": cap})


@router.get("/incidents")
def incidents(request: Request, status: Text = None, model: Text = None) -> Response:
    """Incidents, newest first, optionally of one status or one model."""
    who = principal_of(request)
    if status and status not in STATUSES:
        return error_page(request, who, 422, f"unknown status {status!r}: use {STATUSES}")
    with locked_world(request) as world:
        rows = incident_views.incident_rows(world, status or None)  # type: ignore[arg-type]
    if model:
        rows = [r for r in rows if model in r.models]
    return render(
        request,
        who,
        "incidents.html",
        "incidents",
        rows=rows,
        statuses=STATUSES,
        status=status,
        model=model,
    )


@router.get("/incidents/{incident_id}")
def incident(request: Request, incident_id: str, done: Text = None) -> Response:
    """One incident: kind, models, probable cause, evidence, histograms, history."""
    who = principal_of(request)
    try:
        with locked_world(request) as world:
            page = incident_views.incident_page(world, incident_id)
    except NotFoundError as exc:
        return error_page(request, who, 404, str(exc))
    flash = "Acknowledged." if done == "acknowledged" else ""
    return render(
        request, who, "incident.html", "incidents", page=page, flash=flash, flash_kind="ok"
    )


@router.get("/compliance")
def compliance(request: Request, model: Text = None) -> Response:
    """Posture per policy and per model (or of one model)."""
    who = principal_of(request)
    try:
        with locked_world(request) as world:
            page = compliance_views.compliance_page(world, model or None)
    except LotsenError as exc:
        return error_page(request, who, 400, str(exc).splitlines()[0])
    return render(request, who, "compliance.html", "compliance", page=page, about=model)


@router.get("/evals")
def evals(request: Request) -> Response:
    """Eval runs written by `lotsen eval run`, newest first."""
    who = principal_of(request)
    data_dir = request.app.state.settings.data_dir
    rows = eval_views.run_rows(data_dir)
    where = eval_views.runs_dir(data_dir)
    return render(request, who, "evals.html", "evals", rows=rows, where=where)


@router.get("/evals/{name}")
def eval_run(request: Request, name: str) -> Response:
    """One eval run with its plots."""
    who = principal_of(request)
    try:
        page = eval_views.run_page(request.app.state.settings.data_dir, name)
    except LotsenError as exc:
        return error_page(request, who, 404, str(exc).splitlines()[0])
    return render(request, who, "eval_run.html", "evals", page=page)
