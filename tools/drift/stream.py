"""A fleet scan in bounded memory: blocks of models streamed from DuckDB into numpy via Arrow.

`load_batch` reads the whole fleet at once (100k models x 30 features is 3.3 GB of
histograms). Here the sorted model list is cut into blocks of `block_models`; each block is
two queries without ORDER BY or join of histograms (reference rows, current-window rows):
their list columns become (rows x slots) arrays straight from Arrow's value buffers, window
rows are matched to reference rows on (model, feature) codes in numpy (no copy when they
already line up), and only an index of the rows sorted by (model, feature) orders the
results. A block is scanned and dropped while the next one is read (`scan_blocks`). The
false-discovery-rate cutoff is set once from every block's p-values, so the result is
exactly `scan(load_batch(store))`. What stays in memory over a scan: at most two blocks
(~75 MB of arrays each at 2,048 models), the flagged models' signals (~3 kB each) and
DuckDB's buffer pool, a cache of the pages read that grows up to DuckDB's `memory_limit`
(80% of RAM unless set).

A block is either a range of model names (the store is clustered by model, so DuckDB skips
the other row groups) or a hash partition `hash(model) % parts = part` (what separate
workers use: `tools.drift.ray_engine`, the indexed Kubernetes Job in deploy/).
"""

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.drift.batch import (
    I64,
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

BLOCK_MODELS = 2048
"""Models per streamed block: ~61k feature rows, ~70 MB of arrays at 34 slots (as fast as
4,096, which needs twice the memory; 8,192 is slower)."""

_LATEST = "SELECT model, {window} AS ws FROM windows {where} GROUP BY model"
_MODEL_NAMES = f"SELECT model FROM ({_LATEST}) ORDER BY model"
_REFERENCE = """
WITH latest AS ({latest})
SELECT r.model, r.feature, r.kind = 'categorical' AS is_cat, r.counts AS rc, r.sums AS rs,
       r.n AS rn, r.nulls AS rnull, r.std, r.n_unique, r.importance
FROM reference r
SEMI JOIN (SELECT m.model, m.version FROM models m JOIN latest l ON l.model = m.model) k
    ON k.model = r.model AND k.version = r.version
WHERE {block}
"""
"""The block's reference rows of the registered version of each model with a window."""
_CURRENT = f"""
WITH latest AS ({{latest}})
SELECT w.model, w.feature,
       coalesce(w.counts, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cc,
       coalesce(w.sums, list_resize([]::DOUBLE[], {SLOTS}, 0.0)) AS cs,
       coalesce(w.n, 0) AS cn, coalesce(w.nulls, 0) AS cnull, coalesce(w.invalid, 0) AS invalid,
       coalesce(w.missing, true) AS missing, coalesce(w.type_mismatch, false) AS type_mismatch
FROM window_bins w
SEMI JOIN latest l ON l.model = w.model AND l.ws = w.window_start
WHERE {{block}}
"""
"""The block's current-window rows. Reference and window rows are matched in numpy on
(model, feature) codes: a join in DuckDB copied every histogram list into its hash table and
doubled the query's cost. Only the semi-joins' small key sides are hashed."""
_MODELS = f"""
WITH latest AS ({_LATEST})
SELECT m.*, w.window_start, w.rows, w.freshness_lag_h, w.schema_fingerprint, w.metric_value,
       w.labelled_rows, w.latency_p95_ms, w.requests_per_s, w.estimated_metric,
       w.estimate_reference
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
        latest_where = f"{latest_where} AND window_start = ?"
        latest_args = [*latest_args, window_start]
    latest = f"SELECT model, {window} AS ws FROM windows WHERE {latest_where} GROUP BY model"
    ref_where, ref_args = block.where("r.model")
    ref = arrow_table(
        store, _REFERENCE.format(latest=latest, block=ref_where), latest_args + ref_args
    )
    cur_where, cur_args = block.where("w.model")
    cur = arrow_table(
        store, _CURRENT.format(latest=latest, block=cur_where), latest_args + cur_args
    )
    model_index = _index_in(ref.column("model"), models.column("model"))
    coded = pc.dictionary_encode(ref.column("feature")).combine_chunks()
    names = [str(n) for n in coded.dictionary.to_pylist()]
    codes = np.asarray(coded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    rank = np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"))
    order = np.lexsort((rank[codes] if len(names) else codes, model_index))
    width = max(len(names), 1)
    cur_model = _index_in(cur.column("model"), models.column("model"))
    cur_code = _index_in(cur.column("feature"), coded.dictionary)
    known = (cur_model >= 0) & (cur_code >= 0)
    source = _match(model_index * width + codes, np.where(known, cur_model * width + cur_code, -1))
    features = feature_arrays(
        ref, model_index, CodedNames(codes, names), cur=cur, source=source, order=order
    )
    return ScanBatch(features=features, models=model_arrays(models))


def _index_in(values: pa.ChunkedArray, value_set: pa.Array | pa.ChunkedArray) -> I64:
    """Each value's position in `value_set`, -1 where absent."""
    found = pc.index_in(values, value_set=value_set).fill_null(-1)
    return np.asarray(found.to_numpy(), dtype=np.int64)


def _match(keys: I64, source_keys: I64) -> I64 | None:
    """For each key, the row of `source_keys` holding it (-1: none); None if row for row equal.

    Keys are unique on either side (the tables' primary keys); a negative source key (a
    window row whose model or feature is not in the block's reference) matches nothing.
    """
    if np.array_equal(keys, source_keys):
        return None
    valid = np.flatnonzero(source_keys >= 0)
    if not len(valid):
        return np.full(len(keys), -1, dtype=np.int64)
    by_key = valid[np.argsort(source_keys[valid])]
    sorted_keys = source_keys[by_key]
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[at] == keys, by_key[at], -1)


def scan_blocks(
    store: TelemetryStore,
    parts: Sequence[Block],
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    detail: bool = False,
) -> tuple[list[ModelSignals], NDArray[np.float64]]:
    """Scan the given blocks in order: signals (no cutoff yet) and p-values.

    One thread reads the next block from DuckDB while this one computes the statistics of
    the current block (both release the GIL), so a scan uses two cores; at most two blocks
    are in memory. Only that thread touches the connection until the scan returns.
    """
    config = config or DriftConfig()
    signals: list[ModelSignals] = []
    p_values = [np.empty(0)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-load") as loader:

        def read(index: int) -> Future[ScanBatch] | None:
            if index >= len(parts):
                return None
            return loader.submit(load_block, store, parts[index], window_start)

        ahead = read(0)
        for index in range(len(parts)):
            assert ahead is not None
            batch = ahead.result()
            ahead = read(index + 1)
            found, p = scan_partial(batch, config, detail=detail)
            del batch  # before the next block arrives
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
