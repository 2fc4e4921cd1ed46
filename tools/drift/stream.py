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

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.drift.batch import (
    I64,
    CodedNames,
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

LOADER_THREADS = 1
"""DuckDB threads while a scan streams: a block's rows sit in one or two row groups, which
one thread reads; a second thread only took a core from the statistics (14% less CPU for
the whole 10k scan in one process under load, 9% less wall time)."""

_LATEST = "SELECT model, {window} AS ws FROM windows {where} GROUP BY model"
_MODEL_NAMES = f"SELECT model FROM ({_LATEST}) ORDER BY model"
_REFERENCE = f"""
WITH latest AS ({{latest}})
SELECT r.model, r.feature, r.kind = 'categorical' AS is_cat,
       r.counts::DOUBLE[{SLOTS}] AS rc, r.sums::DOUBLE[{SLOTS}] AS rs,
       r.n AS rn, r.nulls AS rnull, r.std, r.n_unique, r.importance
FROM reference r
SEMI JOIN (SELECT m.model, m.version FROM models m JOIN latest l ON l.model = m.model) k
    ON k.model = r.model AND k.version = r.version
WHERE {{block}}
"""
"""The block's reference rows of the registered version of each model with a window."""
_CURRENT = f"""
WITH latest AS ({{latest}})
SELECT w.model, w.feature,
       coalesce(w.counts, list_resize([]::DOUBLE[], {SLOTS}, 0.0))::DOUBLE[{SLOTS}] AS cc,
       coalesce(w.sums, list_resize([]::DOUBLE[], {SLOTS}, 0.0))::DOUBLE[{SLOTS}] AS cs,
       coalesce(w.n, 0) AS cn, coalesce(w.nulls, 0) AS cnull, coalesce(w.invalid, 0) AS invalid,
       coalesce(w.missing, true) AS missing, coalesce(w.type_mismatch, false) AS type_mismatch
FROM window_bins w
SEMI JOIN latest l ON l.model = w.model AND l.ws = w.window_start
WHERE {{block}}
"""
"""The block's current-window rows. Reference and window rows are matched in numpy on
(model, feature) codes: a join in DuckDB copied every histogram list into its hash table and
doubled the query's cost. Only the semi-joins' small key sides are hashed. Histograms are
read as fixed-size arrays (DOUBLE[SLOTS]): Arrow gets them without per-row offsets, ~20%
faster than as lists."""
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


def model_names(store: TelemetryStore, window_start: datetime | None = None) -> list[str]:
    """Every model with a window to scan, sorted."""
    window, where, args = window_clause(window_start)
    table = arrow_table(store, _MODEL_NAMES.format(window=window, where=where), args)
    return [str(name) for name in table.column("model").to_pylist()]


def model_facts(
    store: TelemetryStore, window_start: datetime | None = None, block: Block | None = None
) -> pa.Table:
    """The window facts of every model with a window (or of one block's), sorted by model."""
    window, where, args = window_clause(window_start)
    block_where, block_args = block.where("m.model") if block else ("true", [])
    sql = _MODELS.format(window=window, where=where, block=block_where)
    models = arrow_table(store, sql, args + block_args)
    return models.take(pc.sort_indices(models, sort_keys=[("model", "ascending")]))


def facts_of(facts: pa.Table, parts: Sequence[Block]) -> list[pa.Table]:
    """Each name-range block's rows of `model_facts` (slices, not copies)."""
    names = facts.column("model").to_pylist()
    out = []
    for block in parts:
        assert block.first is not None and block.last is not None, "name ranges only"
        start = bisect_left(names, block.first)
        out.append(facts.slice(start, bisect_right(names, block.last) - start))
    return out


def blocks(names: Sequence[str], block_models: int = BLOCK_MODELS) -> Iterator[Block]:
    """Name ranges of at most `block_models` models over a sorted name list."""
    for start in range(0, len(names), block_models):
        chunk = names[start : start + block_models]
        yield Block(first=chunk[0], last=chunk[-1])


def load_block(
    store: TelemetryStore,
    block: Block,
    window_start: datetime | None = None,
    models: pa.Table | None = None,
) -> ScanBatch:
    """One block of the fleet as a scan batch, models sorted, features sorted within a model.

    `models`: the block's rows of `model_facts`, if read already (else one query here).
    """
    if models is None:
        models = model_facts(store, window_start, block)
    window = window_clause(window_start)[0]
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


@contextmanager
def _duckdb_threads(store: TelemetryStore, threads: int) -> Iterator[None]:
    """DuckDB's worker threads set to `threads` for a while (a database-wide setting)."""
    before = store.db.execute("SELECT current_setting('threads')").fetchall()[0][0]
    store.db.execute(f"SET threads = {int(threads)}")
    try:
        yield
    finally:
        store.db.execute(f"SET threads = {int(before)}")


@dataclass
class StoreScan:
    """A streamed scan's outcome and what it read."""

    signals: list[ModelSignals]
    """Models with any signal (every model with `detail`), in model order within a block."""
    p_values: NDArray[np.float64]
    """The p-values the false-discovery-rate cutoff is set from."""
    models: int
    """Models scanned (those with a window and a registered version)."""
    feature_rows: int
    """(Model, feature) rows scanned."""


def scan_blocks(
    store: TelemetryStore,
    parts: Sequence[Block],
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    detail: bool = False,
) -> tuple[list[ModelSignals], NDArray[np.float64]]:
    """Scan the given blocks in order: signals (no cutoff yet) and p-values."""
    scanned = scan_parts(store, parts, config, window_start=window_start, detail=detail)
    return scanned.signals, scanned.p_values


def scan_parts(
    store: TelemetryStore,
    parts: Sequence[Block],
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    detail: bool = False,
    facts: Sequence[pa.Table] | None = None,
) -> StoreScan:
    """Scan the given blocks in order (no cutoff set yet); `facts`: each block's model facts.

    One thread reads the next block from DuckDB while this one computes the statistics of
    the current block; both hold the GIL for part of their work, so a scan uses about 1.6
    of two cores (measured on a warm 30k-model scan). At most two blocks are in memory.
    Only that thread touches the connection until the scan returns.
    """
    config = config or DriftConfig()
    signals: list[ModelSignals] = []
    p_values = [np.empty(0)]
    models = feature_rows = 0
    with (
        _duckdb_threads(store, LOADER_THREADS),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-load") as loader,
    ):

        def read(index: int) -> Future[ScanBatch] | None:
            if index >= len(parts):
                return None
            known = facts[index] if facts is not None else None
            return loader.submit(load_block, store, parts[index], window_start, known)

        ahead = read(0)
        for index in range(len(parts)):
            assert ahead is not None
            batch = ahead.result()
            ahead = read(index + 1)
            found, p = scan_partial(batch, config, detail=detail)
            models += len(batch.models.model)
            feature_rows += batch.features.rows
            del batch  # before the next block arrives
            signals.extend(found)
            p_values.append(p)
    return StoreScan(signals, np.concatenate(p_values), models, feature_rows)


def scan_store(
    store: TelemetryStore,
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    block_models: int = BLOCK_MODELS,
    detail: bool = False,
) -> list[ModelSignals]:
    """`scan(load_batch(store))` in blocks of `block_models` models: memory stays bounded."""
    return stream_scan(
        store, config, window_start=window_start, block_models=block_models, detail=detail
    ).signals


def stream_scan(
    store: TelemetryStore,
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    block_models: int = BLOCK_MODELS,
    detail: bool = False,
) -> StoreScan:
    """`scan_store` with what it read; the model facts are read once for every block."""
    config = config or DriftConfig()
    parts = list(blocks(model_names(store, window_start), block_models))
    facts = facts_of(model_facts(store, window_start), parts)
    scanned = scan_parts(
        store, parts, config, window_start=window_start, detail=detail, facts=facts
    )
    with_fdr_cutoff(scanned.signals, scanned.p_values, config)
    return scanned
