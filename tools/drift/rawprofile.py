"""Reference profiles for the raw-row path: a model's reference as arrays, built once per version.

`build_reference` (tools/telemetry/binning.py) makes one pydantic model with Python lists
per column: right for storage, slow in a loop over many models. Here the numeric columns
of a reference frame are one (columns x rows) matrix: the order statistics `np.quantile`
reads come from one histogram selection over the matrix (tools/drift/selection.py: no
sort), interpolated as numpy does (bit for bit its edges), and counts and sums from one
lookup-table binning of the whole matrix (tools/drift/gridbin.py). Arrow string columns are
counted by Arrow. Other categorical and discrete numeric columns (<= 5 distinct values)
take the storage path's own `build_reference`, and columns holding NaN or inf its rules one
column at a time, so every count, sum, edge and standard deviation is the stored one.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.drift.gridbin import EdgeGrid, bin_matrix, edge_grid
from tools.drift.scratch import scratch
from tools.drift.selection import order_statistics
from tools.telemetry.binning import (
    BINS,
    DISCRETE_MAX_UNIQUE,
    SLOTS,
    FeatureKind,
    FeatureReference,
    build_reference,
)

F64 = NDArray[np.float64]
_Q = np.linspace(0, 1, BINS + 1)
_NO_GRID = edge_grid([])
_HEAD = 256
"""Values the storage path looks at before deciding a column is not discrete."""


@dataclass
class ReferenceProfile:
    """One model version's reference histograms as arrays (computed once per version)."""

    features: list[str]
    is_cat: NDArray[np.bool_]
    counts: F64
    sums: F64
    n: F64
    nulls: F64
    std: F64
    n_unique: F64
    edges: list[F64]
    """Quantile edges per numeric feature (empty for a categorical one)."""
    fallback: dict[int, FeatureReference]
    """Categorical and discrete columns, binned by the storage path's own rules."""
    numeric: list[int]
    """Features binned through `grid`, in its row order."""
    grid: EdgeGrid


def _empty_profile(names: list[str]) -> ReferenceProfile:
    count = len(names)
    return ReferenceProfile(
        features=names,
        is_cat=np.zeros(count, dtype=bool),
        counts=np.zeros((count, SLOTS)),
        sums=np.zeros((count, SLOTS)),
        n=np.zeros(count),
        nulls=np.zeros(count),
        std=np.zeros(count),
        n_unique=np.zeros(count),
        edges=[np.empty(0)] * count,
        fallback={},
        numeric=[],
        grid=_NO_GRID,
    )


def _positions(n: int) -> tuple[NDArray[np.intp], NDArray[np.intp], F64, NDArray[np.bool_]]:
    """The 'linear' quantile method of numpy: lower and upper order statistics, weights, top."""
    virtual = (n - 1) * _Q
    prev = np.floor(virtual)
    top = virtual >= n - 1
    prev[top] = n - 1
    lo = prev.astype(np.intp)
    return lo, np.minimum(lo + 1, n - 1), virtual - prev, top


def _interpolate(a: F64, b: F64, gamma: F64, top: NDArray[np.bool_], last: F64) -> F64:
    """The two-sided interpolation of `np.quantile` (rows of `a`, `b`: one column each)."""
    diff = b - a
    edges = a + diff * gamma
    upper = gamma >= 0.5
    edges[..., upper] = b[..., upper] - diff[..., upper] * (1 - gamma[upper])
    edges[..., top] = last[..., None]
    return edges


def quantile_edges(ordered: F64) -> F64:
    """`np.unique(np.quantile(x, linspace(0, 1, BINS + 1)))` from `x` already sorted."""
    lo, hi, gamma, top = _positions(len(ordered))
    edges = _interpolate(ordered[lo], ordered[hi], gamma, top, ordered[-1:].reshape(()))
    return np.asarray(np.unique(edges), dtype=np.float64)


def quantile_edges_rows(x: F64) -> list[F64]:
    """`quantile_edges` of every row of `x` (finite values, any order), without sorting it."""
    lo, hi, gamma, top = _positions(x.shape[1])
    ranks = np.union1d(lo, hi)
    at = order_statistics(x, ranks)
    a, b = at[:, np.searchsorted(ranks, lo)], at[:, np.searchsorted(ranks, hi)]
    edges = np.sort(_interpolate(a, b, gamma, top, at[:, -1]), axis=1)
    keep = np.ones(edges.shape, dtype=bool)
    keep[:, 1:] = edges[:, 1:] != edges[:, :-1]
    return [row[mask] for row, mask in zip(edges, keep, strict=True)]


def _std_rows(x: F64) -> F64:
    """`x.std(axis=1)` with the same operations in a reused buffer (the same bits)."""
    width = x.shape[1]
    mean = np.add.reduce(x, axis=1, keepdims=True)
    mean /= width
    with scratch() as buffers:
        centred = buffers.get("centred", np.float64, x.shape)
        np.subtract(x, mean, out=centred)
        np.multiply(centred, centred, out=centred)
        variance = np.add.reduce(centred, axis=1)
    variance /= width
    return np.asarray(np.sqrt(variance), dtype=np.float64)


def _distinct_upto(x: F64) -> int:
    """As `binning._distinct_upto`: exact up to the discrete limit, else a lower bound."""
    if len(x) == 0:
        return 0
    head = len(np.unique(x[:_HEAD]))
    return head if head > DISCRETE_MAX_UNIQUE else len(np.unique(x))


