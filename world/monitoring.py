"""Telemetry and the drift engine on the world: simulate, ingest, scan."""

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from tools.domain import FeaturePipeline
from tools.drift.estimated_metric import NoEstimate
from tools.drift.incidents import Incident, group_incidents
from tools.drift.seasonal import apply_seasonal, seasonal_choices
from tools.drift.segment_metrics import LABEL, PREDICTION, label_metric
from tools.drift.segments import segment_drops, segment_incidents
from tools.drift.signals import ModelSignals
from tools.drift.stream import stream_scan
from tools.errors import ConfigError, NotFoundError
from tools.registry import CHAMPION
from tools.telemetry.binning import bin_frame, build_reference
from tools.telemetry.performance import (
    fit_performance_model,
    performance_model,
    put_performance_model,
    window_estimate,
)
from tools.telemetry.reference_rows import reference_features
from tools.telemetry.scenario import demo_faults
from tools.telemetry.segments import clear_all as clear_segments
from tools.telemetry.segments import declared_columns, put_segments, split_segments
from tools.telemetry.simulate import Progress, SimModel, SimulationSpec, simulate
from tools.telemetry.store import InjectedFault, ModelMeta, TelemetryStore, WindowFacts
from world.world import World

WINDOW_CLOCK_SLACK = timedelta(hours=1)
"""How far past the world's clock a window may start (clocks of data sources differ a little)."""


@dataclass
class ScanReport:
    """A fleet scan's outcome."""

    models: int
    features: int
    seconds: float
    signals: list[ModelSignals]
    incidents: list[Incident]


def fleet_models(world: World) -> tuple[list[SimModel], list[FeaturePipeline]]:
    """The fleet as the simulator sees it (registry + cluster + feature pipelines)."""
    deployments = {d.model: d for d in world.cluster.deployments()}
    models = []
    for m in world.registry.list_models():
        dep = deployments.get(m.name)
        models.append(
            SimModel(
                name=m.name,
                version=m.aliases.get(CHAMPION, 1),
                pipeline=m.pipeline,
                task=m.task,
                features=[f for f in m.tags.get("features", "").split(",") if f],
                baseline_latency_ms=dep.base_latency_ms if dep and dep.base_latency_ms else 50.0,
                requests_per_s=dep.requests_per_s if dep else 0.0,
            )
        )
    return models, world.pipelines


def simulate_telemetry(
    world: World,
    *,
    seed: int,
    windows: int,
    rows: int,
    faults: bool,
    progress: Progress | None = None,
    label_delay: int = 0,
) -> list[InjectedFault]:
    """Simulate the fleet's telemetry into the world (replacing earlier telemetry).

    The newest `label_delay` windows have no labels yet: their metric is estimated.
    """
    models, pipelines = fleet_models(world)
    now = world.clock()
    spec = SimulationSpec(
        seed=seed,
        start=now - timedelta(days=windows),
        windows=windows,
        reference_rows=rows,
        window_rows=rows,
        faults=demo_faults(models, pipelines) if faults else [],
        label_delay_windows=label_delay,
    )
    clear_segments(world.telemetry)
    return simulate(spec, models, pipelines, world.telemetry, progress)


def read_rows(path: Path) -> pd.DataFrame:
    """Rows from a Parquet or CSV file (one line on failure)."""
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    try:
        return pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {path}: {str(exc).splitlines()[0]} (Parquet or CSV expected)"
        ) from exc


@dataclass(frozen=True)
class Ingested:
    """What an ingest stored."""

    features: int
    """Features with a reference (or a binned window)."""
    estimate: str
    """The performance estimate's outcome, one sentence (fitted, estimated, or why not)."""


def ingest_reference(
    world: World,
    model: str,
    path: Path,
    *,
    metric: str,
    reference_metric: float,
    higher_is_better: bool,
    latency_ms: float,
    expected_rows: int | None,
    prediction: str | None = None,
    label: str = LABEL,
) -> Ingested:
    """Compute a model's reference histograms from rows (once per model version).

    Where the rows hold predictions (`prediction`, default the `prediction` column) and
    labels, the performance estimator for delayed labels is fitted and stored too; the
    realised metric of those labels is the reference metric unless one is given.

    Raises:
        ConfigError: the rows do not qualify as a reference, or a `prediction` column named
            explicitly is missing.
    """
    registered = world.registry.get_model(model)
    frame = read_rows(path)
    if prediction is not None and prediction not in frame.columns:
        raise ConfigError(f"{path} has no prediction column {prediction!r}")
    features = [f for f in registered.tags.get("features", "").split(",") if f] or [
        c for c in frame.columns if c != label
    ]
    version = registered.aliases.get(CHAMPION, 1)
    present = reference_features(frame, path, model, features, _covered(world, model, version))
    refs = [build_reference(f, frame[f]) for f in present]
    try:
        estimator = fit_performance_model(
            model, version, metric, frame, prediction or PREDICTION, label
        )
    except NoEstimate as exc:
        estimator, estimate = None, f"no performance estimate while labels are delayed: {exc}"
    meta = ModelMeta(
        model=model,
        version=version,
        pipeline=registered.pipeline,
        metric=metric,
        reference_metric=(
            estimator.reference_realised
            if estimator is not None and math.isnan(reference_metric)
            else reference_metric
        ),
        higher_is_better=higher_is_better,
        baseline_latency_ms=latency_ms,
        deployed_at=world.clock(),
        expected_rows=expected_rows or len(frame),
    )
    world.telemetry.put_model(meta, refs, {})
    if estimator is not None:
        put_performance_model(world.telemetry, estimator)
        estimate = (
            f"{metric} estimated from {estimator.prediction!r} while labels are delayed "
            f"(reference: {estimator.reference_realised:.3f} realised, "
            f"{estimator.reference_estimate:.3f} estimated, {estimator.reference_rows} rows)"
        )
    return Ingested(len(refs), estimate)


