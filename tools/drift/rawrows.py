"""The raw-row path: reference profiles and current windows binned as arrays, no round trips.

`build_reference` / `bin_frame` (tools/telemetry/binning.py) make pydantic models with
Python lists per column: right for storage, slow in a loop over many models. Here a whole
model's reference is a few (features x slots) arrays, computed from one sort per numeric
column (the quantile edges are read off the sorted values exactly as `np.quantile` computes
them), and a current window is binned by sorting each column and searching the edges in
it. Categorical and discrete numeric columns (<= 5 distinct values) take the storage path's
own functions, so every count is the one the stored histograms would hold.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from tools.drift.batch import FeatureArrays
from tools.telemetry.binning import (
    BINS,
    DISCRETE_MAX_UNIQUE,
    SLOTS,
    FeatureKind,
    FeatureReference,
    bin_window,
    build_reference,
)

F64 = NDArray[np.float64]
_Q = np.linspace(0, 1, BINS + 1)


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
    """Categorical and discrete columns, binned by the storage path's own code."""


@dataclass
class WindowBins:
    """One current window binned against a profile, row for row with its features."""

    counts: F64
    sums: F64
    n: F64
    nulls: F64
    invalid: F64
    missing: NDArray[np.bool_]
    type_mismatch: NDArray[np.bool_]


def quantile_edges(ordered: F64) -> F64:
    """`np.unique(np.quantile(x, linspace(0, 1, BINS + 1)))` from `x` already sorted.

    The same virtual indexes and the same two-sided interpolation as numpy's default
    ('linear') method, so the edges are bit for bit those of `np.quantile`.
    """
    n = len(ordered)
    virtual = (n - 1) * _Q
    prev = np.floor(virtual)
    top = virtual >= n - 1
    prev[top] = n - 1
    lo = prev.astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    gamma = virtual - prev
    a, b = ordered[lo], ordered[hi]
    diff = b - a
    edges = a + diff * gamma
    upper = gamma >= 0.5
    edges[upper] = b[upper] - diff[upper] * (1 - gamma[upper])
    edges[top] = ordered[-1]
    return np.asarray(np.unique(edges), dtype=np.float64)


def bin_sorted(ordered: F64, edges: F64) -> tuple[F64, F64]:
    """Counts and sums per slot of sorted finite values (slots as `binning._bin_numeric`)."""
    bounds = np.empty(SLOTS + 1, dtype=np.intp)
    inner = len(edges) - 1
    bounds[0] = 0
    bounds[1 : inner + 1] = np.searchsorted(ordered, edges[:-1], side="left")
    bounds[inner + 1 : SLOTS] = np.searchsorted(ordered, edges[-1], side="right")
    bounds[SLOTS] = len(ordered)
    cumulative = np.empty(len(ordered) + 1)
    cumulative[0] = 0.0
    np.cumsum(ordered, out=cumulative[1:])
    counts = np.diff(bounds).astype(np.float64)
    sums = cumulative[bounds[1:]] - cumulative[bounds[:-1]]
    sums[counts == 0] = 0.0
    return counts, sums


def _distinct_upto(x: F64) -> int:
    """As `binning._distinct_upto`: exact up to the discrete limit, else a lower bound."""
    if len(x) == 0:
        return 0
    head = len(np.unique(x[:256]))
    if head > DISCRETE_MAX_UNIQUE:
        return head
    return len(np.unique(x))


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if pd.api.types.is_float_dtype(frame[c]) or pd.api.types.is_integer_dtype(frame[c])
    ]


def build_profile(frame: pd.DataFrame) -> ReferenceProfile:
    """The reference profile of every column of a frame (numeric: one sort per column)."""
    names = [str(c) for c in frame.columns]
    count = len(names)
    profile = ReferenceProfile(
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
    )
    numeric = set(_numeric_columns(frame))
    matrix = frame[list(numeric)].to_numpy(dtype=np.float64).T if numeric else None
    row_of = {c: i for i, c in enumerate(numeric)}
    for j, column in enumerate(frame.columns):
        if column not in numeric or matrix is None:
            _fallback(profile, j, build_reference(names[j], frame[column]))
            continue
        x = matrix[row_of[column]]
        finite = np.isfinite(x)
        if not finite.all():
            x = x[finite]
        distinct = _distinct_upto(x)
        if len(x) == 0 or distinct <= DISCRETE_MAX_UNIQUE:
            _fallback(profile, j, build_reference(names[j], frame[column]))
            continue
        ordered = np.sort(x)
        edges = quantile_edges(ordered)
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0]])
        profile.counts[j], profile.sums[j] = bin_sorted(ordered, edges)
        profile.edges[j] = edges
        profile.n[j] = len(x)
        profile.nulls[j] = len(frame) - len(x)
        profile.std[j] = x.std()
        profile.n_unique[j] = distinct
    return profile


def _fallback(profile: ReferenceProfile, j: int, ref: FeatureReference) -> None:
    profile.fallback[j] = ref
    profile.is_cat[j] = ref.kind is FeatureKind.CATEGORICAL
    profile.counts[j], profile.sums[j] = ref.counts, ref.sums
    profile.n[j], profile.nulls[j] = ref.n, ref.nulls
    profile.std[j], profile.n_unique[j] = ref.std, ref.n_unique
    profile.edges[j] = np.asarray(ref.edges, dtype=np.float64)


