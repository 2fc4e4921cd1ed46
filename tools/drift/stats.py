"""Drift statistics on binned counts, vectorised over many (model, feature) rows at once.

Every function takes arrays of shape (R, K): R rows (one per model x feature), K slots
(histogram bins plus out-of-range buckets). Numeric rows also carry per-slot sums, so a bin
is a point mass at the mean of the values that fell in it; that keeps Wasserstein close to
the value computed on raw rows. Nothing here loops over rows in Python.
"""

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

Counts = NDArray[np.float64]
EPS = 1e-4
"""Smoothing for empty bins in PSI (as in the usual PSI definition)."""


def proportions(counts: Counts) -> Counts:
    """Rows normalised to sum 1 (all-zero rows stay zero)."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0))


def psi(ref: Counts, cur: Counts) -> NDArray[np.float64]:
    """Population stability index per row."""
    p = np.clip(proportions(ref), EPS, None)
    q = np.clip(proportions(cur), EPS, None)
    return np.asarray(np.sum((q - p) * np.log(q / p), axis=1), dtype=np.float64)


def jensen_shannon(ref: Counts, cur: Counts) -> NDArray[np.float64]:
    """Jensen-Shannon distance (natural log), as scipy.spatial.distance.jensenshannon."""
    p, q = proportions(ref), proportions(cur)
    m = (p + q) / 2
    kl_p = np.sum(special.rel_entr(p, m), axis=1)
    kl_q = np.sum(special.rel_entr(q, m), axis=1)
    return np.asarray(np.sqrt(np.clip((kl_p + kl_q) / 2, 0, None)), dtype=np.float64)


def wasserstein(
    ref: Counts, ref_sums: Counts, cur: Counts, cur_sums: Counts
) -> NDArray[np.float64]:
    """Earth mover's distance between two sets of point masses (slot means), per row."""
    ref_pos = np.divide(ref_sums, ref, out=np.full_like(ref, np.nan), where=ref > 0)
    cur_pos = np.divide(cur_sums, cur, out=np.full_like(cur, np.nan), where=cur > 0)
    positions = np.concatenate([ref_pos, cur_pos], axis=1)
    p = np.concatenate([proportions(ref), np.zeros_like(cur)], axis=1)
    q = np.concatenate([np.zeros_like(ref), proportions(cur)], axis=1)
    filler = np.nanmin(np.where(np.isnan(positions), np.inf, positions), axis=1, keepdims=True)
    positions = np.where(np.isnan(positions), np.where(np.isinf(filler), 0.0, filler), positions)
    order = np.argsort(positions, axis=1, kind="stable")
    positions = np.take_along_axis(positions, order, axis=1)
    gap = np.diff(positions, axis=1)
    cdf_gap = np.abs(np.cumsum(np.take_along_axis(p - q, order, axis=1), axis=1))[:, :-1]
    return np.asarray(np.sum(cdf_gap * gap, axis=1), dtype=np.float64)


def ks_pvalue(ref: Counts, cur: Counts) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-sample Kolmogorov-Smirnov statistic on the binned CDFs, and its asymptotic p-value."""
    n, m = ref.sum(axis=1), cur.sum(axis=1)
    d = np.max(np.abs(np.cumsum(proportions(ref) - proportions(cur), axis=1)), axis=1)
    scale = np.sqrt(np.divide(n * m, n + m, out=np.zeros_like(n), where=(n + m) > 0))
    return np.asarray(d, dtype=np.float64), np.asarray(
        stats.kstwobign.sf(d * scale), dtype=np.float64
    )


def chi_square_pvalue(ref: Counts, cur: Counts) -> NDArray[np.float64]:
    """Chi-squared goodness of fit of current counts to reference proportions.

    A category seen now but never in the reference makes the p-value 0 (as scipy's
    `chisquare` does with a zero expected count).
    """
    expected = proportions(ref) * cur.sum(axis=1, keepdims=True)
    used = (expected > 0) | (cur > 0)
    unseen = np.any((expected == 0) & (cur > 0), axis=1)
    terms = np.divide((cur - expected) ** 2, expected, out=np.zeros_like(cur), where=expected > 0)
    dof = np.clip(used.sum(axis=1) - 1, 1, None)
    p = special.chdtrc(dof, terms.sum(axis=1))
    return np.asarray(np.where(unseen, 0.0, p), dtype=np.float64)
