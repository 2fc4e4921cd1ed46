"""Building a scan batch straight from profiles (no database): ingest-time checks, benchmarks."""

from dataclasses import dataclass

import numpy as np

from tools.drift.batch import FeatureArrays, ModelArrays, ScanBatch
from tools.telemetry.binning import FeatureKind, FeatureReference, FeatureWindow
from tools.telemetry.store import ModelMeta, WindowFacts


@dataclass(frozen=True)
class ModelWindow:
    """One model's reference and one current window."""

    meta: ModelMeta
    references: list[FeatureReference]
    window: list[FeatureWindow]
    facts: WindowFacts


def batch_from_profiles(items: list[ModelWindow]) -> ScanBatch:
    """Arrays for `scan()` from in-memory profiles (features matched by name)."""
    refs = [
        (i, r, _window_for(item, r.feature))
        for i, item in enumerate(items)
        for r in item.references
    ]
    f64 = np.float64
    features = FeatureArrays(
        model_index=np.array([i for i, _, _ in refs], dtype=np.int64),
        feature=[r.feature for _, r, _ in refs],
        is_cat=np.array([r.kind is FeatureKind.CATEGORICAL for _, r, _ in refs], dtype=bool),
        ref_counts=np.array([r.counts for _, r, _ in refs], dtype=f64).reshape(len(refs), -1),
        ref_sums=np.array([r.sums for _, r, _ in refs], dtype=f64).reshape(len(refs), -1),
        ref_n=np.array([r.n for _, r, _ in refs], dtype=f64),
        ref_nulls=np.array([r.nulls for _, r, _ in refs], dtype=f64),
        ref_std=np.array([r.std for _, r, _ in refs], dtype=f64),
        n_unique=np.array([r.n_unique for _, r, _ in refs], dtype=f64),
        importance=np.ones(len(refs)),
        cur_counts=np.array([w.counts for _, _, w in refs], dtype=f64).reshape(len(refs), -1),
        cur_sums=np.array([w.sums for _, _, w in refs], dtype=f64).reshape(len(refs), -1),
        cur_n=np.array([w.n for _, _, w in refs], dtype=f64),
        cur_nulls=np.array([w.nulls for _, _, w in refs], dtype=f64),
        invalid=np.array([w.invalid for _, _, w in refs], dtype=f64),
        missing=np.array([w.missing for _, _, w in refs], dtype=bool),
        type_mismatch=np.array([w.type_mismatch for _, _, w in refs], dtype=bool),
    )
    metas = [item.meta for item in items]
    facts = [item.facts for item in items]
    models = ModelArrays(
        model=[m.model for m in metas],
        pipeline=[m.pipeline for m in metas],
        window_start=[f.window_start for f in facts],
        deployed_at=[m.deployed_at for m in metas],
        window_hours=np.array([m.window_hours for m in metas]),
        rows=np.array([f.rows for f in facts], dtype=f64),
        expected_rows=np.array([m.expected_rows for m in metas], dtype=f64),
        freshness_lag_h=np.array([f.freshness_lag_h for f in facts]),
        metric=[m.metric for m in metas],
        metric_value=np.array([_or_nan(f.metric_value) for f in facts]),
        reference_metric=np.array([m.reference_metric for m in metas]),
        higher_is_better=np.array([m.higher_is_better for m in metas], dtype=bool),
        latency_p95_ms=np.array([f.latency_p95_ms for f in facts]),
        baseline_latency_ms=np.array([m.baseline_latency_ms for m in metas]),
        estimated_metric=np.array([_or_nan(f.estimated_metric) for f in facts]),
        estimate_reference=np.array([_or_nan(f.estimate_reference) for f in facts]),
    )
    return ScanBatch(features=features, models=models)


def _window_for(item: ModelWindow, feature: str) -> FeatureWindow:
    for w in item.window:
        if w.feature == feature:
            return w
    return FeatureWindow(
        feature=feature,
        counts=[0.0] * len(item.references[0].counts),
        sums=[0.0] * len(item.references[0].counts),
        n=0,
        nulls=0,
        missing=True,
    )


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else value
