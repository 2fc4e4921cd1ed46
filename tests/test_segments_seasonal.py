"""Segments and seasonal references in the drift engine (issue 16, item 4)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from tools.drift.batch import load_batch
from tools.drift.engine import scan
from tools.drift.incidents import Incident, group_incidents
from tools.drift.seasonal import SeasonalReference, apply_seasonal, parse_reference
from tools.drift.segment_metrics import label_metric
from tools.drift.segments import segment_drops, segment_incidents
from tools.errors import ConfigError
from tools.telemetry.binning import bin_frame, build_reference
from tools.telemetry.patterns import SeasonalDecl, SegmentDecl, TelemetryPatterns, apply_patterns
from tools.telemetry.segments import clear_all, declared_columns, put_segments, split_segments
from tools.telemetry.store import ModelMeta, TelemetryStore, WindowFacts

NEWEST = datetime(2026, 11, 28, tzinfo=UTC)
"""A Saturday: the default weekly pattern moves weekends."""
ROWS = 2000


def _store(windows: int, hours: float = 24.0) -> TelemetryStore:
    """One model, `windows` windows of `hours` ending with NEWEST (redrawn by the patterns)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f: rng.normal(10.0, 2.0, 5000) for f in ("f00", "f01", "f02")})
    store = TelemetryStore(":memory:")
    meta = ModelMeta(
        model="churn-0001",
        version=1,
        pipeline="crm",
        metric="auc",
        reference_metric=0.85,
        baseline_latency_ms=50.0,
        deployed_at=NEWEST - timedelta(days=60),
        expected_rows=ROWS,
    )
    refs = [build_reference(f, frame[f]) for f in frame.columns]
    store.put_model(meta, refs, {})
    for k in range(windows):
        facts = WindowFacts(
            model=meta.model,
            window_start=NEWEST - timedelta(hours=hours * (windows - 1 - k)),
            rows=ROWS,
            freshness_lag_h=0.0,
            schema_fingerprint="x",
            metric_value=0.85,
            labelled_rows=ROWS // 2,
            latency_p95_ms=50.0,
            requests_per_s=1.0,
        )
        store.put_window(facts, bin_frame(refs, frame.iloc[:ROWS]))
    return store


def _incidents(store: TelemetryStore, seasons: dict[str, SeasonalReference]) -> list[Incident]:
    """What scan_fleet finds: the plain scan, seasonal re-tests, then segment drops."""
    signals = apply_seasonal(store, scan(load_batch(store)), seasons)
    found = group_incidents([s for s in signals if s.anomalous])
    return found + segment_incidents(segment_drops(store, signals))


def _segment_store(shares: dict[str, float]) -> TelemetryStore:
    store = _store(3)
    drop = SegmentDecl(
        model="churn-0001",
        column="region",
        shares=shares,
        dropped="south",
        performance_drop=0.12,
        features=["f01"],
        sigma=1.0,
    )
    apply_patterns(store, TelemetryPatterns(segments=[drop]), seed=5)
    return store


def test_segment_only_drop_opens_incident_naming_segment_and_feature() -> None:
    store = _segment_store({"north": 0.5, "east": 0.4, "south": 0.1})
    signals = scan(load_batch(store), detail=True)
    (model,) = signals
    assert not model.performance_drop
    assert group_incidents([s for s in signals if s.anomalous]) == []
    incidents = _incidents(store, {})
    assert len(incidents) == 1
    (incident,) = incidents
    assert incident.kind == "drift_with_performance_drop"
    assert incident.models == ["churn-0001"]
    assert incident.features == ["f01"]
    assert "region=south" in incident.probable_cause
    assert any("region=south" in e for e in incident.evidence)


def test_tiny_segment_opens_no_incident() -> None:
    store = _segment_store({"north": 0.55, "east": 0.44, "south": 0.01})
    assert segment_drops(store, scan(load_batch(store))) == []
    assert _incidents(store, {}) == []


def _seasonal_store(shift: float) -> TelemetryStore:
    store = _store(22)
    pattern = SeasonalDecl(model="churn-0001", features=["f00", "f02"], shift_sigma=shift)
    apply_patterns(store, TelemetryPatterns(seasonality=[pattern]), seed=5)
    return store


