"""The drift engine's rules on hand-built arrays: which test a feature gets, where each
threshold lies (on both sides), the data-quality checks and what their details say.

The arrays are small histograms of four slots (slot 0 and the last: outside the reference
range), so each rule is checked on exactly the row that sits on its boundary.
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from tools.drift import stats
from tools.drift.batch import FeatureArrays, ModelArrays, ScanBatch
from tools.drift.engine import (
    CHUNK_ROWS,
    TESTS,
    DriftConfig,
    feature_dq,
    feature_tests,
    scan,
    scan_partial,
    with_fdr_cutoff,
)
from tools.drift.signals import DqIssue, ModelSignals

WINDOW = datetime(2026, 11, 3, tzinfo=UTC)
CENTRES = np.array([-1.0, 0.5, 1.5, 3.0])
"""Where each slot's values lie (so sums = counts x centres)."""
REF = [0.0, 600.0, 400.0, 0.0]
"""A reference histogram of 1,000 values, all inside the range."""


def row(
    *,
    ref: list[float] | None = None,
    cur: list[float] | None = None,
    is_cat: bool = False,
    n_unique: float = 50,
    ref_n: float | None = None,
    ref_nulls: float = 0,
    std: float = 1.0,
    cur_nulls: float = 0,
    invalid: float = 0,
    missing: bool = False,
    type_mismatch: bool = False,
    importance: float = 1.0,
    model: int = 0,
    feature: str = "f1",
) -> dict[str, Any]:
    """One (model, feature) row; the current window is the reference unless given."""
    ref = REF if ref is None else ref
    cur = ref if cur is None else cur
    return {
        "model_index": model,
        "feature": feature,
        "is_cat": is_cat,
        "ref_counts": ref,
        "ref_sums": list(np.array(ref) * CENTRES),
        "ref_n": sum(ref) if ref_n is None else ref_n,
        "ref_nulls": ref_nulls,
        "ref_std": std,
        "n_unique": n_unique,
        "importance": importance,
        "cur_counts": cur,
        "cur_sums": list(np.array(cur) * CENTRES),
        "cur_n": sum(cur),
        "cur_nulls": cur_nulls,
        "invalid": invalid,
        "missing": missing,
        "type_mismatch": type_mismatch,
    }


def features(*rows: dict[str, Any]) -> FeatureArrays:
    def column(name: str, dtype: Any) -> Any:
        return np.array([r[name] for r in rows], dtype=dtype)

    return FeatureArrays(
        model_index=column("model_index", np.int64),
        feature=[r["feature"] for r in rows],
        is_cat=column("is_cat", bool),
        ref_counts=column("ref_counts", np.float64),
        ref_sums=column("ref_sums", np.float64),
        ref_n=column("ref_n", np.float64),
        ref_nulls=column("ref_nulls", np.float64),
        ref_std=column("ref_std", np.float64),
        n_unique=column("n_unique", np.float64),
        importance=column("importance", np.float64),
        cur_counts=column("cur_counts", np.float64),
        cur_sums=column("cur_sums", np.float64),
        cur_n=column("cur_n", np.float64),
        cur_nulls=column("cur_nulls", np.float64),
        invalid=column("invalid", np.float64),
        missing=column("missing", bool),
        type_mismatch=column("type_mismatch", bool),
    )


def models(*facts: dict[str, Any]) -> ModelArrays:
    """One model per dict: a healthy 24-hour window of 1,000 rows unless told otherwise."""
    defaults: dict[str, Any] = {
        "window_hours": 24.0,
        "rows": 1000.0,
        "expected_rows": 1000.0,
        "freshness_lag_h": 1.0,
        "metric": "auc",
        "metric_value": 0.9,
        "reference_metric": 0.9,
        "higher_is_better": True,
        "latency_p95_ms": 40.0,
        "baseline_latency_ms": 40.0,
    }
    full = [defaults | f for f in facts]

    def column(name: str, dtype: Any = np.float64) -> Any:
        return np.array([f[name] for f in full], dtype=dtype)

    return ModelArrays(
        model=[f"m{i}" for i in range(len(full))],
        pipeline=[f.get("pipeline", "pipe-a") for f in full],
        window_start=[WINDOW] * len(full),
        deployed_at=[WINDOW - timedelta(days=30)] * len(full),
        window_hours=column("window_hours"),
        rows=column("rows"),
        expected_rows=column("expected_rows"),
        freshness_lag_h=column("freshness_lag_h"),
        metric=[f["metric"] for f in full],
        metric_value=column("metric_value"),
        reference_metric=column("reference_metric"),
        higher_is_better=column("higher_is_better", bool),
        latency_p95_ms=column("latency_p95_ms"),
        baseline_latency_ms=column("baseline_latency_ms"),
    )


