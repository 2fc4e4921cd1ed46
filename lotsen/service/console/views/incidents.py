"""The incidents list and one incident's page: what broke, where, why, and the histograms."""

from pydantic import BaseModel

from lotsen.service.console.svg import Histogram, bin_labels, trimmed
from memory.incidents import IncidentEvent, IncidentRecord, IncidentStatus
from tools.errors import NotFoundError
from world.incidents import incident_store
from world.world import World

MAX_MODELS = 3
"""Models whose histograms an incident page draws (the rest are listed)."""
MAX_FEATURES = 6
"""Features drawn per model."""


class ModelHistograms(BaseModel):
    """One model's reference-vs-current histograms for the incident's features."""

    model: str
    histograms: list[Histogram]
    note: str = ""
    """Why there are none (no telemetry for the model, ...)."""


class IncidentPage(BaseModel):
    """Everything the incident page shows."""

    incident: IncidentRecord
    history: list[IncidentEvent]
    models: list[ModelHistograms]
    approvals: list[str]
    """Ids of approval requests raised for this incident."""


def incident_rows(world: World, status: IncidentStatus | None = None) -> list[IncidentRecord]:
    """Every incident occurrence (or those in `status`), newest first."""
    store = incident_store(world)
    if store is None:
        return []
    rows = store.occurrences(status)
    return sorted(rows, key=lambda r: (r.last_seen, r.id), reverse=True)


def incident_page(world: World, incident_id: str) -> IncidentPage:
    """One incident with its history, histograms and approval requests.

    Raises:
        NotFoundError: no such incident.
    """
    store = incident_store(world)
    if store is None:
        raise NotFoundError(f"unknown incident {incident_id!r}: no scan has recorded incidents")
    record = store.get(incident_id)
    approvals = []
    if world.state.approvals_db.exists():
        approvals = [
            r.id for r in world.approvals.requests(world.clock()) if r.incident_id == record.id
        ]
    return IncidentPage(
        incident=record,
        history=store.history(record.id),
        models=[histograms(world, m, record.features) for m in record.models[:MAX_MODELS]],
        approvals=approvals,
    )


def histograms(world: World, model: str, features: list[str]) -> ModelHistograms:
    """Reference vs newest-window histograms of `features` (or the model's first few)."""
    from tools.telemetry.binning import SLOTS

    store = world.telemetry
    try:
        references = store.references(model)
    except NotFoundError:
        return ModelHistograms(model=model, histograms=[], note="no reference telemetry")
    current = _current_bins(world, model)
    wanted = [r for r in references if r.feature in features] or references
    out = []
    for ref in wanted[:MAX_FEATURES]:
        counts, nulls = current.get(ref.feature, ([], 0.0))
        counts = counts + [0.0] * (SLOTS - len(counts))
        ref_counts = list(ref.counts) + [0.0] * (SLOTS - len(ref.counts))
        h = Histogram(
            feature=ref.feature,
            labels=[*bin_labels(ref.edges, ref.categories, SLOTS), "null"],
            reference=[*ref_counts[:SLOTS], float(ref.nulls)],
            current=[*counts[:SLOTS], nulls],
            drifted=ref.feature in features,
            model=model,
        )
        out.append(trimmed(h))
    note = "" if current else "no current window"
    return ModelHistograms(model=model, histograms=out, note=note)


def _current_bins(world: World, model: str) -> dict[str, tuple[list[float], float]]:
    """Feature -> (slot counts, nulls) of the model's newest window."""
    rows = world.telemetry.db.execute(
        "SELECT feature, counts, nulls FROM window_bins WHERE model = ? AND window_start = "
        "(SELECT max(window_start) FROM window_bins WHERE model = ?)",
        [model, model],
    ).fetchall()
    return {
        str(feature): ([float(c) for c in counts or []], float(nulls or 0))
        for feature, counts, nulls in rows
    }
