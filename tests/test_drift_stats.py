"""Property tests: binned statistics against scipy's reference implementations."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from tools.drift import stats
from tools.telemetry.binning import bin_frame, build_reference

counts_rows = st.lists(st.integers(0, 500), min_size=3, max_size=34).filter(lambda c: sum(c) > 0)


@given(counts_rows)
def test_identical_distributions_show_no_drift(counts: list[int]) -> None:
    row = np.array([counts], dtype=float)
    assert stats.psi(row, row)[0] == pytest.approx(0, abs=1e-12)
    assert stats.jensen_shannon(row, row)[0] == pytest.approx(0, abs=1e-7)
    assert stats.ks_pvalue(row, row)[0][0] == pytest.approx(0, abs=1e-12)
    assert stats.chi_square_pvalue(row, row)[0] == pytest.approx(1.0)
    sums = row * np.arange(row.shape[1], dtype=float)
    assert stats.wasserstein(row, sums, row, sums)[0] == pytest.approx(0, abs=1e-9)


@given(counts_rows, counts_rows)
def test_distances_are_symmetric_and_match_scipy(a: list[int], b: list[int]) -> None:
    size = max(len(a), len(b))
    p = np.array([a + [0] * (size - len(a))], dtype=float)
    q = np.array([b + [0] * (size - len(b))], dtype=float)
    js = stats.jensen_shannon(p, q)[0]
    assert js == pytest.approx(stats.jensen_shannon(q, p)[0])
    assert js == pytest.approx(jensenshannon(p[0] / p.sum(), q[0] / q.sum()), abs=1e-7)
    positions = np.arange(size, dtype=float)
    w = stats.wasserstein(p, p * positions, q, q * positions)[0]
    assert w == pytest.approx(stats.wasserstein(q, q * positions, p, p * positions)[0])
    assert w == pytest.approx(sps.wasserstein_distance(positions, positions, p[0], q[0]), abs=1e-9)


@given(st.lists(st.integers(1, 300), min_size=2, max_size=12), st.integers(0, 2**32 - 1))
def test_chi_square_matches_scipy(ref: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    cur = rng.multinomial(500, np.array(ref) / sum(ref)).astype(float)
    ours = stats.chi_square_pvalue(np.array([ref], dtype=float), cur[None, :])[0]
    table = np.array([ref, cur], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    scipy_p = sps.chi2_contingency(table, correction=False).pvalue
    assert ours == pytest.approx(scipy_p, rel=1e-6, abs=1e-12)


def test_chi_square_false_alarm_rate_holds_for_small_references() -> None:
    """Two samples of one distribution: ~5% flagged at p < 0.05, not the 15-40% a
    goodness-of-fit test against the (noisy) reference proportions gives."""
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(8), size=2000)
    ref = np.array([rng.multinomial(800, p) for p in probs], dtype=float)
    cur = np.array([rng.multinomial(800, p) for p in probs], dtype=float)
    assert 0.03 < float(np.mean(stats.chi_square_pvalue(ref, cur) < 0.05)) < 0.07


@settings(max_examples=30, deadline=None)
@given(
    st.floats(-1000, 1000),
    st.floats(0.01, 100),
    st.floats(-1.5, 1.5),
    st.floats(0.5, 2),
    st.integers(0, 2**32 - 1),
)
def test_binned_statistics_track_raw_values(
    mean: float, std: float, shift: float, scale: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.normal(mean, std, 3000)
    cur = rng.normal(mean + shift * std, std * scale, 2000)
    r = build_reference("x", pd.Series(ref))
    w = bin_frame([r], pd.DataFrame({"x": cur}))[0]
    rc, rs = np.array([r.counts]), np.array([r.sums])
    cc, cs = np.array([w.counts]), np.array([w.sums])
    binned_w = stats.wasserstein(rc, rs, cc, cs)[0] / r.std
    raw_w = sps.wasserstein_distance(ref, cur) / ref.std()
    assert binned_w == pytest.approx(raw_w, rel=0.1, abs=0.01)
    d, _ = stats.ks_pvalue(rc, cc)
    assert d[0] <= sps.ks_2samp(ref, cur).statistic + 1e-9  # a lower bound: CDFs at bin edges
    assert d[0] >= sps.ks_2samp(ref, cur).statistic - 2.5 / 32


def test_a_new_category_with_a_real_share_is_drift_not_nan() -> None:
    ref = np.array([[50.0, 50.0, 0.0]])
    cur = np.array([[40.0, 40.0, 20.0]])  # 20 in the "other" slot
    assert stats.chi_square_pvalue(ref, cur)[0] < 1e-4
    assert np.isfinite(stats.jensen_shannon(ref, cur)[0])
    assert np.isfinite(stats.psi(ref, cur)[0])