def _distinct_rows(x: F64) -> NDArray[np.intp]:
    """`_distinct_upto` of every row of a finite matrix with at least one column."""
    head = np.sort(x[:, :_HEAD], axis=1)
    counted = np.asarray(1 + np.count_nonzero(head[:, 1:] != head[:, :-1], axis=1), np.intp)
    for j in np.flatnonzero(counted <= DISCRETE_MAX_UNIQUE):
        counted[j] = len(np.unique(x[j]))
    return counted


def numeric_columns(frame: pd.DataFrame) -> tuple[list[str], F64]:
    """The names of a frame's int and float columns and their values, one row per column."""
    chosen = frame.select_dtypes(include=["number"])
    kinds = [isinstance(d, np.dtype) and d.kind in "fiu" for d in chosen.dtypes]
    if not all(kinds):
        chosen = chosen.iloc[:, np.flatnonzero(kinds)]
    matrix = chosen.to_numpy(dtype=np.float64).T
    return [str(c) for c in chosen.columns.tolist()], np.ascontiguousarray(matrix)


@dataclass(frozen=True)
class _Binned:
    """A matrix row binned by its quantiles: what the profile keeps of it."""

    row: int
    edges: F64
    n: int
    std: float
    distinct: int


def _binned_rows(x: F64) -> list[_Binned]:
    """The rows of `x` the storage path bins by quantiles (some finite value, not discrete)."""
    if x.shape[1] == 0:
        return []
    finite = np.isfinite(x).all(axis=1)
    clean = np.flatnonzero(finite)
    found: dict[int, _Binned] = {}
    if len(clean):
        distinct = _distinct_rows(x if len(clean) == len(x) else x[clean])
        keep = clean[distinct > DISCRETE_MAX_UNIQUE]
        distinct = distinct[distinct > DISCRETE_MAX_UNIQUE]
        kept = x if len(keep) == len(x) else x[keep]
        stds = _std_rows(kept)
        edges = quantile_edges_rows(kept)
        for k, i in enumerate(keep.tolist()):
            found[i] = _Binned(i, edges[k], x.shape[1], float(stds[k]), int(distinct[k]))
    for i in np.flatnonzero(~finite).tolist():
        values = x[i][np.isfinite(x[i])]
        count = _distinct_upto(values)
        if count > DISCRETE_MAX_UNIQUE:
            ordered = np.sort(values)
            found[i] = _Binned(i, quantile_edges(ordered), len(values), float(values.std()), count)
    return [found[i] for i in sorted(found)]


def build_profile(frame: pd.DataFrame) -> ReferenceProfile:
    """The reference profile of every column of a frame (numeric: one matrix at a time)."""
    names = [str(c) for c in frame.columns.tolist()]
    profile = _empty_profile(names)
    numeric_names, x = numeric_columns(frame)
    binned = _binned_rows(x)
    chosen = {numeric_names[b.row] for b in binned}
    for j, name in enumerate(names):
        if name not in chosen:
            column = frame.iloc[:, j]
            ref = string_reference(name, column) or build_reference(name, column)
            _fallback(profile, j, ref)
    profile.numeric = [names.index(numeric_names[b.row]) for b in binned]
    profile.grid = edge_grid([b.edges for b in binned])
    rows = [b.row for b in binned]
    bins = bin_matrix(profile.grid, x if len(rows) == len(x) else x[rows])
    for k, (j, b) in enumerate(zip(profile.numeric, binned, strict=True)):
        profile.counts[j], profile.sums[j] = bins.counts[k], bins.sums[k]
        profile.edges[j] = b.edges
        profile.n[j], profile.nulls[j] = b.n, x.shape[1] - b.n
        profile.std[j], profile.n_unique[j] = b.std, b.distinct
    return profile


def string_reference(name: str, column: pd.Series) -> FeatureReference | None:
    """`build_reference` of an Arrow string column, counted by Arrow (None: another dtype).

    Categories by count, ties in order of first appearance (pandas' stable value_counts).
    """
    if not isinstance(column.array, pd.arrays.ArrowStringArray):
        return None
    values = pa.chunked_array(pa.array(column.array))
    counted = pc.value_counts(values.drop_null())  # in order of first appearance
    counts = np.asarray(counted.field("counts"), dtype=np.float64)
    order = np.argsort(-counts, kind="stable")[: BINS + 1]
    n = len(values) - values.null_count
    slots = np.zeros(SLOTS)
    slots[: len(order)] = counts[order]
    slots[SLOTS - 1] = n - slots[: len(order)].sum()
    return FeatureReference(
        feature=name,
        kind=FeatureKind.CATEGORICAL,
        categories=counted.field("values").take(pa.array(order)).to_pylist(),
        counts=slots.tolist(),
        sums=[0.0] * SLOTS,
        n=n,
        nulls=values.null_count,
        n_unique=len(counts),
    )


def _fallback(profile: ReferenceProfile, j: int, ref: FeatureReference) -> None:
    profile.fallback[j] = ref
    profile.is_cat[j] = ref.kind is FeatureKind.CATEGORICAL
    profile.counts[j], profile.sums[j] = ref.counts, ref.sums
    profile.n[j], profile.nulls[j] = ref.n, ref.nulls
    profile.std[j], profile.n_unique[j] = ref.std, ref.n_unique
    profile.edges[j] = np.asarray(ref.edges, dtype=np.float64)


def profile_of(references: Sequence[FeatureReference]) -> ReferenceProfile:
    """A profile from stored references (the steady state: reference binned long ago)."""
    profile = _empty_profile([r.feature for r in references])
    for j, ref in enumerate(references):
        _fallback(profile, j, ref)
        if ref.kind is FeatureKind.NUMERIC and len(ref.edges) >= 2:
            del profile.fallback[j]
            profile.numeric.append(j)
    profile.grid = edge_grid([profile.edges[j] for j in profile.numeric])
    return profile
