"""The raw-row path computes exactly what the storage path (build_reference/bin_frame) stores."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tools.drift.batch import FeatureArrays
from tools.drift.rawrows import (
    bin_current,
    bin_many,
    feature_arrays,
    profile_of,
    quantile_edges,
)
from tools.telemetry.binning import BINS, bin_frame, build_reference

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 400), elements=finite))
def test_edges_are_bit_for_bit_those_of_np_quantile(x: np.ndarray) -> None:
    expected = np.unique(np.quantile(x, np.linspace(0, 1, BINS + 1)))
    assert np.array_equal(quantile_edges(np.sort(x)), expected)


def frames(seed: int, rows: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "amount": rng.normal(100, 15, rows),
            "count": rng.integers(0, 1000, rows),
            "level": rng.integers(0, 3, rows).astype(float),
            "channel": rng.choice(["web", "app", "store"], rows),
            "gappy": np.where(rng.random(rows) < 0.1, np.nan, rng.exponential(3, rows)),
            "gone": rng.normal(0, 1, rows),
        }
    )
    cur = pd.DataFrame(
        {
            "amount": rng.normal(130, 15, rows) * np.where(rng.random(rows) < 0.05, 1000, 1),
            "count": rng.integers(0, 1500, rows),
            "level": rng.integers(0, 4, rows).astype(float),
            "channel": rng.choice(["web", "app", "kiosk"], rows),
            "gappy": np.where(rng.random(rows) < 0.3, np.nan, rng.exponential(3, rows)),
        }
    )
    cur.loc[::97, "gappy"] = np.inf
    cur.loc[::101, "amount"] = -np.inf
    return ref, cur


def storage_path(ref: pd.DataFrame, cur: pd.DataFrame) -> FeatureArrays:
    refs = [build_reference(c, ref[c]) for c in ref.columns]
    windows = bin_frame(refs, cur)
    profile = profile_of(refs)
    binned = bin_current(profile, cur)  # the stored reference, binned the raw-row way
    stored = feature_arrays([(profile, binned)])
    for j, w in enumerate(windows):
        assert stored.cur_counts[j].tolist() == w.counts, w.feature
        np.testing.assert_allclose(stored.cur_sums[j], w.sums, rtol=1e-12, atol=1e-9)
        assert (stored.cur_n[j], stored.cur_nulls[j], stored.invalid[j]) == (
            w.n,
            w.nulls,
            w.invalid,
        ), w.feature
        assert (stored.missing[j], stored.type_mismatch[j]) == (w.missing, w.type_mismatch)
    return stored


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_raw_path_matches_the_storage_path(seed: int) -> None:
    ref, cur = frames(seed)
    expected = storage_path(ref, cur)
    (pair,) = bin_many([(ref, cur)], workers=1)
    got = feature_arrays([pair])
    assert got.feature == expected.feature
    exact = ("is_cat", "ref_counts", "ref_n", "ref_nulls", "ref_std", "n_unique", "cur_counts")
    for name in exact:
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    for name in ("cur_n", "cur_nulls", "invalid", "missing", "type_mismatch"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    for name in ("ref_sums", "cur_sums"):
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12)
    assert got.missing.tolist() == [False] * 5 + [True]
    assert got.invalid[got.feature.index("gappy")] > 0


def test_two_threads_give_the_results_of_one() -> None:
    work = [frames(seed, rows=500) for seed in range(6)]
    one = feature_arrays(bin_many(work, workers=1))
    two = feature_arrays(bin_many(work, workers=2))
    for name in ("ref_counts", "ref_sums", "cur_counts", "cur_sums", "model_index"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert one.rows == 36 and set(one.model_index.tolist()) == set(range(6))