def profile_of(references: Sequence[FeatureReference]) -> ReferenceProfile:
    """A profile from stored references (the steady state: reference binned long ago)."""
    count = len(references)
    profile = ReferenceProfile(
        features=[r.feature for r in references],
        is_cat=np.zeros(count, dtype=bool),
        counts=np.zeros((count, SLOTS)),
        sums=np.zeros((count, SLOTS)),
        n=np.zeros(count),
        nulls=np.zeros(count),
        std=np.zeros(count),
        n_unique=np.zeros(count),
        edges=[np.empty(0)] * count,
        fallback={},
    )
    for j, ref in enumerate(references):
        _fallback(profile, j, ref)
        if ref.kind is FeatureKind.NUMERIC:
            del profile.fallback[j]
    return profile


def bin_current(profile: ReferenceProfile, frame: pd.DataFrame) -> WindowBins:
    """Bin a current window against a profile: sort each numeric column, search the edges."""
    count = len(profile.features)
    out = WindowBins(
        counts=np.zeros((count, SLOTS)),
        sums=np.zeros((count, SLOTS)),
        n=np.zeros(count),
        nulls=np.zeros(count),
        invalid=np.zeros(count),
        missing=np.zeros(count, dtype=bool),
        type_mismatch=np.zeros(count, dtype=bool),
    )
    present = set(map(str, frame.columns))
    fast = [
        j
        for j, name in enumerate(profile.features)
        if j not in profile.fallback
        and name in present
        and (pd.api.types.is_float_dtype(frame[name]) or pd.api.types.is_integer_dtype(frame[name]))
    ]
    if fast:
        matrix = frame[[profile.features[j] for j in fast]].to_numpy(dtype=np.float64).T
        for x, j in zip(matrix, fast, strict=True):
            ordered = np.sort(x)  # -inf first, then finite values, +inf, NaN last
            lo = int(np.searchsorted(ordered, -np.inf, side="right"))
            hi = int(np.searchsorted(ordered, np.inf, side="left"))
            nan = len(ordered) - int(np.searchsorted(ordered, np.inf, side="right"))
            out.counts[j], out.sums[j] = bin_sorted(ordered[lo:hi], profile.edges[j])
            out.n[j] = hi - lo
            out.nulls[j] = nan
            out.invalid[j] = len(ordered) - nan - (hi - lo)
    done = set(fast)
    for j, name in enumerate(profile.features):
        if j in done:
            continue
        ref = profile.fallback.get(j) or _numeric_reference(profile, j)
        window = bin_window(ref, frame[name] if name in present else None)
        out.counts[j], out.sums[j] = window.counts, window.sums
        out.n[j], out.nulls[j], out.invalid[j] = window.n, window.nulls, window.invalid
        out.missing[j], out.type_mismatch[j] = window.missing, window.type_mismatch
    return out


def _numeric_reference(profile: ReferenceProfile, j: int) -> FeatureReference:
    """A numeric profile row as a stored reference (for a column of the wrong dtype)."""
    return FeatureReference(
        feature=profile.features[j],
        kind=FeatureKind.NUMERIC,
        edges=profile.edges[j].tolist(),
        counts=profile.counts[j].tolist(),
        sums=profile.sums[j].tolist(),
        n=int(profile.n[j]),
        nulls=int(profile.nulls[j]),
        n_unique=int(profile.n_unique[j]),
    )


def feature_arrays(pairs: Sequence[tuple[ReferenceProfile, WindowBins]]) -> FeatureArrays:
    """One scan batch's feature rows from (profile, window) pairs, model i = pair i."""
    sizes = [len(p.features) for p, _ in pairs]
    cat = np.concatenate
    return FeatureArrays(
        model_index=np.repeat(np.arange(len(pairs)), sizes),
        feature=[name for p, _ in pairs for name in p.features],
        is_cat=cat([p.is_cat for p, _ in pairs]),
        ref_counts=np.vstack([p.counts for p, _ in pairs]),
        ref_sums=np.vstack([p.sums for p, _ in pairs]),
        ref_n=cat([p.n for p, _ in pairs]),
        ref_nulls=cat([p.nulls for p, _ in pairs]),
        ref_std=cat([p.std for p, _ in pairs]),
        n_unique=cat([p.n_unique for p, _ in pairs]),
        importance=np.ones(sum(sizes)),
        cur_counts=np.vstack([w.counts for _, w in pairs]),
        cur_sums=np.vstack([w.sums for _, w in pairs]),
        cur_n=cat([w.n for _, w in pairs]),
        cur_nulls=cat([w.nulls for _, w in pairs]),
        invalid=cat([w.invalid for _, w in pairs]),
        missing=cat([w.missing for _, w in pairs]),
        type_mismatch=cat([w.type_mismatch for _, w in pairs]),
    )


def bin_many(
    work: Sequence[tuple[ReferenceProfile | pd.DataFrame, pd.DataFrame]], workers: int = 2
) -> list[tuple[ReferenceProfile, WindowBins]]:
    """Profile (when given a reference frame) and bin many models, `workers` threads wide.

    numpy's sort, search and cumsum release the GIL, so two threads use both cores.
    """

    def one(
        item: tuple[ReferenceProfile | pd.DataFrame, pd.DataFrame],
    ) -> tuple[ReferenceProfile, WindowBins]:
        ref, cur = item
        profile = ref if isinstance(ref, ReferenceProfile) else build_profile(ref)
        return profile, bin_current(profile, cur)

    if workers <= 1 or len(work) <= 1:
        return [one(item) for item in work]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, work))