def one_model(
    *rows: dict[str, Any], config: DriftConfig | None = None, **facts: Any
) -> ModelSignals:
    """Scan one model in detail (every model comes back, every feature listed)."""
    [signals] = scan(ScanBatch(features(*rows), models(facts)), config, detail=True)
    return signals


def chosen_tests(f: FeatureArrays, config: DriftConfig | None = None) -> list[str]:
    return [TESTS[int(t)] for t in feature_tests(f, config or DriftConfig()).test]


SHIFTED = [0.0, 400.0, 600.0, 0.0]
"""The reference's mass moved up one bin: drift for every test."""


# --- test choice -------------------------------------------------------------------------


def test_the_test_follows_reference_size_and_discreteness() -> None:
    f = features(
        row(ref_n=1000),  # small, numeric
        row(ref_n=1000, is_cat=True),  # small, categorical
        row(ref_n=1000, n_unique=5),  # small, five values: discrete
        row(ref_n=1000, n_unique=6),  # small, six values: numeric
        row(ref_n=1001),  # large, numeric
        row(ref_n=1001, is_cat=True),  # large, categorical
        row(ref_n=1001, n_unique=5),
        row(ref_n=1001, n_unique=6),
    )
    assert chosen_tests(f) == [
        "ks",
        "chi_square",
        "chi_square",
        "ks",
        "wasserstein",
        "jensen_shannon",
        "jensen_shannon",
        "wasserstein",
    ]


def test_the_small_reference_size_is_configurable() -> None:
    f = features(row(ref_n=2000), row(ref_n=2001))
    assert chosen_tests(f, DriftConfig(small_reference_rows=2000)) == ["ks", "wasserstein"]


def test_each_test_has_its_threshold_and_score() -> None:
    f = features(
        row(ref_n=500, cur=SHIFTED),
        row(ref_n=500, cur=SHIFTED, is_cat=True),
        row(ref_n=5000, cur=SHIFTED, std=2.0),
        row(ref_n=5000, cur=SHIFTED, is_cat=True),
    )
    results = feature_tests(f, DriftConfig(p_value=0.04, distance=0.2))
    ref, cur = f.ref_counts, f.cur_counts
    expected = [
        stats.ks_pvalue(ref[:1], cur[:1])[1][0],
        stats.chi_square_pvalue(ref[1:2], cur[1:2])[0],
        stats.wasserstein(ref[2:3], f.ref_sums[2:3], cur[2:3], f.cur_sums[2:3])[0] / 2.0,
        stats.jensen_shannon(ref[3:], cur[3:])[0],
    ]
    assert list(results.score) == pytest.approx(expected, rel=1e-12)
    assert list(results.threshold) == [0.04, 0.04, 0.2, 0.2]
    assert expected[2] == pytest.approx(0.1)  # a fifth of the mass moved by 1.0, over std 2


def test_a_zero_spread_reference_measures_distance_in_raw_units() -> None:
    f = features(row(ref_n=5000, cur=SHIFTED, std=0.0), row(ref_n=5000, cur=SHIFTED, std=4.0))
    score = feature_tests(f, DriftConfig()).score
    assert score[0] == pytest.approx(0.2)
    assert score[1] == pytest.approx(0.05)