def test_weekly_pattern_is_drift_with_the_plain_reference_only() -> None:
    store = _seasonal_store(0.0)
    plain = _incidents(store, {})
    assert [i.kind for i in plain] == ["covariate_drift"]
    assert plain[0].features == ["f00", "f02"]
    assert _incidents(store, {"churn-0001": SeasonalReference()}) == []


def test_real_shift_on_a_weekly_pattern_is_still_drift() -> None:
    store = _seasonal_store(1.0)
    found = _incidents(store, {"churn-0001": SeasonalReference(hour_band_h=24)})
    assert [(i.kind, i.features) for i in found] == [("covariate_drift", ["f00", "f02"])]


def test_season_with_too_few_past_windows_keeps_the_plain_result() -> None:
    store = _store(8)
    apply_patterns(
        store,
        TelemetryPatterns(seasonality=[SeasonalDecl(model="churn-0001", features=["f00"])]),
        seed=5,
    )
    found = _incidents(store, {"churn-0001": SeasonalReference()})
    assert [i.features for i in found] == [["f00"]]


def test_daily_pattern_is_not_drift_against_the_same_hour_band() -> None:
    store = _store(6 * 4, hours=4.0)
    daily = [0.0] * 24
    daily[0:4] = [0.9] * 4
    pattern = SeasonalDecl(model="churn-0001", features=["f01"], weekly=[0.0] * 7, daily=daily)
    apply_patterns(store, TelemetryPatterns(seasonality=[pattern]), seed=5)
    assert [i.features for i in _incidents(store, {})] == [["f01"]]
    band = SeasonalReference(same_weekday=False, hour_band_h=4)
    assert _incidents(store, {"churn-0001": band}) == []
    assert [i.features for i in _incidents(store, {"churn-0001": SeasonalReference()})] == [["f01"]]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("", None),
        ("plain", None),
        ("seasonal", SeasonalReference()),
        ("seasonal: hour_band=4", SeasonalReference(same_weekday=False, hour_band_h=4)),
        ("Seasonal: same_weekday, hour_band=6", SeasonalReference(hour_band_h=6)),
    ],
)
def test_reference_tag(tag: str, expected: SeasonalReference | None) -> None:
    assert parse_reference(tag) == expected


@pytest.mark.parametrize("tag", ["weekly", "seasonal: monthly", "seasonal: hour_band=30"])
def test_bad_reference_tag_is_one_line(tag: str) -> None:
    with pytest.raises(ConfigError, match="drift_reference") as info:
        parse_reference(tag)
    assert "\n" not in str(info.value)


def test_raw_rows_with_labels_give_each_segment_its_metric() -> None:
    store = _store(2)
    meta, refs = store.model("churn-0001"), store.references("churn-0001")
    rng = np.random.default_rng(8)
    n = 2000
    region = rng.choice(["north", "south"], size=n, p=[0.8, 0.2])
    label = rng.integers(0, 2, size=n)
    good = np.clip(label * 0.6 + rng.uniform(0, 0.4, size=n), 0, 1)
    prediction = np.where(region == "south", rng.uniform(0, 1, size=n), good)
    frame = pd.DataFrame(
        {
            **{f: rng.normal(10.0, 2.0, n) for f in ("f00", "f01", "f02")},
            "region": region,
            "label": label,
            "prediction": prediction,
        }
    )
    segs = split_segments(
        meta.model, NEWEST, refs, frame, ["region", "absent"], label_metric(meta.metric)
    )
    assert [(s.value, s.rows) for s, _ in segs] == [
        ("north", int((region == "north").sum())),
        ("south", int((region == "south").sum())),
    ]
    metrics = {s.value: s.metric_value for s, _ in segs}
    assert metrics["north"] == pytest.approx(1.0)
    assert metrics["south"] == pytest.approx(0.5, abs=0.06)
    put_segments(store, segs)
    drops = segment_drops(store, [])
    assert [(d.segment, d.features) for d in drops] == [("region=south", [])]
    (incident,) = segment_incidents(drops)
    assert incident.kind == "concept_drift"
    assert "region=south" in incident.probable_cause
    clear_all(store)
    assert segment_drops(store, []) == []


def test_declared_segment_columns() -> None:
    assert declared_columns({"segments": "region, customer_tier,"}) == ["region", "customer_tier"]
    assert declared_columns({}) == []
