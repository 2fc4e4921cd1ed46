"""Drift statistics on binned counts, vectorised over many (model, feature) rows at once.

Every function takes arrays of shape (R, K): R rows (one per model x feature), K slots
(histogram bins plus out-of-range buckets). Numeric rows also carry per-slot sums, so a bin
is a point mass at the mean of the values that fell in it; that keeps Wasserstein close to
the value computed on raw rows. Nothing here loops over rows in Python.
"""

import numpy as np
from numpy.typing import NDArray
from scipy import special

Counts = NDArray[np.float64]
EPS = 1e-4
"""Smoothing for empty bins in PSI (as in the usual PSI definition)."""


def proportions(counts: Counts) -> Counts:
    """Rows normalised to sum 1 (all-zero rows stay zero)."""
    totals = counts.sum(axis=1, keepdims=True)
    if (totals > 0).all():  # the same divisions without the (slow) masked path
        return np.asarray(np.divide(counts, totals))
    return np.asarray(np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0))


def psi(ref: Counts, cur: Counts) -> NDArray[np.float64]:
    """Population stability index per row."""
    p = np.clip(proportions(ref), EPS, None)
    q = np.clip(proportions(cur), EPS, None)
    ratio = np.divide(q, p)
    np.log(ratio, out=ratio)
    np.subtract(q, p, out=q)
    ratio *= q  # (q - p) * log(q / p), without a temporary per step
    return np.asarray(np.sum(ratio, axis=1), dtype=np.float64)


def jensen_shannon(ref: Counts, cur: Counts) -> NDArray[np.float64]:
    """Jensen-Shannon distance (natural log), as scipy.spatial.distance.jensenshannon."""
    return jensen_shannon_of(proportions(ref), proportions(cur))


def jensen_shannon_of(p: Counts, q: Counts) -> NDArray[np.float64]:
    """`jensen_shannon` of rows already normalised by `proportions`."""
    m = p + q
    m /= 2
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
    return wasserstein_of(ref, ref_sums, cur, cur_sums, proportions(ref), proportions(cur))


def wasserstein_of(
    ref: Counts, ref_sums: Counts, cur: Counts, cur_sums: Counts, p: Counts, q: Counts
) -> NDArray[np.float64]:
    """`wasserstein` given the rows' `proportions` p (reference) and q (current).

    Each step is the same floating-point operation as the textbook form (F, G the CDFs,
    F_before / G_before shifted by one slot), written into few buffers: F_before's first
    slot is 0, so |F - G_before| there is |F| and |F_before - G| is |G|.
    """
    pr = np.divide(ref_sums, np.where(ref > 0, ref, np.nan))  # slot means, NaN if empty
    pc = np.divide(cur_sums, np.where(cur > 0, cur, np.nan))
    ref_first = pr <= pc
    lo = _nan_to_num(np.fmin(pr, pc))
    hi = _nan_to_num(np.fmax(pr, pc, out=pr))
    f = np.cumsum(p, axis=1)
    g = np.cumsum(q, axis=1)
    d = np.subtract(f, g)
    np.abs(d, out=d)
    inside = np.empty_like(f)
    inside[:, 0] = f[:, 0]
    np.subtract(f[:, 1:], g[:, :-1], out=inside[:, 1:])
    other = pc
    other[:, 0] = g[:, 0]
    np.subtract(f[:, :-1], g[:, 1:], out=other[:, 1:])
    np.copyto(inside, other, where=~ref_first)
    np.abs(inside, out=inside)
    before = other  # lo * (D_before - inside), D_before's first slot 0
    np.subtract(0.0, inside[:, 0], out=before[:, 0])
    np.subtract(d[:, :-1], inside[:, 1:], out=before[:, 1:])
    before *= lo
    np.subtract(inside, d, out=inside)
    inside *= hi
    inside += before
    return np.asarray(np.sum(inside, axis=1), dtype=np.float64)


_MAX = np.finfo(np.float64).max


def _nan_to_num(x: Counts) -> Counts:
    """`np.nan_to_num` (NaN -> 0, +-inf -> +-max) without its masked copies (~10x slower)."""
    np.clip(x, -_MAX, _MAX, out=x)
    return np.where(np.isnan(x), 0.0, x)


def ks_pvalue(ref: Counts, cur: Counts) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-sample Kolmogorov-Smirnov statistic on the binned CDFs, and its asymptotic p-value."""
    return ks_pvalue_of(ref, cur, proportions(ref), proportions(cur))


def ks_pvalue_of(
    ref: Counts, cur: Counts, p: Counts, q: Counts
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`ks_pvalue` given the rows' `proportions` p (reference) and q (current).

    The p-value is scipy's `kstwobign.sf`, called as the function behind it
    (`special.kolmogorov`, the same values without the distribution object's overhead).
    """
    n, m = ref.sum(axis=1), cur.sum(axis=1)
    diff = np.subtract(p, q)
    np.cumsum(diff, axis=1, out=diff)
    np.abs(diff, out=diff)
    d = np.max(diff, axis=1)
    scale = np.sqrt(np.divide(n * m, n + m, out=np.zeros_like(n), where=(n + m) > 0))
    return np.asarray(d, dtype=np.float64), np.asarray(
        special.kolmogorov(d * scale), dtype=np.float64
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