def test_a_p_value_drifts_strictly_below_its_threshold() -> None:
    f = features(row(ref_n=500, cur=SHIFTED))
    p = float(feature_tests(f, DriftConfig()).score[0])
    assert 0 < p < 1
    assert not feature_tests(f, DriftConfig(p_value=p)).drifted[0]
    assert feature_tests(f, DriftConfig(p_value=math.nextafter(p, 1.0))).drifted[0]


def test_a_distance_drifts_at_its_threshold() -> None:
    f = features(row(ref_n=5000, cur=SHIFTED, is_cat=True))
    d = float(feature_tests(f, DriftConfig()).score[0])
    assert d > 0
    assert feature_tests(f, DriftConfig(distance=d)).drifted[0]
    assert not feature_tests(f, DriftConfig(distance=math.nextafter(d, 1.0))).drifted[0]


def test_scores_are_the_same_across_chunk_boundaries() -> None:
    """Rows past the first block (and of every test) are scored like the same row alone."""
    kinds = [
        row(ref_n=500, cur=SHIFTED),
        row(ref_n=500, cur=SHIFTED, is_cat=True),
        row(ref_n=5000, cur=SHIFTED),
        row(ref_n=5000, cur=SHIFTED, is_cat=True),
    ]
    alone = [feature_tests(features(r), DriftConfig()) for r in kinds]
    n = 2 * CHUNK_ROWS + 3
    many = feature_tests(features(*(kinds[i % 4] for i in range(n))), DriftConfig())
    assert [float(s) for s in many.score] == [float(alone[i % 4].score[0]) for i in range(n)]
    psi = [
        float(stats.psi(np.array([r["ref_counts"]]), np.array([r["cur_counts"]]))[0]) for r in kinds
    ]
    [one] = scan(ScanBatch(features(*(kinds[i % 4] for i in range(n))), models({})), detail=True)
    assert [f.psi for f in one.features] == [psi[i % 4] for i in range(n)]
    assert [f.score for f in one.features] == [float(s) for s in many.score]


# --- data quality ------------------------------------------------------------------------


def dq_of(*rows: dict[str, Any], config: DriftConfig | None = None) -> dict[str, list[bool]]:
    found = feature_dq(features(*rows), config or DriftConfig())
    return {kind: [bool(x) for x in mask] for kind, mask in found.items()}


def test_a_null_spike_is_a_rise_of_the_null_rate_past_the_jump() -> None:
    # reference 10% nulls (100 of 1,000); current 1,000 values plus nulls
    at = row(ref_n=900, ref_nulls=100, cur=[0, 600, 400, 0], cur_nulls=250)  # 20%: +0.1
    past = row(ref_n=900, ref_nulls=100, cur=[0, 600, 400, 0], cur_nulls=251)
    assert dq_of(at, past)["null_spike"] == [False, True]
    found = dq_of(at, past, config=DriftConfig(null_rate_jump=0.1 - 1e-9))
    assert found["null_spike"] == [True, True]
    assert dq_of(at, past, config=DriftConfig(null_rate_jump=0.1 + 1e-9))["null_spike"] == [
        False,
        True,
    ]


def test_null_rates_count_invalid_values_in_the_current_total() -> None:
    # 200 nulls of 1,000 values + 200 nulls + 100 invalid = 15.4%; of 1,200 it would be 16.7%
    f = row(cur_nulls=200, invalid=100)
    assert dq_of(f, config=DriftConfig(null_rate_jump=0.16))["null_spike"] == [False]
    assert dq_of(f, config=DriftConfig(null_rate_jump=0.15))["null_spike"] == [True]


def test_an_empty_window_or_reference_has_a_null_rate_of_zero() -> None:
    empty = row(ref=[0, 0, 0, 0], ref_n=0, cur=[0, 0, 0, 0])
    assert dq_of(empty, config=DriftConfig(null_rate_jump=-0.5))["null_spike"] == [True]
    assert dq_of(empty, config=DriftConfig(null_rate_jump=0.0))["null_spike"] == [False]


def test_invalid_values_past_one_percent_of_the_window() -> None:
    # 1,000 values + 10 invalid: one percent of 1,010 is 10.1
    assert dq_of(row(invalid=10), row(invalid=11))["invalid_values"] == [False, True]
    # an empty window's floor is one row: past 0.01 (counts are weights here)
    empty = [row(cur=[0, 0, 0, 0], invalid=x) for x in (0.005, 0.011)]
    assert dq_of(*empty)["invalid_values"] == [False, True]


