"""Fleet scans from pre-binned counts for `lotsen bench drift` (in memory, plus a DuckDB read)."""

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from tools.drift.batch import FeatureArrays, ModelArrays, ScanBatch, load_batch
from tools.drift.engine import DriftConfig, feature_tests, scan
from tools.telemetry.binning import SLOTS
from tools.telemetry.store import TelemetryStore

NOW = datetime(2026, 11, 3, tzinfo=UTC)


class FleetTiming(BaseModel):
    """A fleet scan from pre-binned counts."""

    models: int
    features: int
    compute_s: float
    """All statistics for every (model, feature) row: the vectorised core."""
    scan_s: float
    """compute plus data-quality checks and building the per-model results."""
    load_s: float | None = None
    """Reading the batch from the DuckDB store (when measured)."""


def fleet_timing(models: int, features: int = 30, with_store: bool = True) -> FleetTiming:
    """Time a fleet scan on synthetic pre-binned counts (and reading them from DuckDB)."""
    batch = synthetic_batch(models, features, np.random.default_rng(models))
    start = time.perf_counter()
    feature_tests(batch.features, DriftConfig())
    compute = time.perf_counter() - start
    start = time.perf_counter()
    scan(batch)
    scanned = time.perf_counter() - start
    load = _store_round_trip(batch) if with_store else None
    return FleetTiming(
        models=models, features=features, compute_s=compute, scan_s=scanned, load_s=load
    )


def synthetic_batch(models: int, features: int, rng: np.random.Generator) -> ScanBatch:
    """Pre-binned counts for models x features; 2% of rows drift."""
    rows = models * features
    p = rng.dirichlet(np.full(SLOTS, 8.0), size=rows)
    p[:, 0] = p[:, -1] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    q = p.copy()
    drift = rng.random(rows) < 0.02
    q[drift] = np.roll(q[drift], 3, axis=1)
    q[:, 0] = q[:, -1] = 0.0
    q /= q.sum(axis=1, keepdims=True)
    centers = np.linspace(-3, 3, SLOTS)
    ref, cur = rng.multinomial(5000, p).astype(float), rng.multinomial(5000, q).astype(float)
    ones, n = np.ones(rows), np.full(rows, 5000.0)
    f = FeatureArrays(
        model_index=np.repeat(np.arange(models), features),
        feature=[f"f{j:02d}" for j in range(features)] * models,
        is_cat=rng.random(rows) < 0.2,
        ref_counts=ref,
        ref_sums=ref * centers,
        ref_n=n,
        ref_nulls=0 * ones,
        ref_std=ones,
        n_unique=n,
        importance=ones,
        cur_counts=cur,
        cur_sums=cur * centers,
        cur_n=n,
        cur_nulls=0 * ones,
        invalid=0 * ones,
        missing=np.zeros(rows, dtype=bool),
        type_mismatch=np.zeros(rows, dtype=bool),
    )
    m_ones = np.ones(models)
    m = ModelArrays(
        model=[f"m{i:05d}" for i in range(models)],
        pipeline=["p"] * models,
        window_start=[NOW] * models,
        deployed_at=[NOW - timedelta(days=30)] * models,
        window_hours=24 * m_ones,
        rows=5000 * m_ones,
        expected_rows=5000 * m_ones,
        freshness_lag_h=m_ones,
        metric=["auc"] * models,
        metric_value=0.9 * m_ones,
        reference_metric=0.9 * m_ones,
        higher_is_better=np.ones(models, dtype=bool),
        latency_p95_ms=10 * m_ones,
        baseline_latency_ms=10 * m_ones,
    )
    return ScanBatch(features=f, models=m)


def _store_round_trip(batch: ScanBatch) -> float:
    """Write the batch into an in-memory store, then time reading it back for a scan."""
    store = TelemetryStore(":memory:")
    f, m = batch.features, batch.models
    names = [m.model[i] for i in f.model_index]
    lists = pa.list_(pa.float64())
    store.bulk_insert(
        "models",
        pa.table(
            {
                "model": m.model,
                "version": [1] * len(m.model),
                "pipeline": m.pipeline,
                "metric": m.metric,
                "reference_metric": m.reference_metric,
                "higher_is_better": m.higher_is_better,
                "baseline_latency_ms": m.baseline_latency_ms,
                "deployed_at": m.deployed_at,
                "expected_rows": m.expected_rows.astype(np.int64),
                "window_hours": m.window_hours,
            }
        ),
    )
    store.bulk_insert(
        "reference",
        pa.table(
            {
                "model": names,
                "version": [1] * f.rows,
                "feature": f.feature,
                "kind": np.where(f.is_cat, "categorical", "numeric"),
                "edges": pa.array([[]] * f.rows, lists),
                "categories": pa.array([[]] * f.rows, pa.list_(pa.string())),
                "counts": pa.array(list(f.ref_counts), lists),
                "sums": pa.array(list(f.ref_sums), lists),
                "n": f.ref_n.astype(np.int64),
                "nulls": f.ref_nulls.astype(np.int64),
                "mean": f.ref_std * 0,
                "std": f.ref_std,
                "n_unique": f.n_unique.astype(np.int64),
                "importance": f.importance,
            }
        ),
    )
    store.bulk_insert(
        "window_bins",
        pa.table(
            {
                "model": names,
                "window_start": [NOW] * f.rows,
                "feature": f.feature,
                "counts": pa.array(list(f.cur_counts), lists),
                "sums": pa.array(list(f.cur_sums), lists),
                "n": f.cur_n.astype(np.int64),
                "nulls": f.cur_nulls.astype(np.int64),
                "invalid": f.invalid.astype(np.int64),
                "missing": f.missing,
                "type_mismatch": f.type_mismatch,
            }
        ),
    )
    store.bulk_insert(
        "windows",
        pa.table(
            {
                "model": m.model,
                "window_start": m.window_start,
                "rows": m.rows.astype(np.int64),
                "freshness_lag_h": m.freshness_lag_h,
                "schema_fingerprint": [""] * len(m.model),
                "metric_value": m.metric_value,
                "labelled_rows": m.rows.astype(np.int64),
                "latency_p95_ms": m.latency_p95_ms,
                "requests_per_s": m.window_hours * 0,
            }
        ),
    )
    start = time.perf_counter()
    load_batch(store)
    return time.perf_counter() - start
