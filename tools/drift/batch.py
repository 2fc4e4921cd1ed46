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
       w.labelled_rows, w.latency_p95_ms, w.requests_per_s, w.estimated_metric,
       w.estimate_reference
FROM models m JOIN latest l ON l.model = m.model
JOIN windows w ON w.model = m.model AND w.window_start = l.ws
ORDER BY m.model
"""


class CodedNames(Sequence[str]):
    """Feature names as integer codes into a small dictionary (no Python string per row)."""

    def __init__(self, codes: NDArray[np.int64], names: list[str]) -> None:
        """Wrap codes and the names they index."""
        self.codes, self.names = codes, names

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.codes)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        """The name of one row."""
        return self.names[int(self.codes[index])]

    def take(self, rows: I64) -> list[str]:
        """The names of the given rows."""
        names = self.names
        return [names[code] for code in self.codes[rows].tolist()]


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
    estimated_metric: F64 | None = None
    """The metric estimated from predictions while labels are delayed (NaN: none)."""
    estimate_reference: F64 | None = None
    """The same estimate on the reference (what `estimated_metric` is compared with)."""


@dataclass
class ScanBatch:
    """Everything a fleet scan needs, as arrays."""

    features: FeatureArrays
    models: ModelArrays


def load_batch(store: TelemetryStore, window_start: datetime | None = None) -> ScanBatch:
    """Read the latest window of every model (or the given window) from the store."""
    window, where, args = window_clause(window_start)
    feats = arrow_table(store, _FEATURES_SQL.format(window=window, where=where), args)
    models = arrow_table(store, _MODELS_SQL.format(window=window, where=where), args)
    arrays = model_arrays(models)
    index = {name: i for i, name in enumerate(arrays.model)}
    model_index = np.array([index[m] for m in feats.column("model").to_pylist()], dtype=np.int64)
    features = feature_arrays(feats, model_index, feats.column("feature").to_pylist())
    return ScanBatch(features=features, models=arrays)


def window_clause(window_start: datetime | None) -> tuple[str, str, list[object]]:
    """The window to read: SQL aggregate over `windows`, WHERE clause, parameters.

    Each model's latest window, or the one starting at `window_start`.
    """
    if window_start is None:
        return "max(window_start)", "", []
    return "min(window_start)", "WHERE window_start = ?", [window_start]


def feature_arrays(
    ref: pa.Table,
    model_index: I64,
    feature: Sequence[str],
    *,
    cur: pa.Table | None = None,
    source: I64 | None = None,
    order: I64 | None = None,
) -> FeatureArrays:
    """The (model, feature) rows of a features query as arrays.

    `ref` holds the reference columns; the window columns come from `cur` (default: `ref`),
    row for row, or re-ordered by `source` (for each reference row, the `cur` row holding
    its window; -1: none, which reads as a missing feature with empty histograms).
    """
    window = ref if cur is None else cur

    def counts(name: str) -> F64:
        return window_rows(list_matrix(window, name), source)

    def number(name: str, fill: float = 0.0) -> F64:
        return window_rows(column_vector(window, name), source, fill)

    return FeatureArrays(
        model_index=model_index,
        feature=feature,
        is_cat=column_vector(ref, "is_cat").astype(bool),
        ref_counts=list_matrix(ref, "rc"),
        ref_sums=list_matrix(ref, "rs"),
        ref_n=column_vector(ref, "rn"),
        ref_nulls=column_vector(ref, "rnull"),
        ref_std=column_vector(ref, "std"),
        n_unique=column_vector(ref, "n_unique"),
        importance=column_vector(ref, "importance"),
        cur_counts=counts("cc"),
        cur_sums=counts("cs"),
        cur_n=number("cn"),
        cur_nulls=number("cnull"),
        invalid=number("invalid"),
        missing=number("missing", fill=1.0).astype(bool),
        type_mismatch=number("type_mismatch").astype(bool),
        order=order,
    )


def window_rows(values: F64, source: I64 | None, fill: float = 0.0) -> F64:
    """`values` re-ordered to the reference rows (`fill` where a row has no window row)."""
    if source is None:
        return values
    hit = source >= 0
    out = np.full((len(source), *values.shape[1:]), fill)
    out[hit] = values[source[hit]]
    return out


def model_arrays(models: pa.Table) -> ModelArrays:
    """The rows of a models query (one per model, in table order) as arrays."""

    def num(name: str) -> F64:
        return column_vector(models, name)

    return ModelArrays(
        model=models.column("model").to_pylist(),
        pipeline=models.column("pipeline").to_pylist(),
        window_start=_timestamps(models.column("window_start")),
        deployed_at=_timestamps(models.column("deployed_at")),
        window_hours=num("window_hours"),
        rows=num("rows"),
        expected_rows=num("expected_rows"),
        freshness_lag_h=num("freshness_lag_h"),
        metric=models.column("metric").to_pylist(),
        metric_value=num("metric_value"),
        reference_metric=num("reference_metric"),
        higher_is_better=num("higher_is_better").astype(bool),
        latency_p95_ms=num("latency_p95_ms"),
        baseline_latency_ms=num("baseline_latency_ms"),
        estimated_metric=num("estimated_metric"),
        estimate_reference=num("estimate_reference"),
    )


def _timestamps(column: pa.ChunkedArray) -> list[datetime]:
    """A timestamp column as datetimes, each distinct value converted once.

    Arrow builds a zone-aware datetime in ~3 us; a fleet's models share a handful of window
    starts, so converting the distinct values and repeating them is ~100x faster.
    """
    if column.null_count:
        return list(column.to_pylist())
    coded = pc.dictionary_encode(column).combine_chunks()
    values = coded.dictionary.to_pylist()
    return [values[i] for i in coded.indices.to_pylist()]


def arrow_table(store: TelemetryStore, sql: str, args: list[object]) -> pa.Table:
    """A query's result as an Arrow table."""
    relation = store.db.sql(sql, params=args)
    assert relation is not None
    result = relation.to_arrow_table()
    assert result is not None
    return result


def column_vector(table: pa.Table, name: str) -> F64:
    """A scalar column as float64 (nulls as NaN, booleans as 0/1)."""
    column = table.column(name)
    if pa.types.is_boolean(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    filled = pc.cast(column, pa.float64()).fill_null(np.nan)
    return np.asarray(filled.to_numpy(), dtype=np.float64)


def list_matrix(table: pa.Table, name: str) -> F64:
    """A list column as a (rows x SLOTS) array: Arrow's flat value buffer, not copied."""
    column = table.column(name)
    # combine_chunks() copies even a single chunk (Arrow's Concatenate builds new buffers)
    lists = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values = lists.flatten() if lists.offset or lists.null_count else lists.values
    if len(values) != len(lists) * SLOTS:  # a sliced child buffer: flatten() copies it
        values = lists.flatten()
    return np.asarray(values.to_numpy(), dtype=np.float64).reshape(-1, SLOTS)