def test_out_of_range_is_more_than_the_share_outside_the_reference_range() -> None:
    half = row(cur=[250, 250, 250, 250])  # 500 of 1,000 outside (both ends)
    more = row(cur=[250, 249, 250, 251])
    assert dq_of(half, more)["out_of_range"] == [False, True]
    low_only = row(cur=[501, 499, 0, 0])
    high_only = row(cur=[0, 0, 499, 501])
    assert dq_of(low_only, high_only)["out_of_range"] == [True, True]
    assert dq_of(half, config=DriftConfig(out_of_range_share=0.49))["out_of_range"] == [True]


def test_categories_and_type_changes_are_never_out_of_range() -> None:
    unseen = row(cur=[0, 0, 0, 1000], is_cat=True)
    retyped = row(cur=[0, 0, 0, 1000], type_mismatch=True)
    found = dq_of(unseen, retyped)
    assert found["out_of_range"] == [False, False]
    assert found["type_change"] == [False, True]


def test_a_missing_feature_has_no_other_issue() -> None:
    gone = row(cur=[0, 0, 0, 0], missing=True, cur_nulls=500, invalid=500, type_mismatch=True)
    found = dq_of(gone)
    assert {kind: mask[0] for kind, mask in found.items()} == {
        "missing_feature": True,
        "type_change": False,
        "null_spike": False,
        "invalid_values": False,
        "out_of_range": False,
    }


def test_each_data_issue_says_what_was_found() -> None:
    s = one_model(
        row(feature="gone", cur=[0, 0, 0, 0], missing=True),
        row(feature="retyped", type_mismatch=True),
        row(feature="nulls", ref_n=950, ref_nulls=50, cur_nulls=1000),
        row(feature="inf", invalid=37),
        row(feature="units", cur=[0, 100, 200, 700]),
    )
    assert [i.model_dump() for i in s.dq_issues] == [
        DqIssue(
            kind="missing_feature",
            feature="gone",
            detail="column absent from the current window (schema change?)",
        ).model_dump(),
        DqIssue(
            kind="type_change", feature="retyped", detail="values are no longer numeric"
        ).model_dump(),
        DqIssue(kind="null_spike", feature="nulls", detail="50% nulls (reference 5%)").model_dump(),
        DqIssue(
            kind="invalid_values", feature="inf", detail="37 infinite or non-numeric values"
        ).model_dump(),
        DqIssue(
            kind="out_of_range",
            feature="units",
            detail="70% of values outside the reference range (unit change?)",
        ).model_dump(),
    ]


def test_null_details_of_empty_windows_do_not_divide_by_zero() -> None:
    s = one_model(
        row(ref=[0, 0, 0, 0], ref_n=0, cur=[0, 0, 0, 0], cur_nulls=3),
        config=DriftConfig(null_rate_jump=0.5),
    )
    assert [i.detail for i in s.dq_issues] == ["100% nulls (reference 0%)"]


def test_out_of_range_detail_counts_both_ends() -> None:
    s = one_model(row(cur=[300, 100, 0, 600]))
    assert [i.detail for i in s.dq_issues] == [
        "90% of values outside the reference range (unit change?)"
    ]


# --- windows, performance, latency -------------------------------------------------------


def issues(s: ModelSignals) -> list[tuple[str, str | None, str]]:
    return [(i.kind, i.feature, i.detail) for i in s.dq_issues]


def test_a_window_is_low_volume_below_half_its_expected_rows() -> None:
    assert one_model(row(), rows=500.0).dq_issues == []
    s = one_model(row(), rows=499.0)
    assert issues(s) == [("low_volume", None, "499 rows, expected ~1000")]
    assert one_model(row(), rows=600.0, config=DriftConfig(min_volume_ratio=0.7)).dq_issues


