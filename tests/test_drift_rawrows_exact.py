"""The raw-row path's counts, sums, edges and statistics are bit for bit the storage path's.

Frames mix the awkward cases: values equal to a reference edge and its float neighbours,
NaN and +-inf, constant and discrete columns, heavy tails that crowd the edges into a few
lookup cells, integer and Arrow string columns with unseen categories, empty windows.
"""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.drift.rawrows import ReferenceProfile, bin_current, build_profile, profile_of
from tools.drift.selection import order_statistics
from tools.telemetry.binning import (
    SLOTS,
    FeatureKind,
    FeatureReference,
    FeatureWindow,
    bin_frame,
    bin_window,
    build_reference,
)

KINDS = ("normal", "ties", "constant", "heavy", "integer", "text")


def _numbers(rng: np.random.Generator, kind: str, rows: int, pool: np.ndarray) -> np.ndarray:
    if kind == "normal":
        return rng.normal(rng.uniform(-1e3, 1e3), rng.uniform(1e-3, 1e2), rows)
    if kind == "ties":
        return rng.choice(pool, rows)
    if kind == "constant":
        return np.full(rows, pool[0])
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return rng.exponential(1.0, rows) ** 6 * sign  # heavy tail: crowded edges


def _specials(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    hit = rng.random(len(x)) < share
    x[hit] = rng.choice([np.nan, np.inf, -np.inf], int(hit.sum()))
    return x


@st.composite
def frame_pairs(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current window; current values land on the reference's edges."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows_ref, rows_cur = draw(st.integers(0, 400)), draw(st.integers(0, 400))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6))
    share = draw(st.sampled_from([0.0, 0.0, 0.02, 0.3]))
    ref, cur = {}, {}
    for j, kind in enumerate(kinds):
        name = f"f{j}"
        if kind == "text":
            labels = np.array([f"c{k}" for k in range(draw(st.integers(1, 40)))], dtype=object)
            ref[name] = pd.Series(rng.choice(labels, rows_ref), dtype="str")
            unseen = np.append(labels, ["new"])
            cur[name] = pd.Series(rng.choice(unseen, rows_cur), dtype="str")
            cur[name][rng.random(rows_cur) < share] = None
            continue
        if kind == "integer":
            ref[name] = rng.integers(-50, draw(st.integers(-40, 500)), rows_ref)
            cur[name] = rng.integers(-60, 600, rows_cur)
            continue
        pool = rng.normal(0, 10, draw(st.integers(1, 12)))
        reference = _specials(rng, _numbers(rng, kind, rows_ref, pool), share)
        ref[name] = reference
        edges = np.asarray(build_reference(name, pd.Series(reference)).edges)
        near = np.concatenate(
            [edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf), pool]
        )
        fresh = _numbers(rng, kind, rows_cur, pool)
        on_edge = rng.random(rows_cur) < 0.5
        fresh[on_edge] = rng.choice(near, int(on_edge.sum()))
        cur[name] = _specials(rng, fresh, share)
    if draw(st.booleans()) and len(kinds) > 1:
        cur.pop("f0")  # a column gone from the window
    return pd.DataFrame(ref), pd.DataFrame(cur)


def _stored_windows(stored: list[FeatureReference], cur: pd.DataFrame) -> list[FeatureWindow]:
    """`bin_frame`, or `bin_window` for a numeric reference without edges (all NaN or inf),
    which `bin_frame`'s numeric matrix does not take."""
    if all(r.edges for r in stored if r.kind is FeatureKind.NUMERIC):
        return bin_frame(stored, cur)
    return [bin_window(r, cur[r.feature] if r.feature in cur.columns else None) for r in stored]


def _assert_same_window(
    profile: ReferenceProfile, stored: list[FeatureReference], cur: pd.DataFrame
) -> None:
    got = bin_current(profile, cur)
    for j, window in enumerate(_stored_windows(stored, cur)):
        assert got.counts[j].tolist() == window.counts, window.feature
        assert got.sums[j].tolist() == window.sums, window.feature
        assert (got.n[j], got.nulls[j], got.invalid[j]) == (
            window.n,
            window.nulls,
            window.invalid,
        ), window.feature
        assert (got.missing[j], got.type_mismatch[j]) == (window.missing, window.type_mismatch)


@settings(max_examples=250, deadline=None)
@given(frame_pairs())
def test_profile_and_window_are_the_stored_ones(pair: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = pair
    stored = [build_reference(str(c), ref[c]) for c in ref.columns]
    profile = build_profile(ref)
    for j, expected in enumerate(stored):
        name = expected.feature
        assert profile.counts[j].tolist() == expected.counts, name
        assert profile.sums[j].tolist() == expected.sums, name
        assert profile.edges[j].tolist() == expected.edges, name
        assert (profile.n[j], profile.nulls[j]) == (expected.n, expected.nulls), name
        assert (profile.std[j], profile.n_unique[j]) == (expected.std, expected.n_unique), name
        assert profile.is_cat[j] == (expected.kind is FeatureKind.CATEGORICAL), name
        if j in profile.fallback:
            assert profile.fallback[j].categories == expected.categories, name
    _assert_same_window(profile, stored, cur)
    _assert_same_window(profile_of(stored), stored, cur)


def test_crowded_edges_fall_back_to_searchsorted_with_the_same_counts() -> None:
    rng = np.random.default_rng(5)
    heavy = np.append(rng.normal(0, 1, 3000), [1e12])  # one outlier: 31 edges in one cell
    ref = pd.DataFrame({"heavy": heavy, "plain": rng.normal(0, 1, 3001)})
    profile = build_profile(ref)
    assert profile.grid.exact == [0]
    cur = pd.DataFrame(
        {
            "heavy": np.concatenate([profile.edges[0], rng.normal(0, 2, 500), [2e12]]),
            "plain": rng.normal(0, 1, 534),
        }
    )
    stored = [build_reference(c, ref[c]) for c in ref.columns]
    _assert_same_window(profile, stored, cur)


def test_two_edges_in_one_cell_take_two_comparisons() -> None:
    edges = [0.0, 1e-9, 1.0]
    stored = [
        FeatureReference(
            feature="x",
            kind=FeatureKind.NUMERIC,
            edges=edges,
            counts=[0.0] * SLOTS,
            sums=[0.0] * SLOTS,
            n=0,
            nulls=0,
            n_unique=100,
        )
    ]
    profile = profile_of(stored)
    assert len(profile.grid.shared) == 2 and profile.grid.exact == []
    near = np.array(edges)
    x = np.concatenate([near, np.nextafter(near, 2), np.nextafter(near, -2), [5e-10, -1, 2]])
    _assert_same_window(profile, stored, pd.DataFrame({"x": x}))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 600))
