"""Binning a whole model's numeric columns at once through a lookup table, exactly as searchsorted.

The storage path's slot of a finite value is the number of edges (all but the last) at or
below it, or SLOTS - 1 above the last edge. Here each column's range [first edge, last edge]
is cut into CELLS equal cells and a value's cell is `clip(trunc((x - lo) * scale))`, the same
float operations for values and for edges. That function is monotone, so an edge in an
earlier cell is below every value of a later cell and an edge in a later cell above it: a
value's slot is the table's count of edges in earlier cells plus one comparison with each
edge sharing its cell. Columns where more than MAX_SHARED edges share a cell take
np.searchsorted instead. Counts and sums come from one bincount over the whole matrix, in
row order within each slot, so the sums are bit for bit the storage path's.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tools.telemetry.binning import BINS, SLOTS

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
CELLS = 256
MAX_SHARED = 2


@dataclass(frozen=True)
class EdgeGrid:
    """The lookup tables of a model's numeric columns (one row per column, built once)."""

    edges: list[F64]
    lo: F64
    """First edge per column, shape (columns, 1)."""
    scale: F64
    """CELLS / (last edge - first edge), shape (columns, 1); 0 for a constant column."""
    hi: F64
    """Last edge per column, shape (columns, 1)."""
    base: IDX
    """Per (column, cell): column * SLOTS + the number of edges in earlier cells."""
    shared: list[F64]
    """i-th table: the i-th edge from the cell's first (an edge in a later cell if fewer)."""
    exact: list[int]
    """Columns binned with np.searchsorted (too many edges share a cell)."""


def _cells(x: F64, lo: F64, scale: F64, out: F64, cells: IDX) -> IDX:
    """Each finite value's cell, monotone in x (-inf: cell 0, +inf: the last, NaN: anything)."""
    np.subtract(x, lo, out=out)
    out *= scale
    np.clip(out, 0, CELLS - 1, out=out)
    np.copyto(cells, out, casting="unsafe")  # truncation, exact on [0, CELLS - 1]
    return cells


class _Scratch(threading.local):
    """Per-thread buffers reused from model to model.

    Fresh megabyte-sized arrays cost page faults that take longer than the arithmetic.
    """

    def __init__(self) -> None:
        self.held: dict[str, NDArray[Any]] = {}

    def get(self, name: str, dtype: type, shape: tuple[int, int]) -> NDArray[Any]:
        size = shape[0] * shape[1]
        held = self.held.get(name)
        if held is None or held.size < size:
            held = self.held[name] = np.empty(max(size, 1), dtype=dtype)
        return held[:size].reshape(shape)


_scratch = _Scratch()


def edge_grid(edges: Sequence[F64]) -> EdgeGrid:
    """The tables for columns with these edges (each sorted and unique, at least two)."""
    count = len(edges)
    inner = np.full((count, BINS + MAX_SHARED), np.inf)  # edges but the last, +inf padded
    for j, e in enumerate(edges):
        inner[j, : len(e) - 1] = e[:-1]
    lo = np.array([e[0] for e in edges], dtype=np.float64).reshape(count, 1)
    hi = np.array([e[-1] for e in edges], dtype=np.float64).reshape(count, 1)
    with np.errstate(all="ignore"):
        width = hi - lo
        scale = np.where(width > 0, CELLS / np.where(width > 0, width, 1.0), 0.0)
        cell = _cells(inner, lo, scale, np.empty(inner.shape), np.empty(inner.shape, np.intp))
    cell[np.isinf(inner)] = CELLS  # padding: counted in no cell
    rows = np.arange(count)[:, None]
    per_cell = np.zeros((count, CELLS + 1), dtype=np.intp)
    np.add.at(per_cell, (np.broadcast_to(rows, cell.shape), cell), 1)
    before = np.cumsum(per_cell, axis=1) - per_cell
    base = before[:, :CELLS]
    crowded = per_cell[:, :CELLS].max(axis=1, initial=0)
    exact = [j for j in range(count) if crowded[j] > MAX_SHARED]
    checks = int(crowded[crowded <= MAX_SHARED].max(initial=0))
    shared = [np.take_along_axis(inner, base + i, axis=1).ravel() for i in range(checks)]
    return EdgeGrid(
        edges=list(edges),
        lo=lo,
        scale=scale,
        hi=hi,
        base=(base + rows * SLOTS).ravel(),
        shared=shared,
        exact=exact,
    )


@dataclass
class MatrixBins:
    """A (columns x rows) matrix binned: per-column slot counts and sums, NaN and inf counts."""

    counts: F64
    sums: F64
    nulls: F64
    invalid: F64


def bin_matrix(grid: EdgeGrid, x: F64) -> MatrixBins:
    """Bin each row of `x` (one column's values, C-contiguous) against its edges."""
    count = len(x)
    work = _scratch.get("work", np.float64, x.shape)
    cell = _scratch.get("cell", np.intp, x.shape)
    slot = _scratch.get("slot", np.intp, x.shape)
    hit = _scratch.get("hit", np.bool_, x.shape)
    columns = np.arange(count)[:, None]
    with np.errstate(all="ignore"):
        _cells(x, grid.lo, grid.scale, work, cell)
        cell += columns * CELLS
        np.take(grid.base, cell, out=slot, mode="clip")  # NaN's cell: any
        for table in grid.shared:
            np.take(table, cell, out=work, mode="clip")
            np.greater_equal(x, work, out=hit)
            slot += hit
        for j in grid.exact:
            slot[j] = j * SLOTS + np.searchsorted(grid.edges[j][:-1], x[j], side="right")
        np.greater(x, grid.hi, out=hit)
        np.copyto(slot, columns * SLOTS + SLOTS - 1, where=hit)
        flat = slot.reshape(-1)
        counts = np.bincount(flat, minlength=count * SLOTS)
        sums = np.bincount(flat, weights=x.reshape(-1), minlength=count * SLOTS).astype(
            np.float64, copy=False
        )
        if np.isfinite(sums).all():  # NaN or inf would have made their slot's sum non-finite
            return MatrixBins(
                counts=counts.reshape(count, SLOTS).astype(np.float64),
                sums=sums.reshape(count, SLOTS),
                nulls=np.zeros(count),
                invalid=np.zeros(count),
            )
        return _bin_nonfinite(slot, x)


def _bin_nonfinite(slot: IDX, x: F64) -> MatrixBins:
    """As bin_matrix's end, with NaN and +-inf moved to one extra slot each per column."""
    count = len(x)
    offsets = np.arange(count)[:, None]
    np.copyto(slot, count * SLOTS + offsets, where=np.isnan(x))
    np.copyto(slot, count * (SLOTS + 1) + offsets, where=np.isinf(x))
    flat = slot.ravel()
    size = count * (SLOTS + 2)
    counts = np.bincount(flat, minlength=size).astype(np.float64)
    sums = np.bincount(flat, weights=x.ravel(), minlength=size).astype(np.float64, copy=False)
    head = count * SLOTS
    return MatrixBins(
        counts=counts[:head].reshape(count, SLOTS),
        sums=sums[:head].reshape(count, SLOTS),
        nulls=counts[head : head + count],
        invalid=counts[head + count :],
    )