def _covered(world: World, model: str, version: int) -> set[str]:
    """Features the stored reference of this model version covers (none if there is none)."""
    try:
        if world.telemetry.model(model).version != version:
            return set()
    except NotFoundError:
        return set()
    return {r.feature for r in world.telemetry.references(model)}


def ingest_window(
    world: World,
    model: str,
    path: Path,
    *,
    window_start: datetime,
    metric_value: float | None,
    latency_ms: float | None,
    freshness_lag_h: float,
    prediction: str | None = None,
) -> Ingested:
    """Bin one current window of raw rows against the model's reference and store it.

    With the model's performance estimator and the prediction column (`prediction`, default
    the one the estimator was fitted on), the window's estimated metric is stored beside
    `metric_value`; scans use it only while `metric_value` is unknown (labels delayed).

    Raises:
        ConfigError: the window starts after the world's clock (plus `WINDOW_CLOCK_SLACK`):
            it would be the newest window, and so the one every scan reads, for good.
    """
    latest = world.clock() + WINDOW_CLOCK_SLACK
    if window_start > latest:
        raise ConfigError(
            f"window start {window_start:%Y-%m-%d %H:%M} is in the future: the world's clock "
            f"is {world.clock():%Y-%m-%d %H:%M} UTC"
        )
    frame = read_rows(path)
    store = world.telemetry
    meta = store.model(model)
    bins = bin_frame(store.references(model), frame)
    estimated, reference, estimate = _estimate(store, meta, frame, prediction)
    facts = WindowFacts(
        model=model,
        window_start=window_start,
        rows=len(frame),
        freshness_lag_h=freshness_lag_h,
        schema_fingerprint=",".join(sorted(map(str, frame.columns)))[:64],
        metric_value=metric_value,
        labelled_rows=len(frame) if metric_value is not None else 0,
        latency_p95_ms=latency_ms if latency_ms is not None else meta.baseline_latency_ms,
        requests_per_s=0.0,
        estimated_metric=estimated,
        estimate_reference=reference,
    )
    store.put_window(facts, bins)
    columns = _segment_columns(world, model)
    if columns:
        segments = split_segments(
            model, window_start, store.references(model), frame, columns, label_metric(meta.metric)
        )
        put_segments(store, segments)
    return Ingested(len(bins), estimate)


def _estimate(
    store: TelemetryStore, meta: ModelMeta, frame: pd.DataFrame, prediction: str | None
) -> tuple[float | None, float | None, str]:
    """The window's estimated metric and the reference's (None: none), and the outcome."""
    estimator = performance_model(store, meta.model, meta.version)
    if estimator is None:
        return (
            None,
            None,
            (
                f"no performance estimate: the reference of {meta.model} v{meta.version} had no "
                "prediction and label columns to fit one"
            ),
        )
    column = prediction or estimator.prediction
    try:
        value = window_estimate(estimator, frame, column)
    except NoEstimate as exc:
        return None, None, f"no performance estimate: {exc}"
    return (
        value,
        estimator.reference_estimate,
        (
            f"{meta.metric} estimated {value:.3f} from {column!r} "
            f"({estimator.reference_estimate:.3f} estimated on the reference)"
        ),
    )


def _segment_columns(world: World, model: str) -> list[str]:
    """The segment columns the model's registry tags declare (none for an unregistered one)."""
    try:
        return declared_columns(world.registry.get_model(model).tags)
    except NotFoundError:
        return []


def scan_fleet(world: World, *, detail: bool = False, record: bool = True) -> ScanReport:
    """Scan the newest window of every model and group the signals into incidents.

    With `record`, the incidents are recorded in the world's incident store: the same
    problem seen again updates its open occurrence and keeps its id; a problem back in a
    later window after it was resolved or closed is a new occurrence (memory/incidents.py).
    Without, the world is only read (the ids are those of a first occurrence).
    """
    store = world.telemetry
    if store.latest_window() is None:
        raise NotFoundError("no telemetry yet; run `lotsen telemetry simulate` (or ingest windows)")
    start = time.perf_counter()
    scanned = stream_scan(store, detail=detail)  # blocks of models: memory stays bounded
    signals = scanned.signals
    seasons = seasonal_choices(signals, lambda name: world.registry.get_model(name).tags)
    signals = apply_seasonal(store, signals, seasons)
    found = group_incidents([s for s in signals if s.anomalous])
    found += segment_incidents(segment_drops(store, signals))
    seconds = time.perf_counter() - start
    incidents = world.runs.incidents.observe(found, world.clock()) if record else found
    return ScanReport(
        models=scanned.models,
        features=scanned.feature_rows,
        seconds=seconds,
        signals=signals,
        incidents=incidents,
    )