def test_a_window_is_stale_past_one_and_a_half_windows_of_lag() -> None:
    assert one_model(row(), freshness_lag_h=36.0).dq_issues == []
    s = one_model(row(), freshness_lag_h=37.25)
    assert issues(s) == [("stale", None, "newest data is 37 h old")]
    assert one_model(row(), freshness_lag_h=25.0, config=DriftConfig(max_lag_windows=1.0)).dq_issues


def test_window_issues_come_after_feature_issues_low_volume_first() -> None:
    s = one_model(row(invalid=500), rows=10.0, freshness_lag_h=100.0)
    assert [i.kind for i in s.dq_issues] == ["invalid_values", "low_volume", "stale"]


@pytest.mark.parametrize(("value", "dropped"), [(0.87, True), (0.8701, False)], ids=["at", "short"])
def test_a_higher_is_better_metric_drops_by_the_absolute_margin(
    value: float, dropped: bool
) -> None:
    config = DriftConfig(metric_drop_abs=0.9 - 0.87)
    assert one_model(row(), metric_value=value, config=config).performance_drop is dropped


def test_the_default_drop_margin_is_three_points() -> None:
    assert one_model(row(), metric_value=0.86).performance_drop
    assert not one_model(row(), metric_value=0.88).performance_drop


def test_a_lower_is_better_metric_rises_by_the_relative_margin() -> None:
    lower: dict[str, Any] = {"higher_is_better": False, "metric": "rmse", "reference_metric": 2.0}
    assert one_model(row(), metric_value=2.5, **lower).performance_drop  # +25%
    assert not one_model(row(), metric_value=2.25, **lower).performance_drop  # +12.5%
    assert not one_model(row(), metric_value=1.0, **lower).performance_drop  # better
    config = DriftConfig(metric_rise_rel=0.25)
    assert one_model(row(), metric_value=2.5, config=config, **lower).performance_drop
    assert not one_model(row(), metric_value=2.49, config=config, **lower).performance_drop


def test_a_negative_reference_rises_relative_to_its_size() -> None:
    lower: dict[str, Any] = {"higher_is_better": False, "reference_metric": -2.0}
    config = DriftConfig(metric_rise_rel=0.25)
    assert one_model(row(), metric_value=-1.5, config=config, **lower).performance_drop
    assert not one_model(row(), metric_value=-1.51, config=config, **lower).performance_drop


def test_a_zero_reference_never_rises() -> None:
    lower: dict[str, Any] = {"higher_is_better": False, "reference_metric": 0.0}
    assert not one_model(row(), metric_value=5.0, **lower).performance_drop


def test_without_labels_there_is_no_drop_and_no_metric() -> None:
    s = one_model(row(), metric_value=float("nan"))
    assert (s.performance_drop, s.metric_value, s.reference_metric) == (False, None, 0.9)
    unknown_reference = one_model(row(), metric_value=0.1, reference_metric=float("nan"))
    assert not unknown_reference.performance_drop
    assert unknown_reference.reference_metric is None
    assert one_model(row(), metric_value=0.5).metric_value == 0.5


def test_latency_regresses_at_the_ratio() -> None:
    at = one_model(row(), latency_p95_ms=60.0)
    assert (at.latency_ratio, at.latency_regression) == (1.5, True)
    below = one_model(row(), latency_p95_ms=59.9)
    assert not below.latency_regression
    assert one_model(
        row(), latency_p95_ms=50.0, config=DriftConfig(latency_ratio=1.25)
    ).latency_regression


def test_without_a_latency_baseline_the_ratio_is_one() -> None:
    s = one_model(row(), latency_p95_ms=500.0, baseline_latency_ms=0.0)
    assert (s.latency_ratio, s.latency_regression) == (1.0, False)


# --- what a model's signals say ----------------------------------------------------------


def test_dataset_drift_at_the_share_of_drifted_features() -> None:
    drifted = row(ref_n=5000, cur=SHIFTED, feature="a")
    quiet = row(ref_n=5000, feature="b")
    half = one_model(drifted, quiet)
    assert (half.drifted_features, half.drift_share, half.dataset_drift) == (["a"], 0.5, True)
    third = one_model(drifted, quiet, row(ref_n=5000, feature="c"))
    assert third.drift_share == pytest.approx(1 / 3) and not third.dataset_drift
    assert (
        one_model(drifted, quiet, config=DriftConfig(dataset_drift_share=0.6)).dataset_drift
        is False
    )


