"""Turning raw feature values into fixed-layout histograms.

Every feature uses K = BINS + 2 slots, so a whole fleet fits in (rows x K) arrays:
- numeric: slot 0 = below the reference minimum, 1..BINS = reference quantile bins,
  K-1 = above the reference maximum; each slot also keeps the sum of its values;
- categorical: slots 0..BINS are the reference's most frequent categories, K-1 = any other
  (including categories never seen in the reference).
"""

from enum import StrEnum

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

BINS = 32
SLOTS = BINS + 2
DISCRETE_MAX_UNIQUE = 5
"""Numeric features with this few distinct values are binned by value (as Evidently does)."""


class FeatureKind(StrEnum):
    """How a feature is binned."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class FeatureReference(BaseModel):
    """The reference histogram of one feature of one model version (computed once)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    feature: str
    kind: FeatureKind
    edges: list[float] = []
    categories: list[str] = []
    counts: list[float]
    sums: list[float]
    n: int
    nulls: int
    mean: float = 0.0
    std: float = 0.0
    n_unique: int
    """Distinct values: exact up to 5 (all the test choice needs), else a lower bound."""


class FeatureWindow(BaseModel):
    """One feature binned for one current window."""

    feature: str
    counts: list[float]
    sums: list[float]
    n: int
    nulls: int
    invalid: int = 0
    """inf values and values of the wrong type."""
    missing: bool = False
    """The column was absent."""
    type_mismatch: bool = False


def build_reference(
    feature: str, values: pd.Series, kind: FeatureKind | None = None
) -> FeatureReference:
    """Reference histogram of a column (quantile bins or top categories)."""
    if kind is None:
        kind = (
            FeatureKind.NUMERIC
            if pd.api.types.is_numeric_dtype(values)
            else FeatureKind.CATEGORICAL
        )
    clean = values.dropna()
    if kind is FeatureKind.NUMERIC:
        numbers = clean.to_numpy(dtype=np.float64)
        numbers = numbers[np.isfinite(numbers)]
        distinct = _distinct_upto(numbers, DISCRETE_MAX_UNIQUE)
        if 0 < distinct <= DISCRETE_MAX_UNIQUE:
            return _categorical_reference(
                feature, _as_labels(clean), len(values), n_unique=distinct
            )
        return _numeric_reference(feature, numbers, len(values))
    return _categorical_reference(feature, _as_labels(clean), len(values), n_unique=clean.nunique())


def _distinct_upto(x: NDArray[np.float64], limit: int) -> int:
    """Number of distinct values if it is at most `limit`, else some number above it (cheap)."""
    if len(x) == 0:
        return 0
    if len(np.unique(x[:256])) > limit:
        return len(np.unique(x[:256]))
    return len(np.unique(x))


def _numeric_reference(feature: str, x: NDArray[np.float64], total: int) -> FeatureReference:
    if len(x) == 0:
        return FeatureReference(
            feature=feature,
            kind=FeatureKind.NUMERIC,
            counts=[0.0] * SLOTS,
            sums=[0.0] * SLOTS,
            n=0,
            nulls=total,
            n_unique=0,
        )
    edges = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)))
    if len(edges) == 1:
        edges = np.array([edges[0], edges[0]])
    counts, sums = _bin_numeric(x, edges)
    return FeatureReference(
        feature=feature,
        kind=FeatureKind.NUMERIC,
        edges=edges.tolist(),
        counts=counts.tolist(),
        sums=sums.tolist(),
        n=len(x),
        nulls=total - len(x),
        mean=float(x.mean()),
        std=float(x.std()),
        n_unique=_distinct_upto(x, DISCRETE_MAX_UNIQUE),
    )


def _categorical_reference(
    feature: str, labels: pd.Series, total: int, n_unique: int
) -> FeatureReference:
    counted = labels.value_counts()
    frequent = counted[counted > 0].index[: BINS + 1].tolist()
    counts, _ = _bin_categorical(labels, frequent)
    return FeatureReference(
        feature=feature,
        kind=FeatureKind.CATEGORICAL,
        categories=[str(c) for c in frequent],
        counts=counts.tolist(),
        sums=[0.0] * SLOTS,
        n=len(labels),
        nulls=total - len(labels),
        n_unique=n_unique,
    )


