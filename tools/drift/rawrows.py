"""The raw-row path: current windows binned as arrays against a reference profile.

`bin_frame` (tools/telemetry/binning.py) makes pydantic models with Python lists per
column: right for storage, slow in a loop over many models. Here a window's numeric columns
are one (columns x rows) matrix binned at once through the profile's lookup tables
(tools/drift/gridbin.py), and Arrow string columns are matched against the reference
categories by Arrow. Every other column (discrete numeric, other dtypes, absent) takes the
storage path's `bin_window`, so every count and sum is the one the stored histograms hold.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from tools.drift.batch import FeatureArrays
from tools.drift.gridbin import bin_matrix
from tools.drift.rawprofile import (
    ReferenceProfile,
    build_profile,
    numeric_columns,
    profile_of,
    quantile_edges,
)
from tools.telemetry.binning import SLOTS, FeatureKind, FeatureReference, bin_window

__all__ = [
    "ReferenceProfile",
    "WindowBins",
    "bin_current",
    "bin_many",
    "build_profile",
    "feature_arrays",
    "profile_of",
    "quantile_edges",
]

F64 = NDArray[np.float64]


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


def _empty_window(count: int) -> WindowBins:
    return WindowBins(
        counts=np.zeros((count, SLOTS)),
        sums=np.zeros((count, SLOTS)),
        n=np.zeros(count),
        nulls=np.zeros(count),
        invalid=np.zeros(count),
        missing=np.zeros(count, dtype=bool),
        type_mismatch=np.zeros(count, dtype=bool),
    )


def bin_current(profile: ReferenceProfile, frame: pd.DataFrame) -> WindowBins:
    """Bin a current window against a profile (numeric columns as one matrix)."""
    out = _empty_window(len(profile.features))
    done = _bin_numeric(profile, frame, out)
    labels = frame.columns.tolist()
    present = {str(c): i for i, c in enumerate(labels)}
    by_name = frame.columns.is_unique and all(isinstance(c, str) for c in labels)
    for j, name in enumerate(profile.features):
        if j in done:
            continue
        column = None
        if name in present:  # frame[name] is the faster way in when names are unique
            column = frame[name] if by_name else frame.iloc[:, present[name]]
        ref = profile.fallback.get(j) or _numeric_reference(profile, j)
        if ref.kind is FeatureKind.CATEGORICAL and _bin_strings(ref, column, out, j):
            continue
        window = bin_window(ref, column)
        out.counts[j], out.sums[j] = window.counts, window.sums
        out.n[j], out.nulls[j], out.invalid[j] = window.n, window.nulls, window.invalid
        out.missing[j], out.type_mismatch[j] = window.missing, window.type_mismatch
    return out


def _bin_numeric(profile: ReferenceProfile, frame: pd.DataFrame, out: WindowBins) -> set[int]:
    """Bin the profile's numeric features the window has as int or float columns."""
    if not profile.numeric:
        return set()
    names, x = numeric_columns(frame)
    row_of = {name: i for i, name in enumerate(names)}
    rows = [row_of.get(profile.features[j], -1) for j in profile.numeric]
    if max(rows) < 0:
        return set()
    if rows != list(range(len(x))):
        x = np.where(np.array(rows)[:, None] >= 0, x[rows], np.nan)  # absent rows: redone
    bins = bin_matrix(profile.grid, x)
    index = np.array(profile.numeric)
    out.counts[index], out.sums[index] = bins.counts, bins.sums
    out.nulls[index], out.invalid[index] = bins.nulls, bins.invalid
    out.n[index] = x.shape[1] - bins.nulls - bins.invalid
    return {j for j, row in zip(profile.numeric, rows, strict=True) if row >= 0}


def _bin_strings(ref: FeatureReference, column: pd.Series | None, out: WindowBins, j: int) -> bool:
    """Count an Arrow string column's categories in Arrow (False: not such a column)."""
    if column is None or not isinstance(column.array, pd.arrays.ArrowStringArray):
        return False
    values = pa.chunked_array(pa.array(column.array))
    categories = _value_set(tuple(ref.categories), values.type)
    slots = pc.index_in(values, value_set=categories).fill_null(SLOTS - 1)
    counts = np.bincount(slots.to_numpy(), minlength=SLOTS).astype(np.float64)
    counts[SLOTS - 1] -= values.null_count  # nulls are dropped, not "other"
    out.counts[j] = counts
    out.n[j], out.nulls[j] = len(values) - values.null_count, values.null_count
    return True


@lru_cache(maxsize=4096)
def _value_set(categories: tuple[str, ...], kind: pa.DataType) -> pa.Array:
    """A reference's categories as an Arrow array (built once per reference and type)."""
    return pa.array(categories, type=kind)


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

    numpy's arithmetic, take, partition and Arrow's kernels release the GIL, so two threads
    use both cores.
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
