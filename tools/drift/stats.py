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
    """Two-sample chi-squared test of homogeneity: are both windows one distribution?

    Evidently tests the current counts against the reference *proportions* as if those were
    exact. They are not: this test only runs on small references (<= 1,000 rows), where
    that doubles the statistic for equal-sized windows and flags 10-34% of unchanged
    categorical features at the material threshold instead of ~1%. Both samples count here.
    A category never seen in the reference counts like any other: a handful of rows of a
    rare category is noise, a new category holding a real share of the window is drift.
    """
    n_ref = ref.sum(axis=1, keepdims=True)
    n_cur = cur.sum(axis=1, keepdims=True)
    pooled = ref + cur
    total = n_ref + n_cur
    share = np.divide(pooled, total, out=np.zeros_like(pooled), where=total > 0)
    terms = np.zeros_like(pooled)
    for observed, n in ((ref, n_ref), (cur, n_cur)):
        expected = share * n
        terms += np.divide(
            (observed - expected) ** 2, expected, out=np.zeros_like(pooled), where=expected > 0
        )
    dof = np.clip((pooled > 0).sum(axis=1) - 1, 1, None)
    p = special.chdtrc(dof, terms.sum(axis=1))
    return np.asarray(p, dtype=np.float64)


def fdr_cutoff(p_values: NDArray[np.float64], q: float) -> float:
    """Benjamini-Hochberg: the largest p-value still significant at false-discovery rate q.

    A scan runs one test per (model, feature): at a fixed p < 0.01, a thousand unchanged
    features give ~10 false alarms. Under BH, pure noise passes nothing with probability
    >= 1 - q, while strong drift (p near 0) always passes. 0.0 when nothing passes.
    """
    if p_values.size == 0:
        return 0.0
    ranked = np.sort(p_values)
    limits = q * np.arange(1, ranked.size + 1) / ranked.size
    passing = np.flatnonzero(ranked <= limits)
    return float(ranked[passing[-1]]) if passing.size else 0.0
