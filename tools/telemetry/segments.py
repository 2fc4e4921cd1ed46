"""Segment columns of telemetry windows: per-segment volume, performance and histograms.

A model may declare segment columns (registry tag `segments`, e.g. `region,customer_tier`).
Each current window then also stores, per (column, value): its rows, its realised metric
where labels exist, and each feature binned on the model's reference bins. The drift engine
reads them back in `tools.drift.segments` to find a drop confined to one segment.

The two tables live in the telemetry file beside the store's own tables and are created on
first write (`CREATE TABLE IF NOT EXISTS`): a file without segments has none, and reading one
without them returns nothing.
"""

from collections.abc import Callable
from datetime import datetime

import pandas as pd
from pydantic import BaseModel

from tools.telemetry.binning import FeatureReference, FeatureWindow, bin_frame
from tools.telemetry.store import TelemetryStore

SEGMENTS_TAG = "segments"
"""Registry tag naming a model's segment columns, comma-separated."""
_TABLES = """
CREATE TABLE IF NOT EXISTS segment_windows (
    model VARCHAR, window_start TIMESTAMPTZ, seg_column VARCHAR, seg_value VARCHAR,
    rows BIGINT, metric_value DOUBLE, labelled_rows BIGINT,
    PRIMARY KEY (model, window_start, seg_column, seg_value));
CREATE TABLE IF NOT EXISTS segment_bins (
    model VARCHAR, window_start TIMESTAMPTZ, seg_column VARCHAR, seg_value VARCHAR,
    feature VARCHAR, counts DOUBLE[], sums DOUBLE[], n BIGINT, nulls BIGINT,
    PRIMARY KEY (model, window_start, seg_column, seg_value, feature));
"""
MetricOf = Callable[[pd.DataFrame], float | None]


class SegmentWindow(BaseModel):
    """One segment of one window: its volume and realised performance."""

    model: str
    window_start: datetime
    column: str
    """The segment column, e.g. `region`."""
    value: str
    """The segment, e.g. `north`."""
    rows: int
    metric_value: float | None = None
    """The model's metric on this segment's labelled rows (None: no labels)."""
    labelled_rows: int = 0


def declared_columns(tags: dict[str, str]) -> list[str]:
    """A model's segment columns from its registry tags (none declared: empty)."""
    return [c.strip() for c in tags.get(SEGMENTS_TAG, "").split(",") if c.strip()]


def split_segments(
    model: str,
    window_start: datetime,
    refs: list[FeatureReference],
    frame: pd.DataFrame,
    columns: list[str],
    metric_of: MetricOf | None = None,
) -> list[tuple[SegmentWindow, list[FeatureWindow]]]:
    """Each segment of a window's raw rows, binned on the model's reference bins.

    Args:
        model: the model the rows belong to.
        window_start: the window's start.
        refs: the model's reference histograms (the bins every segment is binned on).
        frame: the window's raw rows, with the segment columns.
        columns: the segment columns to split by (absent ones are skipped).
        metric_of: the model's metric on a segment's rows (None or returning None: no labels).
    """
    out = []
    for column in columns:
        if column not in frame.columns:
            continue
        for value, rows in frame.groupby(frame[column].astype(str), sort=True, observed=True):
            metric = metric_of(rows) if metric_of is not None else None
            seg = SegmentWindow(
                model=model,
                window_start=window_start,
                column=column,
                value=str(value),
                rows=len(rows),
                metric_value=metric,
                labelled_rows=len(rows) if metric is not None else 0,
            )
            out.append((seg, bin_frame(refs, rows)))
    return out


def put_segments(
    store: TelemetryStore, segments: list[tuple[SegmentWindow, list[FeatureWindow]]]
) -> None:
    """Store segments of windows (replacing the same segments of the same windows)."""
    store.db.execute(_TABLES)
    for seg, bins in segments:
        key = [seg.model, seg.window_start, seg.column, seg.value]
        for table in ("segment_windows", "segment_bins"):
            store.db.execute(
                f"DELETE FROM {table} WHERE model = ? AND window_start = ? "
                "AND seg_column = ? AND seg_value = ?",
                key,
            )
        store.db.execute(
            "INSERT INTO segment_windows VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*key, seg.rows, seg.metric_value, seg.labelled_rows],
        )
        if bins:
            store.db.executemany(
                "INSERT INTO segment_bins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[*key, b.feature, b.counts, b.sums, b.n, b.nulls] for b in bins],
            )


def has_segments(store: TelemetryStore) -> bool:
    """Whether the file holds any segment tables (a read-only store cannot create them)."""
    row = store.db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'segment_windows'"
    ).fetchall()
    return bool(row and row[0][0])


def latest_segments(store: TelemetryStore) -> list[SegmentWindow]:
    """The segments of every model's newest window (models without segments: none)."""
    if not has_segments(store):
        return []
    rows = store.db.execute(
        """
        SELECT s.model, s.window_start, s.seg_column, s.seg_value, s.rows, s.metric_value,
               s.labelled_rows
        FROM segment_windows s
        JOIN (SELECT model, max(window_start) AS newest FROM windows GROUP BY model) w
          ON s.model = w.model AND s.window_start = w.newest
        ORDER BY s.model, s.seg_column, s.seg_value
        """
    ).fetchall()
    keys = ("model", "window_start", "column", "value", "rows", "metric_value", "labelled_rows")
    return [SegmentWindow.model_validate(dict(zip(keys, r, strict=True))) for r in rows]


def segment_bins(store: TelemetryStore, seg: SegmentWindow) -> list[FeatureWindow]:
    """The feature histograms of one segment of one window."""
    rows = store.db.execute(
        "SELECT feature, counts, sums, n, nulls FROM segment_bins WHERE model = ? "
        "AND window_start = ? AND seg_column = ? AND seg_value = ? ORDER BY feature",
        [seg.model, seg.window_start, seg.column, seg.value],
    ).fetchall()
    return [
        FeatureWindow(feature=f, counts=list(c), sums=list(s), n=n, nulls=nulls)
        for f, c, s, n, nulls in rows
    ]


def clear_model(store: TelemetryStore, model: str) -> None:
    """Remove a model's segments (before its windows are simulated again)."""
    if has_segments(store):
        for table in ("segment_windows", "segment_bins"):
            store.db.execute(f"DELETE FROM {table} WHERE model = ?", [model])


def clear_all(store: TelemetryStore) -> None:
    """Remove every segment (with the rest of the telemetry, before a new simulation)."""
    if has_segments(store):
        for table in ("segment_windows", "segment_bins"):
            store.db.execute(f"DELETE FROM {table}")
