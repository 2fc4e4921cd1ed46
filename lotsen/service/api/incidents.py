"""Incidents (with their evidence and reference-vs-current histograms), and fleet scans."""

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel

from lotsen.service import metrics
from lotsen.service.api.common import ERRORS, Note, Operator, RequiredNote, Viewer, with_world
from memory.incidents import IncidentEvent, IncidentRecord, IncidentStatus
from tools.errors import NotFoundError
from world.world import World

router = APIRouter(responses=ERRORS, tags=["incidents"])
MAX_MODELS = 5
MAX_FEATURES = 12


class FeatureHistogram(BaseModel):
    """One feature of one model: the reference bins and the newest window's bins."""

    model: str
    feature: str
    kind: str
    edges: list[float]
    """Bin edges of a numeric feature (empty for a categorical one)."""
    categories: list[str]
    """Categories of a categorical feature (empty for a numeric one)."""
    reference: list[float]
    current: list[float]
    """Counts per bin of the newest window (empty: no window)."""
    drifted: bool
    """Whether the incident names the feature."""


class IncidentDetail(BaseModel):
    """One incident occurrence with its history, evidence and histograms."""

    incident: IncidentRecord
    history: list[IncidentEvent]
    histograms: list[FeatureHistogram]
    approvals: list[str]
    """Approval requests raised for it."""


class ScanResult(BaseModel):
    """A fleet scan's outcome."""

    models: int
    features: int
    seconds: float
    incidents: list[str]
    """Ids of the incident occurrences the scan saw."""


@router.get("/incidents", summary="Incident occurrences")
def incidents(
    request: Request, who: Viewer, status: IncidentStatus | None = None
) -> list[IncidentRecord]:
    """Every occurrence (or those in `status`), most recently seen first."""
    from world.incidents import incident_store

    def read(w: World) -> list[IncidentRecord]:
        store = incident_store(w)
        rows = store.occurrences(status) if store is not None else []
        return sorted(rows, key=lambda r: (r.last_seen, r.id), reverse=True)

    return with_world(request, read)


@router.get("/incidents/{incident_id}", summary="One incident with evidence and histograms")
def incident(request: Request, incident_id: str, who: Viewer) -> IncidentDetail:
    """Kind, models, probable cause, evidence, history, histograms (404: unknown)."""
    return with_world(request, lambda w: _detail(w, incident_id))


@router.post("/incidents/{incident_id}/acknowledge", summary="Acknowledge an incident")
def acknowledge(
    request: Request, incident_id: str, who: Operator, body: Note | None = None
) -> IncidentRecord:
    """Acknowledge an open incident as the caller (409: not open)."""
    from world.incidents import acknowledge as ack

    note = body.note if body else None
    return with_world(request, lambda w: ack(w, incident_id, who.name, note))


@router.post("/incidents/{incident_id}/close", summary="Close an incident")
def close(request: Request, incident_id: str, who: Operator, body: RequiredNote) -> IncidentRecord:
    """Close an incident for good, saying why (409: closed already)."""
    from world.incidents import close as close_incident

    return with_world(request, lambda w: close_incident(w, incident_id, who.name, body.note))


@router.post("/scans", summary="Scan the fleet now")
def scan(request: Request, who: Operator) -> ScanResult:
    """Scan the newest window of every model and record the incidents it finds."""
    from world.monitoring import scan_fleet

    started = time.perf_counter()

    def run(w: World) -> ScanResult:
        w.user(who.name, "operator")
        report = scan_fleet(w)
        return ScanResult(
            models=report.models,
            features=report.features,
            seconds=report.seconds,
            incidents=[i.id for i in report.incidents],
        )

    result = with_world(request, run)
    metrics.observe_scan(time.perf_counter() - started, result.models)
    return result


def _detail(world: World, incident_id: str) -> IncidentDetail:
    from world.incidents import incident_store

    store = incident_store(world)
    if store is None:
        raise NotFoundError(f"unknown incident {incident_id!r}: no scan has recorded incidents")
    record = store.get(incident_id)
    approvals = []
    if world.state.approvals_db.exists():
        approvals = [
            r.id for r in world.approvals.requests(world.clock()) if r.incident_id == record.id
        ]
    histograms = [
        h for m in record.models[:MAX_MODELS] for h in _histograms(world, m, record.features)
    ]
    return IncidentDetail(
        incident=record,
        history=store.history(record.id),
        histograms=histograms,
        approvals=approvals,
    )


def _histograms(world: World, model: str, features: list[str]) -> list[FeatureHistogram]:
    try:
        references = world.telemetry.references(model)
    except NotFoundError:
        return []
    rows = world.telemetry.db.execute(
        "SELECT feature, counts FROM window_bins WHERE model = ? AND window_start = "
        "(SELECT max(window_start) FROM window_bins WHERE model = ?)",
        [model, model],
    ).fetchall()
    current = {str(f): [float(c) for c in counts] for f, counts in rows}
    wanted = [r for r in references if r.feature in features] or references
    return [
        FeatureHistogram(
            model=model,
            feature=r.feature,
            kind=str(r.kind),
            edges=list(r.edges),
            categories=list(r.categories),
            reference=list(r.counts),
            current=current.get(r.feature, []),
            drifted=r.feature in features,
        )
        for r in wanted[:MAX_FEATURES]
    ]