def test_importance_weights_the_drifted_share_only_when_asked() -> None:
    drifted = row(ref_n=5000, cur=SHIFTED, feature="a", importance=3.0)
    quiet = row(ref_n=5000, feature="b", importance=1.0)
    assert one_model(drifted, quiet).drift_share == 0.5
    weighted = one_model(drifted, quiet, config=DriftConfig(importance_weighted=True))
    assert weighted.drift_share == 0.75


def test_a_broken_model_reports_no_drift() -> None:
    s = one_model(row(ref_n=5000, cur=SHIFTED, feature="a"), row(feature="b", missing=True))
    assert (s.drifted_features, s.drift_share, s.dataset_drift) == ([], 0.0, False)
    assert [f.feature for f in s.features] == ["a", "b"]  # a detailed scan still lists them
    [brief] = scan(ScanBatch(features(row(ref_n=5000, cur=SHIFTED), row(missing=True)), models({})))
    assert brief.features == [] and brief.drifted_features == []


def test_a_low_volume_or_stale_model_reports_no_drift() -> None:
    drifted = row(ref_n=5000, cur=SHIFTED)
    assert one_model(drifted, rows=10.0).drifted_features == []
    assert one_model(drifted, freshness_lag_h=100.0).drifted_features == []
    assert one_model(drifted).drifted_features == ["f1"]


def test_a_features_signal_carries_its_test_and_sample_margin() -> None:
    s = one_model(row(ref_n=5000, cur=[0, 300, 100, 0], is_cat=True, importance=2.0))
    [f] = s.features
    assert (f.feature, f.test, f.threshold, f.drifted, f.importance) == (
        "f1",
        "jensen_shannon",
        0.1,
        True,
        2.0,
    )
    assert f.sample_margin == pytest.approx(math.sqrt(1 / 5000 + 1 / 400))
    assert f.psi > 0 and f.score > 0.1
    empty = one_model(row(ref=[0, 0, 0, 0], ref_n=0, cur=[0, 0, 0, 0]), rows=1000.0)
    assert empty.features[0].sample_margin == pytest.approx(math.sqrt(2))


def test_a_brief_scan_returns_flagged_models_with_their_drifted_features_only() -> None:
    batch = ScanBatch(
        features(
            row(model=0, feature="a", ref_n=5000, cur=SHIFTED),
            row(model=0, feature="b", ref_n=5000),
            row(model=1, feature="a", ref_n=5000),
            row(model=2, feature="a", ref_n=5000),
            row(model=3, feature="a", ref_n=5000),
            row(model=4, feature="a", ref_n=5000, invalid=500),
        ),
        models({}, {}, {"metric_value": 0.5}, {"latency_p95_ms": 80.0}, {}),
    )
    found = scan(batch)
    assert [(s.model, [f.feature for f in s.features]) for s in found] == [
        ("m0", ["a"]),
        ("m2", []),
        ("m3", []),
        ("m4", []),
    ]
    assert [s.model for s in scan(batch, detail=True)] == ["m0", "m1", "m2", "m3", "m4"]
    assert [s.pipeline for s in found] == ["pipe-a"] * 4
    assert found[0].window_start == WINDOW and found[0].deployed_at == WINDOW - timedelta(days=30)


def test_rows_may_come_in_any_order_given_their_grouping() -> None:
    """Streamed blocks keep the database's row order and pass `order` (rows by model)."""
    f = features(
        row(model=1, feature="b1", ref_n=5000, cur=SHIFTED),
        row(model=0, feature="a1", ref_n=5000, cur=SHIFTED),
        row(model=1, feature="b2", ref_n=5000),
        row(model=0, feature="a2", ref_n=5000, cur=SHIFTED),
    )
    found = scan(ScanBatch(f, models({}, {})), detail=True)
    assert [(s.model, [x.feature for x in s.features]) for s in found] == [
        ("m0", ["a1", "a2"]),
        ("m1", ["b1", "b2"]),
    ]
    f.order = np.array([3, 1, 2, 0])
    found = scan(ScanBatch(f, models({}, {})), detail=True)
    assert [(s.model, [x.feature for x in s.features]) for s in found] == [
        ("m0", ["a2", "a1"]),
        ("m1", ["b2", "b1"]),
    ]


