"""Loading a fleet scan's input from the telemetry store as flat numpy arrays."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.telemetry.binning import SLOTS
from tools.telemetry.store import TelemetryStore

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

_FEATURES_SQL = f"""
WITH latest AS (
    SELECT model, {{window}} AS ws FROM windows {{where}} GROUP BY model)
SELECT r.model, r.feature, r.kind = 'categorical' AS is_cat, r.counts AS rc, r.sums AS rs,
       r.n AS rn, r.nulls AS rnull, r.std, r.n_unique, r.importance,
       coalesce(w.counts, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cc,
       coalesce(w.sums, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cs,
       coalesce(w.n, 0) AS cn, coalesce(w.nulls, 0) AS cnull, coalesce(w.invalid, 0) AS invalid,
       coalesce(w.missing, true) AS missing, coalesce(w.type_mismatch, false) AS type_mismatch
FROM reference r
JOIN models m ON m.model = r.model AND m.version = r.version
JOIN latest l ON l.model = r.model
LEFT JOIN window_bins w ON w.model = r.model AND w.feature = r.feature AND w.window_start = l.ws
ORDER BY r.model, r.feature
"""

_MODELS_SQL = """
WITH latest AS (SELECT model, {window} AS ws FROM windows {where} GROUP BY model)
SELECT m.*, w.window_start, w.rows, w.freshness_lag_h, w.schema_fingerprint, w.metric_value,
       w.labelled_rows, w.latency_p95_ms, w.requests_per_s
FROM models m JOIN latest l ON l.model = m.model
JOIN windows w ON w.model = m.model AND w.window_start = l.ws
ORDER BY m.model
"""


@dataclass
class FeatureArrays:
    """One row per (model, feature), models in sorted order."""

    model_index: I64
    feature: Sequence[str]
    is_cat: B
    ref_counts: F64
    ref_sums: F64
    ref_n: F64
    ref_nulls: F64
    ref_std: F64
    n_unique: F64
    importance: F64
    cur_counts: F64
    cur_sums: F64
    cur_n: F64
    cur_nulls: F64
    invalid: F64
    missing: B
    type_mismatch: B
    order: I64 | None = None
    """Rows grouped by model in the order results list them (None: row order). A streamed
    block keeps DuckDB's row order for the arrays and only sorts this index."""

    @property
    def rows(self) -> int:
        """Number of (model, feature) rows."""
        return len(self.feature)


@dataclass
class ModelArrays:
    """One row per model: the window facts and what they are compared with."""

    model: list[str]
    pipeline: list[str]
    window_start: list[datetime]
    deployed_at: list[datetime]
    window_hours: F64
    rows: F64
    expected_rows: F64
    freshness_lag_h: F64
    metric: list[str]
    metric_value: F64
    reference_metric: F64
    higher_is_better: B
    latency_p95_ms: F64
    baseline_latency_ms: F64


@dataclass
class ScanBatch:
    """Everything a fleet scan needs, as arrays."""

    features: FeatureArrays
    models: ModelArrays


def load_batch(store: TelemetryStore, window_start: datetime | None = None) -> ScanBatch:
    """Read the latest window of every model (or the given window) from the store."""
    window, where = "max(window_start)", ""
    args: list[object] = []
    if window_start is not None:
        window, where, args = "min(window_start)", "WHERE window_start = ?", [window_start]
    feats = _arrow(store, _FEATURES_SQL.format(window=window, where=where), args)
    models = _arrow(store, _MODELS_SQL.format(window=window, where=where), args)
    names = models.column("model").to_pylist()
    index = {name: i for i, name in enumerate(names)}
    return ScanBatch(
        features=FeatureArrays(
            model_index=np.array(
                [index[m] for m in feats.column("model").to_pylist()], dtype=np.int64
            ),
            feature=feats.column("feature").to_pylist(),
            is_cat=_np(feats, "is_cat").astype(bool),
            ref_counts=_matrix(feats, "rc"),
            ref_sums=_matrix(feats, "rs"),
            ref_n=_np(feats, "rn"),
            ref_nulls=_np(feats, "rnull"),
            ref_std=_np(feats, "std"),
            n_unique=_np(feats, "n_unique"),
            importance=_np(feats, "importance"),
            cur_counts=_matrix(feats, "cc"),
            cur_sums=_matrix(feats, "cs"),
            cur_n=_np(feats, "cn"),
            cur_nulls=_np(feats, "cnull"),
            invalid=_np(feats, "invalid"),
            missing=_np(feats, "missing").astype(bool),
            type_mismatch=_np(feats, "type_mismatch").astype(bool),
        ),
        models=ModelArrays(
            model=names,
            pipeline=models.column("pipeline").to_pylist(),
            window_start=models.column("window_start").to_pylist(),
            deployed_at=models.column("deployed_at").to_pylist(),
            window_hours=_np(models, "window_hours"),
            rows=_np(models, "rows"),
            expected_rows=_np(models, "expected_rows"),
            freshness_lag_h=_np(models, "freshness_lag_h"),
            metric=models.column("metric").to_pylist(),
            metric_value=_np(models, "metric_value"),
            reference_metric=_np(models, "reference_metric"),
            higher_is_better=_np(models, "higher_is_better").astype(bool),
            latency_p95_ms=_np(models, "latency_p95_ms"),
            baseline_latency_ms=_np(models, "baseline_latency_ms"),
        ),
    )


def _arrow(store: TelemetryStore, sql: str, args: list[object]) -> pa.Table:
    relation = store.db.sql(sql, params=args)
    assert relation is not None
    result = relation.to_arrow_table()
    assert result is not None
    return result


def _np(table: pa.Table, name: str) -> F64:
    column = table.column(name)
    if pa.types.is_boolean(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(pc.cast(column, pa.float64()).fill_null(np.nan).to_numpy(), dtype=np.float64)


def _matrix(table: pa.Table, name: str) -> F64:
    flat = pc.list_flatten(table.column(name)).to_numpy()
    return np.asarray(flat, dtype=np.float64).reshape(-1, SLOTS)
