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
    """Earth mover's distance between two sets of point masses (slot means), per row.

    Slots are ordered (all values of slot k lie below those of slot k+1), so no sort is
    needed. With D_k = |F_k - G_k| after slot k and I_k the CDF gap between slot k's two
    means, the distance is sum_k hi_k (I_k - D_k) + lo_k (D_(k-1) - I_k); an empty slot's
    coefficients vanish, so its position does not matter.
    """
    pr = np.divide(ref_sums, ref, out=np.full_like(ref, np.nan), where=ref > 0)
    pc = np.divide(cur_sums, cur, out=np.full_like(cur, np.nan), where=cur > 0)
    lo = np.nan_to_num(np.fmin(pr, pc))
    hi = np.nan_to_num(np.fmax(pr, pc))
    f = np.cumsum(proportions(ref), axis=1)
    g = np.cumsum(proportions(cur), axis=1)
    d = np.abs(f - g)
    d_before = np.zeros_like(d)
    d_before[:, 1:] = d[:, :-1]
    f_before = np.zeros_like(f)
    f_before[:, 1:] = f[:, :-1]
    g_before = np.zeros_like(g)
    g_before[:, 1:] = g[:, :-1]
    inside = np.where(pr <= pc, np.abs(f - g_before), np.abs(f_before - g))
    total = hi * (inside - d) + lo * (d_before - inside)
    return np.asarray(np.sum(total, axis=1), dtype=np.float64)


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