def test_order_statistics_are_those_of_a_sort(seed: int, count: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = [
        rng.normal(0, 1, width),
        rng.exponential(1, width) ** 8,
        rng.integers(0, 4, width).astype(float),
        np.full(width, -2.5),
        np.append(rng.normal(1e15, 1, width - 1), [-1e308]),
    ]
    x = np.stack([shapes[rng.integers(len(shapes))] for _ in range(count)])
    ranks = np.unique(rng.integers(0, width, 70))
    assert np.array_equal(order_statistics(x, ranks), np.sort(x, axis=1)[:, ranks])


def test_other_dtypes_in_the_window_take_the_storage_path() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame(
        {
            "amount": rng.normal(0, 1, 800),
            "ratio": rng.normal(5, 2, 800),
            "wide": rng.normal(0, 9, 800),
            "flag": rng.random(800) < 0.3,
        }
    )
    cur = pd.DataFrame(
        {
            "amount": pd.Series(rng.choice(["n/a", "x"], 300), dtype="str"),
            "ratio": rng.normal(5, 2, 300).astype(np.float32),
            "wide": pd.array(rng.integers(-20, 20, 300), dtype="Int64"),
            "flag": rng.random(300) < 0.6,
        }
    )
    cur.loc[::7, "wide"] = pd.NA
    stored = [build_reference(c, ref[c]) for c in ref.columns]
    profile = build_profile(ref)
    _assert_same_window(profile, stored, cur)
    got = bin_current(profile, cur)
    assert got.type_mismatch.tolist() == [True, False, False, False]
    assert got.nulls[2] == 43 and got.counts[1].sum() == 300
