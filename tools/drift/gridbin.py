"""Binning a whole model's numeric columns at once through a lookup table, exactly as searchsorted.

The storage path's slot of a finite value is the number of edges (all but the last) at or
below it, or SLOTS - 1 above the last edge. Here the last edge's successor (the next float)
is one more edge, so "above" is one more slot (moved to SLOTS - 1 at the end), and each
column's range is cut into CELLS equal cells: a value's cell is
`clip(x * scale + shift)` truncated, the same float operations for values and for edges.
That function is monotone, so an edge in an earlier cell is below every value of a later
cell and an edge in a later cell above it: a value's slot is the table's count of edges in
earlier cells plus one comparison with each edge sharing its cell. Columns where more than
MAX_SHARED edges share a cell take np.searchsorted instead. Counts and sums come from one
bincount over the whole matrix, in row order within each slot, so the sums are bit for bit
the storage path's.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tools.drift.scratch import scratch
from tools.telemetry.binning import BINS, SLOTS

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
CELLS = 256
MAX_SHARED = 2


@dataclass(frozen=True)
class EdgeGrid:
    """The lookup tables of a model's numeric columns (one row per column, built once)."""

    bounds: list[F64]
    """Per exact column: its edges but the last, then the last edge's successor."""
    scale: F64
    """Per column (shape (columns, 1)): CELLS / (last edge - first edge), 0 if constant."""
    shift: F64
    """Per column: column * CELLS - first edge * scale."""
    floor: F64
    """Per column: its first cell, column * CELLS (the last is floor + CELLS - 1)."""
    base: IDX
    """Per (column, cell): column * SLOTS + the number of bounds in earlier cells."""
    shared: list[F64]
    """i-th table: the i-th bound from the cell's first (a bound in a later cell if fewer)."""
    exact: list[int]
    """Columns binned with np.searchsorted (too many bounds share a cell)."""
    order: IDX
    """Output slot -> slot counted: each column's "above" slot moved to SLOTS - 1."""


def _cells(x: F64, scale: F64, shift: F64, floor: F64, out: F64, cells: IDX) -> IDX:
    """Each finite value's cell, monotone in x (-inf: first cell, +inf: last, NaN: anything)."""
    np.multiply(x, scale, out=out)
    out += shift
    np.clip(out, floor, floor + (CELLS - 1), out=out)
    np.copyto(cells, out, casting="unsafe")  # truncation: exact, all values are >= 0
    return cells


def edge_grid(edges: Sequence[F64]) -> EdgeGrid:
    """The tables for columns with these edges (each sorted and unique, at least two)."""
    count = len(edges)
    rows = np.arange(count)[:, None]
    sizes = np.array([len(e) for e in edges], dtype=np.intp)
    padded = np.full((count, BINS + 1 + MAX_SHARED), np.inf)  # the bounds, +inf after
    flat = np.concatenate([*edges, np.empty(0)])
    last = np.cumsum(sizes) - 1
    flat[last] = np.nextafter(flat[last], np.inf)
    padded[
        np.repeat(rows.ravel(), sizes), np.arange(len(flat)) - np.repeat(last - sizes + 1, sizes)
    ] = flat
    lo = padded[:, :1].copy()
    hi = np.array([e[-1] for e in edges], dtype=np.float64).reshape(count, 1)
    floor = (rows * CELLS).astype(np.float64)
    with np.errstate(all="ignore"):
        scale = np.where(hi > lo, CELLS / np.where(hi > lo, hi - lo, 1.0), 0.0)
        shift = floor - lo * scale
        shift[~np.isfinite(shift)] = floor[~np.isfinite(shift)]
        cell = _cells(
            padded, scale, shift, floor, np.empty(padded.shape), np.empty(padded.shape, np.intp)
        )
    cell -= rows * CELLS
    cell[np.isinf(padded)] = CELLS  # padding (and a successor of the largest float): no cell
    per_cell = np.bincount((cell + rows * (CELLS + 1)).ravel(), minlength=count * (CELLS + 1))
    per_cell = per_cell.reshape(count, CELLS + 1)[:, :CELLS]
    base = np.cumsum(per_cell, axis=1) - per_cell
    crowded = per_cell.max(axis=1, initial=0)
    checks = int(crowded[crowded <= MAX_SHARED].max(initial=0))
    order = np.arange(count * SLOTS).reshape(count, SLOTS)
    above = (rows.ravel(), sizes)  # each column's "above" slot, swapped with SLOTS - 1
    order[above], order[:, SLOTS - 1] = order[:, SLOTS - 1], order[above]
    return EdgeGrid(
        bounds=[padded[j, : sizes[j]] for j in np.flatnonzero(crowded > MAX_SHARED)],
        scale=scale,
        shift=shift,
        floor=floor,
        base=(base + rows * SLOTS).ravel(),
        shared=[np.take_along_axis(padded, base + i, axis=1).ravel() for i in range(checks)],
        exact=np.flatnonzero(crowded > MAX_SHARED).tolist(),
        order=order.ravel(),
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
    with scratch() as buffers, np.errstate(all="ignore"):
        work = buffers.get("work", np.float64, x.shape)
        cell = buffers.get("cell", np.intp, x.shape)
        slot = buffers.get("slot", np.intp, x.shape)
        hit = buffers.get("hit", np.bool_, x.shape)
        _cells(x, grid.scale, grid.shift, grid.floor, work, cell)
        np.take(grid.base, cell, out=slot, mode="clip")  # NaN's cell: any
        for table in grid.shared:
            np.take(table, cell, out=work, mode="clip")
            np.greater_equal(x, work, out=hit)
            slot += hit
        for j, bounds in zip(grid.exact, grid.bounds, strict=True):
            slot[j] = j * SLOTS + np.searchsorted(bounds, x[j], side="right")
        flat = slot.reshape(-1)
        counts = np.bincount(flat, minlength=count * SLOTS)
        sums = np.bincount(flat, weights=x.reshape(-1), minlength=count * SLOTS)
        if not np.isfinite(sums).all():  # NaN or inf made the sum of their slot non-finite
            return _bin_nonfinite(grid, slot, x)
    return MatrixBins(
        counts=counts[grid.order].reshape(count, SLOTS).astype(np.float64),
        sums=sums[grid.order].reshape(count, SLOTS).astype(np.float64, copy=False),
        nulls=np.zeros(count),
        invalid=np.zeros(count),
    )


def _bin_nonfinite(grid: EdgeGrid, slot: IDX, x: F64) -> MatrixBins:
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
        counts=counts[grid.order].reshape(count, SLOTS),
        sums=sums[grid.order].reshape(count, SLOTS),
        nulls=counts[head : head + count],
        invalid=counts[head + count :],
    )
