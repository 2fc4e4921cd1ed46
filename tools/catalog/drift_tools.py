"""Drift now: the newest telemetry window scanned, read only (nothing is recorded).

One definition of "drifting" for the assistant's tier 0 and every LLM tier: a model is
drifting when the drift engine groups it into a drift incident (input drift that matters,
with or without a performance drop) or a concept-drift incident (performance dropped while
inputs did not). A data-quality break is not drift: it is reported as its own incident.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tools.catalog.context import ToolContext
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool

if TYPE_CHECKING:  # numpy, DuckDB and Arrow: imported when a drift question is asked
    from tools.drift.incidents import Incident
    from tools.drift.signals import ModelSignals
    from tools.telemetry.store import TelemetryStore

DRIFT_KINDS = frozenset({"covariate_drift", "drift_with_performance_drop", "concept_drift"})
"""Incident kinds that mean "the model is drifting"."""


class FeatureScore(BaseModel):
    """One feature's drift test on the newest window."""

    feature: str
    test: str
    score: float
    threshold: float
    drifted: bool


class ModelDrift(BaseModel):
    """One model's drift now."""

    model: str
    pipeline: str
    drifting: bool
    drifted_features: list[str]
    performance_drop: bool
    metric: str
    metric_value: float | None
    reference_metric: float | None
    incident: str | None
    """The incident (id) the model is part of, if any."""
    scores: list[FeatureScore] = Field(default_factory=list)
    estimated_drop: bool = False
    """The metric estimated from predictions (labels delayed) fell past the limit."""
    estimated_metric: float | None = None
    estimate_reference: float | None = None


class IncidentBrief(BaseModel):
    """An incident of the newest window, as the scan groups it."""

    id: str
    kind: str
    pipeline: str | None
    models: list[str]
    features: list[str]
    cause: str


class DriftNow(BaseModel):
    """Drift across the fleet (or the asked models) in the newest window."""

    window_start: datetime
    scanned: int
    drifting: list[ModelDrift]
    """Drifting models (all asked models when `models` was given)."""
    incidents: list[IncidentBrief]
    """Every incident of the window (data-quality breaks and latency too)."""


def drift_now(
    store: "TelemetryStore",
    models: list[str] | None = None,
    feature: str | None = None,
    pipeline: str | None = None,
) -> DriftNow | None:
    """Scan the newest window (read only); None when there is no telemetry.

    Args:
        store: The telemetry store.
        models: Only these models (each is reported, drifting or not).
        feature: Only models where this feature drifted.
        pipeline: Only models fed by this pipeline.
    """
    from tools.drift.incidents import group_incidents
    from tools.drift.stream import stream_scan

    latest = store.latest_window()
    if latest is None:
        return None
    scanned = stream_scan(store, detail=True)  # blocks of models: memory stays bounded
    signals = scanned.signals
    incidents = group_incidents([s for s in signals if s.anomalous])
    member = {m: i for i in incidents for m in i.models}
    drifting = {m for i in incidents if i.kind in DRIFT_KINDS for m in i.models}
    rows = []
    for s in sorted(signals, key=lambda s: s.model):
        if models is not None and s.model not in models:
            continue
        if models is None and s.model not in drifting:
            continue
        if pipeline is not None and s.pipeline != pipeline:
            continue
        if feature is not None and feature not in s.drifted_features:
            continue
        rows.append(_model(s, s.model in drifting, member.get(s.model)))
    return DriftNow(
        window_start=latest,
        scanned=scanned.models,
        drifting=rows,
        incidents=[
            IncidentBrief(
                id=i.id,
                kind=i.kind,
                pipeline=i.pipeline,
                models=i.models,
                features=i.features,
                cause=i.probable_cause,
            )
            for i in incidents
        ],
    )


def _model(s: "ModelSignals", drifting: bool, incident: "Incident | None") -> ModelDrift:
    return ModelDrift(
        model=s.model,
        pipeline=s.pipeline,
        drifting=drifting,
        drifted_features=list(s.drifted_features),
        performance_drop=s.performance_drop,
        metric=s.metric,
        metric_value=s.metric_value,
        reference_metric=s.reference_metric,
        incident=incident.id if incident else None,
        estimated_drop=s.estimated_drop,
        estimated_metric=s.estimated_metric,
        estimate_reference=s.estimate_reference,
        scores=[
            FeatureScore(
                feature=f.feature,
                test=f.test,
                score=round(f.score, 4),
                threshold=round(f.threshold, 4),
                drifted=f.drifted,
            )
            for f in s.features
            if f.drifted
        ],
    )


class DriftArgs(BaseModel):
    """Filters for drift_status."""

    models: list[str] | None = Field(
        default=None, description="Only these models (each reported, drifting or not)."
    )
    feature: str | None = Field(default=None, description="Only models where this feature drifted.")
    pipeline: str | None = Field(default=None, description="Only models fed by this pipeline.")


@tool()
def drift_status(ctx: ToolContext, args: DriftArgs) -> ToolResult:
    """Scan the newest telemetry window now: drifting models, feature scores, incidents.

    Read only (nothing is recorded). Without `models`, only drifting models are listed; a
    data-quality break is an incident, not drift.
    """
    if ctx.telemetry is None:
        return ToolResult.empty("no telemetry in this world")
    found = drift_now(ctx.telemetry(), args.models, args.feature, args.pipeline)
    if found is None:
        return ToolResult.empty("no telemetry window yet")
    return ToolResult.ok(found.model_dump(mode="json"))
