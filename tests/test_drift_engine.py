"""Bad and odd input gives defined results: a data-quality signal, never a crash or NaN."""

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tools.drift.batch import load_batch
from tools.drift.engine import DriftConfig, scan
from tools.drift.inmemory import ModelWindow, batch_from_profiles
from tools.drift.signals import ModelSignals
from tools.errors import StateError
from tools.telemetry.binning import bin_frame, bin_window, build_reference
from tools.telemetry.store import ModelMeta, TelemetryStore, WindowFacts

NOW = datetime(2026, 11, 3, tzinfo=UTC)
RNG = np.random.default_rng(42)
REFERENCE = pd.DataFrame(
    {
        "amount": RNG.normal(100, 15, 3000),
        "age": RNG.normal(40, 9, 3000),
        "channel": pd.Series(RNG.choice(["web", "app", "store"], 3000)),
        "flat": np.full(3000, 7.0),
    }
)


def run(
    current: pd.DataFrame,
    rows: int | None = None,
    lag_h: float = 2.0,
    metric: float = 0.85,
    config: DriftConfig | None = None,
) -> ModelSignals:
    refs = [build_reference(c, REFERENCE[c]) for c in REFERENCE.columns]
    meta = ModelMeta(
        model="m",
        version=1,
        pipeline="p",
        metric="auc",
        reference_metric=0.85,
        baseline_latency_ms=40,
        deployed_at=NOW - timedelta(days=30),
        expected_rows=3000,
    )
    facts = WindowFacts(
        model="m",
        window_start=NOW,
        rows=len(current) if rows is None else rows,
        freshness_lag_h=lag_h,
        schema_fingerprint="x",
        metric_value=metric,
        latency_p95_ms=41,
        requests_per_s=3,
    )
    (signals,) = scan(
        batch_from_profiles([ModelWindow(meta, refs, bin_frame(refs, current), facts)]),
        config,
        detail=True,
    )
    assert all(math.isfinite(f.score) and math.isfinite(f.psi) for f in signals.features)
    return signals


def same(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 15, n),
            "age": rng.normal(40, 9, n),
            "channel": pd.Series(rng.choice(["web", "app", "store"], n)),
            "flat": np.full(n, 7.0),
        }
    )


def kinds(s: ModelSignals) -> set[tuple[str, str | None]]:
    return {(i.kind, i.feature) for i in s.dq_issues}


def test_same_distribution_is_quiet() -> None:
    s = run(same())
    assert not s.anomalous and s.drift_share == 0


def test_shift_is_drift_and_a_drop_is_performance() -> None:
    cur = same()
    cur["amount"] += 15
    s = run(cur, metric=0.78)
    assert s.drifted_features == ["amount"] and s.performance_drop and not s.dq_issues


def test_a_distance_exactly_on_the_threshold_is_drift() -> None:
    """Evidently's rules are distance >= threshold and drifted share >= dataset share."""
    cur = same()
    cur["amount"] += 4
    cur["age"] += 4  # age moves further than amount (smaller spread)
    amount = next(f for f in run(cur).features if f.feature == "amount")
    assert amount.test == "wasserstein" and amount.score > 0
    on_the_line = run(cur, config=DriftConfig(distance=amount.score))
    assert on_the_line.drifted_features == ["amount", "age"]
    # 2 of 4 features: exactly the default dataset-drift share of 0.5
    assert on_the_line.drift_share == DriftConfig().dataset_drift_share
    assert on_the_line.dataset_drift
    just_above = run(cur, config=DriftConfig(distance=float(np.nextafter(amount.score, 1.0))))
    assert just_above.drifted_features == ["age"] and not just_above.dataset_drift


def test_empty_window_is_low_volume_not_a_crash() -> None:
    s = run(same(0))
    assert ("low_volume", None) in kinds(s) and s.drifted_features == []


def test_all_null_column_is_a_null_spike() -> None:
    cur = same()
    cur["age"] = np.nan
    assert ("null_spike", "age") in kinds(run(cur))


def test_missing_column_and_type_change() -> None:
    cur = same().drop(columns=["amount"])
    cur["age"] = "forty"
    s = run(cur)
    assert {("missing_feature", "amount"), ("type_change", "age")} <= kinds(s)


def test_nan_and_inf_values() -> None:
    cur = same()
    cur.loc[:200, "amount"] = np.inf
    cur.loc[200:300, "amount"] = np.nan
    assert ("invalid_values", "amount") in kinds(run(cur))


def test_unit_change_is_out_of_range() -> None:
    cur = same()
    cur["amount"] *= 1000
    assert ("out_of_range", "amount") in kinds(run(cur))


def test_unseen_categories_are_drift() -> None:
    cur = same()
    cur["channel"] = pd.Series(np.random.default_rng(3).choice(["web", "kiosk", "phone"], 3000))
    assert "channel" in run(cur).drifted_features


def test_zero_variance_reference() -> None:
    cur = same()
    quiet = run(cur)
    assert "flat" not in quiet.drifted_features
    cur["flat"] = 7.5
    assert "flat" in run(cur).drifted_features


def test_stale_window() -> None:
    assert ("stale", None) in kinds(run(same(), lag_h=80))


def test_store_round_trip_gives_the_same_scan() -> None:
    store = TelemetryStore(":memory:")
    refs = [build_reference(c, REFERENCE[c]) for c in REFERENCE.columns]
    meta = ModelMeta(
        model="m",
        version=1,
        pipeline="p",
        metric="auc",
        reference_metric=0.85,
        baseline_latency_ms=40,
        deployed_at=NOW - timedelta(days=30),
        expected_rows=3000,
    )
    cur = same()
    cur["amount"] += 15
    store.put_model(meta, refs, {})
    store.put_window(
        WindowFacts(
            model="m",
            window_start=NOW,
            rows=3000,
            freshness_lag_h=1,
            schema_fingerprint="x",
            metric_value=0.85,
            latency_p95_ms=40,
            requests_per_s=1,
        ),
        bin_frame(refs, cur),
    )
    (s,) = scan(load_batch(store))
    assert s.drifted_features == ["amount"]


def test_corrupt_telemetry_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "t.duckdb"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="not a usable telemetry database"):
        TelemetryStore(bad)


def test_a_reference_without_finite_values_bins_a_window_without_crashing() -> None:
    ref = build_reference("x", pd.Series([np.nan, np.inf, np.nan]))
    assert ref.edges == []  # nothing finite to take quantiles of
    window = pd.DataFrame({"x": [1.0, 2.0, np.nan, np.inf]})
    [binned] = bin_frame([ref], window)  # the whole-frame path raised IndexError here
    assert binned == bin_window(ref, window["x"])
    assert (sum(binned.counts), binned.n, binned.nulls, binned.invalid) == (0, 2, 1, 1)
