"""The fast statistics kernels give bit for bit what the textbook numpy formulas give."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray
from scipy import special
from scipy import stats as sps

from tools.drift import stats

F64 = NDArray[np.float64]


def textbook_proportions(counts: F64) -> F64:
    totals = counts.sum(axis=1, keepdims=True)
    result: F64 = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return result


def textbook_wasserstein(ref: F64, ref_sums: F64, cur: F64, cur_sums: F64) -> F64:
    pr = np.divide(ref_sums, ref, out=np.full_like(ref, np.nan), where=ref > 0)
    pc = np.divide(cur_sums, cur, out=np.full_like(cur, np.nan), where=cur > 0)
    lo = np.nan_to_num(np.fmin(pr, pc))
    hi = np.nan_to_num(np.fmax(pr, pc))
    f = np.cumsum(textbook_proportions(ref), axis=1)
    g = np.cumsum(textbook_proportions(cur), axis=1)
    d = np.abs(f - g)
    d_before, f_before, g_before = np.zeros_like(d), np.zeros_like(f), np.zeros_like(g)
    d_before[:, 1:], f_before[:, 1:], g_before[:, 1:] = d[:, :-1], f[:, :-1], g[:, :-1]
    inside = np.where(pr <= pc, np.abs(f - g_before), np.abs(f_before - g))
    result: F64 = np.sum(hi * (inside - d) + lo * (d_before - inside), axis=1)
    return result


def textbook_psi(ref: F64, cur: F64) -> F64:
    p = np.clip(textbook_proportions(ref), stats.EPS, None)
    q = np.clip(textbook_proportions(cur), stats.EPS, None)
    result: F64 = np.sum((q - p) * np.log(q / p), axis=1)
    return result


def textbook_jensen_shannon(ref: F64, cur: F64) -> F64:
    p, q = textbook_proportions(ref), textbook_proportions(cur)
    m = (p + q) / 2
    kl = np.sum(special.rel_entr(p, m), axis=1) + np.sum(special.rel_entr(q, m), axis=1)
    result: F64 = np.sqrt(np.clip(kl / 2, 0, None))
    return result


def textbook_ks(ref: F64, cur: F64) -> tuple[F64, F64]:
    n, m = ref.sum(axis=1), cur.sum(axis=1)
    cdf_gap = np.cumsum(textbook_proportions(ref) - textbook_proportions(cur), axis=1)
    d = np.max(np.abs(cdf_gap), axis=1)
    scale = np.sqrt(np.divide(n * m, n + m, out=np.zeros_like(n), where=(n + m) > 0))
    return d, sps.kstwobign.sf(d * scale)


def same_bits(a: F64, b: F64) -> bool:
    """Equal including the sign of zero; NaN where the other is NaN."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nan = np.isnan(a)
    return bool(
        a.shape == b.shape
        and np.array_equal(nan, np.isnan(b))
        and np.array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64))
    )


counts = hnp.arrays(
    np.float64, st.tuples(st.integers(1, 6), st.integers(2, 12)), elements=st.integers(0, 60)
)
means = hnp.arrays(np.float64, 12, elements=st.floats(-1e6, 1e6) | st.sampled_from([np.inf]))


@settings(max_examples=200, deadline=None)
@given(counts, counts, means)
def test_kernels_match_the_textbook_formulas_bit_for_bit(ref: F64, cur: F64, slot: F64) -> None:
    rows, slots = min(len(ref), len(cur)), min(ref.shape[1], cur.shape[1])
    ref, cur = ref[:rows, :slots].copy(), cur[:rows, :slots].copy()
    ref[0] = 0.0  # an empty reference row takes the all-zero path of the proportions
    with np.errstate(all="ignore"):
        ref_sums, cur_sums = ref * slot[:slots], cur * np.sort(slot[:slots])
        assert same_bits(stats.proportions(cur), textbook_proportions(cur))
        assert same_bits(stats.psi(ref, cur), textbook_psi(ref, cur))
        assert same_bits(stats.jensen_shannon(ref, cur), textbook_jensen_shannon(ref, cur))
        assert same_bits(
            stats.wasserstein(ref, ref_sums, cur, cur_sums),
            textbook_wasserstein(ref, ref_sums, cur, cur_sums),
        )
        for ours, textbook in zip(stats.ks_pvalue(ref, cur), textbook_ks(ref, cur), strict=True):
            assert same_bits(ours, textbook)
