"""A performance drop confined to one segment, while the model's overall metric is healthy.

The rule (per model, on its newest window's segments, `tools.telemetry.segments`):

- a segment counts only with at least `min_rows` rows, `min_share` of the window's rows and
  `min_labelled` labelled rows: tiny segments never open an incident (their metric is noise);
- it dropped when its metric is worse than the model's reference metric by at least
  `drop_abs` (higher-is-better metrics such as auc) or `rise_rel` relative (lower-is-better
  metrics such as rmse, mape): stricter than the overall rule (0.03 / 15%) because a
  segment has fewer rows;
- only while the overall metric is healthy (no overall `performance_drop`): an overall drop
  is already an incident of its own.

The incident names the segment (`column=value`) and the features most shifted inside it:
each feature of the segment is compared with the model's reference and named when its
distance is material by the fleet scan's rule (normed Wasserstein >= max(0.15, 5 x noise
scale), Jensen-Shannon >= 0.15), largest first, at most `top_features`. With a shifted
feature the kind is `drift_with_performance_drop` (retrain, with or without review), without
one `concept_drift` (retrain with review): the decision table knows both.
"""

import hashlib
from datetime import datetime

from pydantic import BaseModel, Field

from tools.drift.histcompare import compare
from tools.drift.incidents import MATERIAL_RATIO, NOISE_Z, Incident, IncidentKind
from tools.drift.signals import FeatureSignal, ModelSignals
from tools.errors import NotFoundError
from tools.telemetry.segments import SegmentWindow, latest_segments, segment_bins
from tools.telemetry.store import ModelMeta, TelemetryStore


class SegmentRule(BaseModel):
    """When a segment's drop is an incident."""

    min_rows: int = Field(default=200, ge=1)
    min_share: float = Field(default=0.02, ge=0.0, le=1.0)
    min_labelled: int = Field(default=100, ge=1)
    drop_abs: float = Field(default=0.05, gt=0.0)
    rise_rel: float = Field(default=0.25, gt=0.0)
    top_features: int = Field(default=3, ge=1)


class SegmentDrop(BaseModel):
    """One segment whose metric dropped while the model's overall metric held."""

    model: str
    pipeline: str
    window_start: datetime
    column: str
    value: str
    rows: int
    share: float
    metric: str
    metric_value: float
    reference_metric: float
    features: list[FeatureSignal] = Field(default_factory=list)
    """Material shifts inside the segment, largest first."""

    @property
    def segment(self) -> str:
        """`column=value`, as incidents name it."""
        return f"{self.column}={self.value}"


def segment_drops(
    store: TelemetryStore, signals: list[ModelSignals], rule: SegmentRule | None = None
) -> list[SegmentDrop]:
    """Segments of the newest windows that dropped while their model's metric held."""
    rule = rule or SegmentRule()
    segs = latest_segments(store)
    if not segs:
        return []
    overall_drop = {s.model for s in signals if s.performance_drop}
    totals: dict[tuple[str, str], int] = {}
    for seg in segs:
        totals[(seg.model, seg.column)] = totals.get((seg.model, seg.column), 0) + seg.rows
    metas: dict[str, ModelMeta] = {}
    out = []
    for seg in segs:
        if seg.model in overall_drop or seg.metric_value is None:
            continue
        share = seg.rows / max(totals[(seg.model, seg.column)], 1)
        if seg.rows < rule.min_rows or share < rule.min_share:
            continue
        if seg.labelled_rows < rule.min_labelled:
            continue
        if seg.model not in metas:
            try:
                metas[seg.model] = store.model(seg.model)
            except NotFoundError:
                continue
        meta = metas[seg.model]
        if not _dropped(seg.metric_value, meta, rule):
            continue
        out.append(
            SegmentDrop(
                model=seg.model,
                pipeline=meta.pipeline,
                window_start=seg.window_start,
                column=seg.column,
                value=seg.value,
                rows=seg.rows,
                share=share,
                metric=meta.metric,
                metric_value=seg.metric_value,
                reference_metric=meta.reference_metric,
                features=_shifted(store, seg, rule),
            )
        )
    return out


def _dropped(value: float, meta: ModelMeta, rule: SegmentRule) -> bool:
    ref = meta.reference_metric
    if meta.higher_is_better:
        return ref - value >= rule.drop_abs
    return value - ref >= rule.rise_rel * abs(ref)


def _shifted(store: TelemetryStore, seg: SegmentWindow, rule: SegmentRule) -> list[FeatureSignal]:
    refs = {r.feature: r for r in store.references(seg.model)}
    found = []
    for b in segment_bins(store, seg):
        ref = refs.get(b.feature)
        if ref is None:
            continue
        signal = compare(ref, ref.counts, ref.sums, b.counts, b.sums)
        if signal is not None and _material(signal):
            found.append(signal)
    found.sort(key=lambda f: -f.score)
    return found[: rule.top_features]


def _material(f: FeatureSignal) -> bool:
    if f.test == "wasserstein":
        return f.score >= max(f.threshold * MATERIAL_RATIO, NOISE_Z * f.sample_margin)
    return f.score >= f.threshold * MATERIAL_RATIO


def segment_incidents(drops: list[SegmentDrop]) -> list[Incident]:
    """One incident per dropped segment, naming the segment and its most shifted features.

    The key is the kind, model and segment: the same segment seen again next scan updates
    the open incident.
    """
    out = []
    for d in drops:
        names = [f.feature for f in d.features]
        kind: IncidentKind = "drift_with_performance_drop" if names else "concept_drift"
        inside = (
            f"; inside it {', '.join(names)} shifted"
            if names
            else "; no input feature shifted inside it"
        )
        key = (
            f"inc-{hashlib.sha1(f'{kind}|segment|{d.model}|{d.segment}'.encode()).hexdigest()[:10]}"
        )
        evidence = [
            f"segment {d.segment}: {d.metric} {d.metric_value:.3f} "
            f"(reference {d.reference_metric:.3f}), {d.rows} rows ({d.share:.0%} of the window)",
            f"{d.model}: overall {d.metric} healthy",
            *(f"segment {d.segment}: {f.feature} {f.test} {f.score:.3f}" for f in d.features),
        ]
        out.append(
            Incident(
                id=key,
                key=key,
                kind=kind,
                probable_cause=f"performance dropped in segment {d.segment} of {d.model} "
                f"only ({d.metric} {d.metric_value:.3f} vs reference "
                f"{d.reference_metric:.3f}) while the overall metric is healthy{inside}",
                pipeline=d.pipeline,
                models=[d.model],
                features=names,
                window_start=d.window_start,
                evidence=evidence,
            )
        )
    return out
