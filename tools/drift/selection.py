"""Order statistics of every row of a matrix without sorting the rows (exact, histogram select).

Each row's range is cut into CELLS equal cells by a monotone function of the value, and one
bincount over the whole matrix counts each cell: the cumulative counts say in which cell
each wanted rank lies and how many values come before that cell. Only the values in those
cells are sorted, per row, and the ranks are read off them: the same values `np.sort`
would put at those positions. A row whose values crowd into a few cells (heavy outliers)
sorts more of its values, never more than all of them.
"""

import numpy as np
from numpy.typing import NDArray

from tools.drift.scratch import scratch

F64 = NDArray[np.float64]
IDX = NDArray[np.intp]
CELLS = 512


def order_statistics(x: F64, ranks: IDX) -> F64:
    """`np.sort(x, axis=1)[:, ranks]` for a finite C-contiguous matrix and sorted ranks."""
    count, width = x.shape
    if count == 0 or width == 0:
        return np.empty((count, len(ranks)))
    rows = np.arange(count)[:, None]
    lo = x.min(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        scale = CELLS / (x.max(axis=1, keepdims=True) - lo)
    scale[~np.isfinite(scale)] = 0.0  # constant or overflowing rows: one cell
    with scratch() as buffers:
        work = buffers.get("work", np.float64, x.shape)
        cell = buffers.get("cell", np.intp, x.shape)
        np.subtract(x, lo, out=work)  # >= 0, monotone in x
        work *= scale
        np.clip(work, 0, CELLS - 1, out=work)
        np.copyto(cell, work, casting="unsafe")
        cell += rows * CELLS
        flat = cell.reshape(-1)
        counts = np.bincount(flat, minlength=count * CELLS)
        ends = np.cumsum(counts)
        wanted = (rows * width + ranks).reshape(-1)
        home = np.searchsorted(ends, wanted, side="right")  # the cell holding each rank
        needed = np.zeros(count * CELLS, dtype=bool)
        needed[home] = True
        chosen = np.flatnonzero(needed[flat])  # row by row, each row's values in row order
        values = x.reshape(-1)[chosen]
    kept = np.where(needed, counts, 0)
    kept_ends = np.cumsum(kept)
    row_start = np.concatenate(([0], kept_ends[CELLS - 1 :: CELLS]))
    for j in range(count):
        values[row_start[j] : row_start[j + 1]].sort()
    before_cell = ends[home] - counts[home]  # values of the matrix before the rank's cell
    kept_before = kept_ends[home] - kept[home]  # chosen values before it
    at = kept_before + (wanted - before_cell)
    return np.asarray(values[at], dtype=np.float64).reshape(count, len(ranks))