def bin_window(ref: FeatureReference, values: pd.Series | None) -> FeatureWindow:
    """Bin a current column against its reference."""
    if values is None:
        return FeatureWindow(
            feature=ref.feature,
            counts=[0.0] * SLOTS,
            sums=[0.0] * SLOTS,
            n=0,
            nulls=0,
            missing=True,
        )
    nulls = int(values.isna().sum())
    clean = values.dropna()
    if ref.kind is FeatureKind.CATEGORICAL:
        counts, _ = _bin_categorical(_as_labels(clean), ref.categories)
        return FeatureWindow(
            feature=ref.feature,
            counts=counts.tolist(),
            sums=[0.0] * SLOTS,
            n=len(clean),
            nulls=nulls,
        )
    numbers = pd.to_numeric(clean, errors="coerce").to_numpy(dtype=np.float64)
    wrong_type = int(np.isnan(numbers).sum())
    finite = numbers[np.isfinite(numbers)]
    counts, sums = _bin_numeric(finite, np.asarray(ref.edges))
    return FeatureWindow(
        feature=ref.feature,
        counts=counts.tolist(),
        sums=sums.tolist(),
        n=len(finite),
        nulls=nulls,
        invalid=len(numbers) - len(finite),
        type_mismatch=wrong_type > 0 and wrong_type == len(clean),
    )


def _as_labels(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        values = values.astype(np.int64)
    return values.astype(str)


def _bin_numeric(
    x: NDArray[np.float64], edges: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if len(edges) == 0:
        return np.zeros(SLOTS), np.zeros(SLOTS)
    slot = np.searchsorted(edges[1:-1], x, side="right") + 1
    slot = np.where(x < edges[0], 0, np.where(x > edges[-1], SLOTS - 1, slot))
    counts = np.bincount(slot, minlength=SLOTS).astype(np.float64)
    sums = np.bincount(slot, weights=x, minlength=SLOTS).astype(np.float64)
    return counts, sums


def _bin_categorical(labels: pd.Series, categories: list[str]) -> tuple[NDArray[np.float64], None]:
    index = {c: i for i, c in enumerate(categories)}
    if isinstance(labels.dtype, pd.CategoricalDtype):
        known = [index.get(str(c), SLOTS - 1) for c in labels.cat.categories]
        lookup = np.array([*known, SLOTS - 1], dtype=np.int64)  # code -1 (missing) -> other
        codes = lookup[labels.cat.codes.to_numpy()]
    else:
        found, uniques = pd.factorize(labels)
        lookup = np.array(
            [*(index.get(str(u), SLOTS - 1) for u in uniques), SLOTS - 1], dtype=np.int64
        )
        codes = lookup[found]  # factorize marks missing values -1 -> the "other" slot
    return np.bincount(codes, minlength=SLOTS).astype(np.float64), None


def bin_frame(refs: list[FeatureReference], frame: pd.DataFrame) -> list[FeatureWindow]:
    """Bin every feature of a current window at once (numeric features in one bincount)."""
    numeric = [
        r
        for r in refs
        if r.kind is FeatureKind.NUMERIC
        and r.feature in frame.columns
        and pd.api.types.is_numeric_dtype(frame[r.feature])
    ]
    done = {w.feature: w for w in _bin_numeric_matrix(numeric, frame)}
    return [
        done.get(r.feature)
        or bin_window(r, frame[r.feature] if r.feature in frame.columns else None)
        for r in refs
    ]


def _bin_numeric_matrix(refs: list[FeatureReference], frame: pd.DataFrame) -> list[FeatureWindow]:
    if not refs:
        return []
    x = np.ascontiguousarray(frame[[r.feature for r in refs]].to_numpy(dtype=np.float64).T)
    nulls = np.isnan(x).sum(axis=1)
    finite = np.isfinite(x)
    invalid = (~finite).sum(axis=1) - nulls
    slots = np.zeros(x.shape, dtype=np.int64)
    binned = finite.copy()
    for j, ref in enumerate(refs):  # one searchsorted per feature: edges differ
        if not ref.edges:  # a reference without finite values: nothing to bin against
            binned[j] = False
            continue
        edges = np.asarray(ref.edges)
        row = x[j]
        slot = np.searchsorted(edges[:-1], row, side="right")  # 0 below the range, 1..bins inside
        slots[j] = np.where(row > edges[-1], SLOTS - 1, slot)
    offsets = slots + (np.arange(len(refs)) * SLOTS)[:, None]
    flat, keep = offsets[binned], x[binned]
    counts = (
        np.bincount(flat, minlength=len(refs) * SLOTS).reshape(len(refs), SLOTS).astype(np.float64)
    )
    sums = np.bincount(flat, weights=keep, minlength=len(refs) * SLOTS).reshape(len(refs), SLOTS)
    return [
        FeatureWindow(
            feature=r.feature,
            counts=counts[j].tolist(),
            sums=sums[j].tolist(),
            n=int(finite[j].sum()),  # as bin_window counts it, binned or not
            nulls=int(nulls[j]),
            invalid=int(invalid[j]),
        )
        for j, r in enumerate(refs)
    ]
