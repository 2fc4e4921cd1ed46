"""A fleet scan in bounded memory: blocks of models streamed from DuckDB into numpy via Arrow.

`load_batch` reads the whole fleet at once (100k models x 30 features is 3.3 GB of
histograms). Here the sorted model list is cut into blocks of `block_models`; each block is
one query without ORDER BY: its list columns become (rows x slots) arrays straight from
Arrow's value buffers, rows stay in DuckDB's order, and only an index of the rows sorted by
(model, feature) (from integer codes) orders the results. A block is scanned and dropped
before the next block is read. The false-discovery-rate cutoff is set once from every
block's p-values, so the result is exactly `scan(load_batch(store))`. Known gap: the
100k-model bench still peaks at 4.2 GB after the scan (lotsen bench scan), so something
still grows with the fleet; the per-block arrays themselves are ~130 MB.

A block is either a range of model names (the store is clustered by model, so DuckDB skips
the other row groups) or a hash partition `hash(model) % parts = part` (what separate
workers use: `tools.drift.ray_engine`, the indexed Kubernetes Job in deploy/).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.drift.batch import (
    ScanBatch,
    arrow_table,
    feature_arrays,
    model_arrays,
    window_clause,
)
from tools.drift.engine import DriftConfig, scan_partial, with_fdr_cutoff
from tools.drift.signals import ModelSignals
from tools.telemetry.binning import SLOTS
from tools.telemetry.store import TelemetryStore

BLOCK_MODELS = 4096
"""Models per streamed block: ~120k feature rows, ~130 MB of arrays at 34 slots."""

_LATEST = "SELECT model, {window} AS ws FROM windows {where} GROUP BY model"
_MODEL_NAMES = f"SELECT model FROM ({_LATEST}) ORDER BY model"
_FEATURES = f"""
WITH latest AS ({{latest}}),
ref AS (SELECT * FROM reference WHERE {{ref_block}}),
cur AS (SELECT * FROM window_bins WHERE {{cur_block}})
SELECT r.model, r.feature, r.kind = 'categorical' AS is_cat, r.counts AS rc, r.sums AS rs,
       r.n AS rn, r.nulls AS rnull, r.std, r.n_unique, r.importance,
       coalesce(w.counts, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cc,
       coalesce(w.sums, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cs,
       coalesce(w.n, 0) AS cn, coalesce(w.nulls, 0) AS cnull, coalesce(w.invalid, 0) AS invalid,
       coalesce(w.missing, true) AS missing, coalesce(w.type_mismatch, false) AS type_mismatch
FROM ref r
JOIN models m ON m.model = r.model AND m.version = r.version
JOIN latest l ON l.model = r.model
LEFT JOIN cur w ON w.model = r.model AND w.feature = r.feature AND w.window_start = l.ws
"""
"""Every table is filtered by the block before the joins: the hash join builds on one
block's window rows, not on every window of the fleet."""
_MODELS = f"""
WITH latest AS ({_LATEST})
SELECT m.*, w.window_start, w.rows, w.freshness_lag_h, w.schema_fingerprint, w.metric_value,
       w.labelled_rows, w.latency_p95_ms, w.requests_per_s
FROM models m JOIN latest l ON l.model = m.model
JOIN windows w ON w.model = m.model AND w.window_start = l.ws
WHERE {{block}}
"""


@dataclass(frozen=True)
class Block:
    """Which models one query reads: a name range [first, last] or a hash partition."""

    first: str | None = None
    last: str | None = None
    part: int = 0
    parts: int = 1

    def where(self, column: str) -> tuple[str, list[object]]:
        """SQL condition on `column` and its parameters."""
        if self.first is not None and self.last is not None:
            return f"{column} BETWEEN ? AND ?", [self.first, self.last]
        return f"hash({column}) % ? = ?", [self.parts, self.part]


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


def model_names(store: TelemetryStore, window_start: datetime | None = None) -> list[str]:
    """Every model with a window to scan, sorted."""
    window, where, args = window_clause(window_start)
    table = arrow_table(store, _MODEL_NAMES.format(window=window, where=where), args)
    return [str(name) for name in table.column("model").to_pylist()]


def blocks(names: Sequence[str], block_models: int = BLOCK_MODELS) -> Iterator[Block]:
    """Name ranges of at most `block_models` models over a sorted name list."""
    for start in range(0, len(names), block_models):
        chunk = names[start : start + block_models]
        yield Block(first=chunk[0], last=chunk[-1])


def load_block(
    store: TelemetryStore, block: Block, window_start: datetime | None = None
) -> ScanBatch:
    """One block of the fleet as a scan batch, models sorted, features sorted within a model."""
    window, where, args = window_clause(window_start)
    models_where, models_args = block.where("m.model")
    models = arrow_table(
        store,
        _MODELS.format(window=window, where=where, block=models_where),
        args + models_args,
    )
    models = models.take(pc.sort_indices(models, sort_keys=[("model", "ascending")]))
    latest_where, latest_args = block.where("model")
    if window_start is not None:
        latest_where, latest_args = (
            f"{latest_where} AND window_start = ?",
            [
                *latest_args,
                window_start,
            ],
        )
    ref_where, ref_args = block.where("model")
    cur_where, cur_args = block.where("model")
    feats = arrow_table(
        store,
        _FEATURES.format(
            latest=f"SELECT model, {window} AS ws FROM windows WHERE {latest_where} GROUP BY model",
            ref_block=ref_where,
            cur_block=cur_where,
        ),
        latest_args + ref_args + cur_args,
    )
    model_index = np.asarray(
        pc.index_in(feats.column("model"), value_set=models.column("model")).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.int64,
    )
    coded = pc.dictionary_encode(feats.column("feature")).combine_chunks()
    names = [str(n) for n in coded.dictionary.to_pylist()]
    rank = np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"))
    codes = np.asarray(coded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    order = np.lexsort((rank[codes] if len(names) else codes, model_index))
    features = feature_arrays(feats, model_index, CodedNames(codes, names), order)
    return ScanBatch(features=features, models=model_arrays(models))


def scan_blocks(
    store: TelemetryStore,
    parts: Sequence[Block],
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    detail: bool = False,
) -> tuple[list[ModelSignals], NDArray[np.float64]]:
    """Scan the given blocks one after the other: signals (no cutoff yet) and p-values."""
    config = config or DriftConfig()
    signals: list[ModelSignals] = []
    p_values = [np.empty(0)]
    for block in parts:
        found, p = scan_partial(load_block(store, block, window_start), config, detail=detail)
        signals.extend(found)
        p_values.append(p)
    return signals, np.concatenate(p_values)


def scan_store(
    store: TelemetryStore,
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    block_models: int = BLOCK_MODELS,
    detail: bool = False,
) -> list[ModelSignals]:
    """`scan(load_batch(store))` in blocks of `block_models` models: memory stays bounded."""
    config = config or DriftConfig()
    names = model_names(store, window_start)
    signals, p_values = scan_blocks(
        store, list(blocks(names, block_models)), config, window_start=window_start, detail=detail
    )
    return with_fdr_cutoff(signals, p_values, config)
