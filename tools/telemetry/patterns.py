"""Segments and seasonality in simulated telemetry, for scenarios and the demo.

Runs after `tools.telemetry.simulate.simulate`: each declared model's windows are drawn
again from its stored reference, keeping their starts, volume, freshness, schema and
latency, with

- segments: every row gets a value of the segment column by the declared shares; in the
  newest window the `dropped` segment's metric falls by `performance_drop` and its
  `features` shift by `sigma` standard deviations (other segments hold);
- seasonality: the `features` move by `weekly[weekday]` standard deviations in every
  window of that weekday (UTC; 0 = Monday), plus `daily[hour]` by the hour the window
  starts (UTC), a normal weekly / daily pattern; `shift_sigma` adds a real shift to the
  newest window on top of it.

The overall metric of a window is the row-weighted mean of its segments' metrics.
"""

import hashlib
from datetime import UTC

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tools.telemetry.binning import FeatureKind, FeatureReference, bin_frame
from tools.telemetry.segments import MetricOf, clear_model, put_segments, split_segments
from tools.telemetry.store import ModelMeta, TelemetryStore, WindowFacts


class SegmentDecl(BaseModel):
    """A model's segment column, and optionally a drop confined to one segment."""

    model_config = ConfigDict(extra="forbid")

    model: str
    column: str = "region"
    shares: dict[str, float] = Field(min_length=2)
    """Segment value -> share of the rows (normalised to sum 1)."""
    dropped: str | None = None
    """The segment whose metric drops in the newest window (None: no drop)."""
    performance_drop: float = Field(default=0.0, ge=0.0, le=1.0)
    features: list[str] = Field(default_factory=list)
    """Features that shift inside the dropped segment."""
    sigma: float = 0.0


class SeasonalDecl(BaseModel):
    """A weekly pattern in some of a model's features, and optionally a real shift."""

    model_config = ConfigDict(extra="forbid")

    model: str
    features: list[str] = Field(min_length=1)
    weekly: list[float] = Field(
        default_factory=lambda: [0.0, 0.0, 0.0, 0.0, 0.0, 0.8, 0.8], min_length=7, max_length=7
    )
    """Shift in standard deviations per weekday, Monday first (default: weekends +0.8)."""
    daily: list[float] = Field(default_factory=lambda: [0.0] * 24, min_length=24, max_length=24)
    """Shift in standard deviations by the hour (UTC) a window starts, added to `weekly`
    (a daily pattern; needs windows shorter than a day, `window_hours`)."""
    shift_sigma: float = 0.0
    """A real shift of the newest window, on top of the pattern."""


class TelemetryPatterns(BaseModel):
    """Segments and seasonality of simulated telemetry."""

    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentDecl] = Field(default_factory=list)
    seasonality: list[SeasonalDecl] = Field(default_factory=list)


def apply_patterns(store: TelemetryStore, patterns: TelemetryPatterns, seed: int) -> None:
    """Draw the declared models' windows again with their segments and seasonality."""
    segments = {d.model: d for d in patterns.segments}
    seasons = {d.model: d for d in patterns.seasonality}
    for model in sorted(segments.keys() | seasons.keys()):
        digest = hashlib.sha256(f"{seed}:patterns:{model}".encode()).digest()[:8]
        rng = np.random.default_rng(int.from_bytes(digest, "little"))
        _redraw(store, store.model(model), segments.get(model), seasons.get(model), rng)


def _redraw(
    store: TelemetryStore,
    meta: ModelMeta,
    seg: SegmentDecl | None,
    season: SeasonalDecl | None,
    rng: np.random.Generator,
) -> None:
    refs = store.references(meta.model)
    windows = store.db.execute(
        "SELECT window_start, rows, freshness_lag_h, schema_fingerprint, latency_p95_ms, "
        "requests_per_s, labelled_rows FROM windows WHERE model = ? ORDER BY window_start",
        [meta.model],
    ).fetchall()
    for table in ("windows", "window_bins"):
        store.db.execute(f"DELETE FROM {table} WHERE model = ?", [meta.model])
    clear_model(store, meta.model)
    stds = {r.feature: r.std or 1.0 for r in refs}
    for k, (start, rows, lag, schema, latency, rps, labelled) in enumerate(windows, start=1):
        newest = k == len(windows)
        frame = _draw(refs, int(rows), rng)
        if season is not None:
            shift = (
                season.weekly[start.astimezone(UTC).weekday()]
                + season.daily[start.astimezone(UTC).hour]
                + (season.shift_sigma if newest else 0.0)
            )
            for f in season.features:
                if f in frame.columns:
                    frame[f] = frame[f] + shift * stds[f]
        metrics = _segments(frame, seg, newest, meta, rng, stds) if seg else {}
        overall = (
            sum(metrics[str(v)] for v in frame[seg.column]) / len(frame)
            if seg
            else _metric(meta, rng, 0.0)
        )
        facts = WindowFacts(
            model=meta.model,
            window_start=start,
            rows=len(frame),
            freshness_lag_h=lag,
            schema_fingerprint=schema,
            metric_value=overall,
            labelled_rows=labelled,
            latency_p95_ms=latency,
            requests_per_s=rps,
        )
        store.put_window(facts, bin_frame(refs, frame))
        if seg is not None:
            put_segments(
                store,
                split_segments(
                    meta.model, start, refs, frame, [seg.column], _metric_of(seg.column, metrics)
                ),
            )


def _segments(
    frame: pd.DataFrame,
    seg: SegmentDecl,
    newest: bool,
    meta: ModelMeta,
    rng: np.random.Generator,
    stds: dict[str, float],
) -> dict[str, float]:
    """Assign each row its segment, shift the dropped one; each segment's metric."""
    names = list(seg.shares)
    p = np.asarray([seg.shares[n] for n in names], dtype=np.float64)
    frame[seg.column] = rng.choice(names, size=len(frame), p=p / p.sum())
    hit = newest and seg.dropped is not None
    if hit:
        inside = frame[seg.column] == seg.dropped
        for f in seg.features:
            if f in frame.columns:
                frame.loc[inside, f] = frame.loc[inside, f] + seg.sigma * stds[f]
    return {
        n: _metric(meta, rng, seg.performance_drop if hit and n == seg.dropped else 0.0)
        for n in names
    }


def _metric_of(column: str, metrics: dict[str, float]) -> MetricOf:
    def metric_of(part: pd.DataFrame) -> float:
        return metrics[str(part[column].iloc[0])]

    return metric_of


def _metric(meta: ModelMeta, rng: np.random.Generator, drop: float) -> float:
    ref = meta.reference_metric
    if meta.higher_is_better:
        return float(ref + rng.normal(0, 0.004) - drop)
    return float(ref * (1 + rng.normal(0, 0.01) + 3 * drop))


def _draw(refs: list[FeatureReference], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rows like the reference's: normal numeric features, categories at their frequencies."""
    columns: dict[str, object] = {}
    for r in refs:
        if r.kind is FeatureKind.NUMERIC:
            columns[r.feature] = rng.normal(r.mean, r.std or 1.0, size=n)
        else:
            p = np.asarray(r.counts[: len(r.categories)], dtype=np.float64)
            codes = rng.choice(len(r.categories), size=n, p=p / p.sum())
            columns[r.feature] = pd.Categorical.from_codes(codes, categories=r.categories)
    return pd.DataFrame(columns)