# --- the false-discovery cutoff ----------------------------------------------------------


def test_the_cutoff_is_benjamini_hochberg_over_the_p_values_of_healthy_models() -> None:
    batch = ScanBatch(
        features(
            row(model=0, ref_n=500, cur=SHIFTED),  # ks
            row(model=0, ref_n=500, cur=SHIFTED, is_cat=True, feature="c"),  # chi-square
            row(model=0, ref_n=5000, cur=SHIFTED, feature="w"),  # a distance: not a p-value
            row(model=1, ref_n=500, cur=SHIFTED, missing=True),  # broken: left out
        ),
        models({}, {}),
    )
    config = DriftConfig(fdr_q=0.5)
    signals, p_values = scan_partial(batch, config, detail=True)
    tests = feature_tests(batch.features, config)
    assert list(p_values) == [tests.score[0], tests.score[1]]
    assert [s.p_cutoff for s in signals] == [1.0, 1.0]  # not set yet
    cut = stats.fdr_cutoff(p_values, 0.5)
    assert cut > 0
    assert [s.p_cutoff for s in with_fdr_cutoff(signals, p_values, config)] == [cut, cut]
    assert [s.p_cutoff for s in scan(batch, config, detail=True)] == [cut, cut]
    strict = [s.p_cutoff for s in scan(batch, DriftConfig(fdr_q=1e-30), detail=True)]
    assert strict == [0.0, 0.0]


# --- edges: one-value windows, a model without features, weights below one --------------


def test_a_window_of_one_null_value_is_a_null_spike() -> None:
    s = one_model(row(cur=[0, 0, 0, 0], cur_nulls=1))
    assert issues(s) == [("null_spike", "f1", "100% nulls (reference 0%)")]


def test_a_reference_of_one_null_value_has_a_null_rate_of_one() -> None:
    only_nulls = row(ref=[0, 0, 0, 0], ref_n=0, ref_nulls=1, cur=[0, 0, 0, 0], cur_nulls=1)
    assert dq_of(only_nulls)["null_spike"] == [False]  # 100% then, 100% now
    s = one_model(only_nulls, config=DriftConfig(null_rate_jump=-0.5))
    assert [i.detail for i in s.dq_issues] == ["100% nulls (reference 100%)"]


def test_null_detail_counts_invalid_values_in_the_window() -> None:
    s = one_model(row(ref_n=950, ref_nulls=50, cur_nulls=600, invalid=400))
    assert [i.detail for i in s.dq_issues] == [
        "30% nulls (reference 5%)",
        "400 infinite or non-numeric values",
    ]


def test_a_window_of_one_value_outside_the_range_is_out_of_range() -> None:
    s = one_model(row(cur=[0, 0, 0, 1]))
    assert issues(s) == [
        ("out_of_range", "f1", "100% of values outside the reference range (unit change?)")
    ]
    assert dq_of(row(cur=[0, 0, 0, 1], is_cat=True))["out_of_range"] == [False]


def test_models_without_feature_rows_still_get_their_window_checks() -> None:
    """The last models have no feature rows: every per-model count still covers them."""
    batch = ScanBatch(
        features(row(model=0, ref_n=5000, cur=SHIFTED), row(model=1, ref_n=5000)),
        models({}, {}, {"rows": 10.0}, {"latency_p95_ms": 80.0}),
    )
    found = scan(batch, detail=True)
    assert [
        (s.model, s.drifted_features, s.drift_share, [i.kind for i in s.dq_issues]) for s in found
    ] == [
        ("m0", ["f1"], 1.0, []),
        ("m1", [], 0.0, []),
        ("m2", [], 0.0, ["low_volume"]),
        ("m3", [], 0.0, []),
    ]
    assert [s.latency_regression for s in found] == [False, False, False, True]
    assert [s.model for s in scan(batch)] == ["m0", "m2", "m3"]


def test_importance_weights_below_one_are_shares_too() -> None:
    drifted = row(ref_n=5000, cur=SHIFTED, feature="a", importance=0.1)
    quiet = row(ref_n=5000, feature="b", importance=0.3)
    weighted = one_model(drifted, quiet, config=DriftConfig(importance_weighted=True))
    assert weighted.drift_share == pytest.approx(0.25)


def test_a_spread_below_one_scales_the_distance_up() -> None:
    [score] = feature_tests(features(row(ref_n=5000, cur=SHIFTED, std=0.5)), DriftConfig()).score
    assert score == pytest.approx(0.4)


def test_a_one_millisecond_baseline_is_a_baseline() -> None:
    s = one_model(row(), latency_p95_ms=2.0, baseline_latency_ms=1.0)
    assert (s.latency_ratio, s.latency_regression) == (2.0, True)


def test_a_reference_metric_below_one_rises_relative_to_it() -> None:
    lower: dict[str, Any] = {"higher_is_better": False, "reference_metric": 0.5}
    assert one_model(row(), metric_value=0.6, **lower).performance_drop  # +20%


def test_an_unknown_reference_is_no_drop_even_when_any_rise_counts() -> None:
    lower: dict[str, Any] = {"higher_is_better": False, "metric": "rmse"}
    config = DriftConfig(metric_rise_rel=0.0)
    assert one_model(
        row(), metric_value=1.0, reference_metric=1.0, config=config, **lower
    ).performance_drop
    unknown = one_model(
        row(), metric_value=1.0, reference_metric=float("nan"), config=config, **lower
    )
    assert not unknown.performance_drop
    assert unknown.metric == "rmse"


def test_latency_at_the_ratio_alone_flags_a_model() -> None:
    batch = ScanBatch(features(row(model=0), row(model=1)), models({"latency_p95_ms": 60.0}, {}))
    assert [s.model for s in scan(batch)] == ["m0"]


def test_a_part_scan_lists_flagged_models_unless_asked_for_detail() -> None:
    batch = ScanBatch(features(row(model=0), row(model=1)), models({"metric_value": 0.5}, {}))
    brief, _ = scan_partial(batch, DriftConfig())
    assert [s.model for s in brief] == ["m0"]


def test_each_models_features_keep_their_row_order_however_interleaved() -> None:
    """Rows of two models alternate (no `order` given): each model lists its own in order."""
    n = 100
    f = features(*(row(model=i % 2, feature=f"f{i:03d}") for i in range(n)))
    found = scan(ScanBatch(f, models({}, {})), detail=True)
    assert [[x.feature for x in s.features] for s in found] == [
        [f"f{i:03d}" for i in range(0, n, 2)],
        [f"f{i:03d}" for i in range(1, n, 2)],
    ]


def test_invalid_values_at_exactly_one_percent_are_not_an_issue() -> None:
    # 99 values + 1 invalid: exactly 1% of the window's 100 rows
    assert dq_of(row(cur=[0, 99, 0, 0], invalid=1), row(cur=[0, 98, 0, 0], invalid=2))[
        "invalid_values"
    ] == [False, True]


def test_empty_windows_have_defined_rates_after_a_busy_batch() -> None:
    """Rates of empty rows are zero, not whatever memory held: a batch full of nulls and
    out-of-range values is checked first, then one of the same size with empty windows."""
    n = 1000
    busy = features(*[row(cur=[900, 0, 0, 100], cur_nulls=1000)] * n)
    assert all(feature_dq(busy, DriftConfig())["null_spike"])
    empty = features(*[row(ref=[0, 0, 0, 0], ref_n=0, cur=[0, 0, 0, 0])] * n)
    found = feature_dq(empty, DriftConfig(null_rate_jump=0.0, out_of_range_share=0.0))
    assert not any(found["null_spike"])
    assert not any(found["out_of_range"])
    assert all(feature_dq(empty, DriftConfig(null_rate_jump=-0.01))["null_spike"])
