"""A synthetic fleet's telemetry: reference and current windows for every model, with faults.

Each model draws its features from its feature pipeline's distributions, binned at ingest
exactly as real rows would be. Seasonal noise moves every window a little and must not
alert; injected faults hit the newest window and are recorded as ground truth.
"""

import hashlib
import math
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, Field

from tools.domain import FeatureKind, FeaturePipeline, FeatureSpec, ModelTask
from tools.telemetry.binning import FeatureReference, bin_frame, build_reference
from tools.telemetry.faults import FaultSpec, apply_faults, shift_features
from tools.telemetry.store import InjectedFault, TelemetryStore, reference_row, window_row

METRICS = {
    ModelTask.CLASSIFICATION: ("auc", True),
    ModelTask.REGRESSION: ("rmse", False),
    ModelTask.FORECAST: ("mape", False),
}


class SimModel(BaseModel):
    """What the simulator needs to know about a model."""

    name: str
    version: int
    pipeline: str
    task: ModelTask
    features: list[str]
    baseline_latency_ms: float = 50.0
    requests_per_s: float = 10.0


class SimulationSpec(BaseModel):
    """Shape of the simulated telemetry."""

    seed: int = 7
    start: datetime
    """Start of the reference window."""
    windows: int = Field(default=2, ge=1)
    reference_rows: int = Field(default=5000, gt=0)
    window_rows: int = Field(default=5000, gt=0)
    window_hours: float = 24.0
    seasonal_amplitude: float = 0.03
    """Daily mean wobble, in standard deviations: normal variation that must not alert."""
    label_delay_windows: int = Field(default=0, ge=0)
    """The newest windows whose labels have not arrived: no realised metric, an estimated
    one instead (the reference metric less the part of a drop prediction scores show)."""
    faults: list[FaultSpec] = Field(default_factory=list)


Progress = Callable[[int, int], None]


def simulate(
    spec: SimulationSpec,
    models: list[SimModel],
    pipelines: list[FeaturePipeline],
    store: TelemetryStore,
    progress: Progress | None = None,
) -> list[InjectedFault]:
    """Write reference and current windows for every model; return the injected ground truth."""
    by_name = {p.name: p for p in pipelines}
    rows = _Rows()
    truth = _ground_truth(spec, models)
    for done, model in enumerate(models, start=1):
        _simulate_model(spec, model, by_name[model.pipeline], rows)
        if progress is not None:
            progress(done, len(models))
    store.clear()
    rows.flush(store)
    for fault in truth:
        store.record_fault(fault)
    return truth


class _Rows:
    """Accumulates rows per table for one bulk insert each."""

    def __init__(self) -> None:
        self.tables: dict[str, list[list[object]]] = {
            "models": [],
            "reference": [],
            "window_bins": [],
            "windows": [],
        }

    def flush(self, store: TelemetryStore) -> None:
        for table, rows in self.tables.items():
            if rows:
                columns = [
                    d[0] for d in store.db.execute(f"SELECT * FROM {table} LIMIT 0").description
                ]
                store.bulk_insert(
                    table, pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
                )


def _simulate_model(
    spec: SimulationSpec, model: SimModel, pipeline: FeaturePipeline, rows: _Rows
) -> None:
    rng = np.random.default_rng(_seed(spec.seed, model.name))
    features = [f for f in pipeline.features if f.name in set(model.features)]
    probs = {
        f.name: rng.dirichlet(np.full(len(f.categories), 2.0))
        for f in features
        if f.kind is FeatureKind.CATEGORICAL
    }
    reference = _draw(features, spec.reference_rows, rng, probs, shift=0.0)
    refs = [build_reference(f.name, reference[f.name]) for f in features]
    metric, higher = METRICS[model.task]
    ref_metric = round(float(rng.uniform(0.75, 0.93) if higher else rng.uniform(0.05, 0.3)), 4)
    faults = [
        f
        for f in spec.faults
        if f.model == model.name or (f.kind == "pipeline_break" and f.pipeline == model.pipeline)
    ]
    deployed = spec.start - timedelta(days=30)
    last = spec.start + timedelta(hours=spec.window_hours * spec.windows)
    if any(f.kind in ("latency_regression", "bad_deploy") for f in faults):
        deployed = last
    rows.tables["models"].append(
        [
            model.name,
            model.version,
            model.pipeline,
            metric,
            ref_metric,
            higher,
            model.baseline_latency_ms,
            deployed,
            spec.window_rows,
            spec.window_hours,
        ]
    )
    for r in refs:
        rows.tables["reference"].append(reference_row(model.name, model.version, r, 1.0))
    for k in range(1, spec.windows + 1):
        start = spec.start + timedelta(hours=spec.window_hours * k)
        newest = k == spec.windows
        _window(
            spec,
            model,
            features,
            refs,
            probs,
            rng,
            start,
            k,
            faults if newest else [],
            ref_metric,
            higher,
            rows,
            gradual=[f for f in faults if f.kind == "gradual_drift"],
            delayed=k > spec.windows - spec.label_delay_windows,
        )


def _window(
    spec: SimulationSpec,
    model: SimModel,
    features: list[FeatureSpec],
    refs: list[FeatureReference],
    probs: dict[str, np.ndarray],
    rng: np.random.Generator,
    start: datetime,
    k: int,
    faults: list[FaultSpec],
    ref_metric: float,
    higher: bool,
    rows: _Rows,
    gradual: list[FaultSpec],
    delayed: bool,
) -> None:
    season = spec.seasonal_amplitude * math.sin(2 * math.pi * k / 7)
    n = int(spec.window_rows * rng.uniform(0.95, 1.05))
    frame = _draw(features, n, rng, probs, shift=season)
    stds = {r.feature: r.std for r in refs}
    for g in gradual:
        shift_features(frame, g.features, g.sigma * k / spec.windows, stds)
    effects = apply_faults(frame, faults, stds, rng, spec.window_hours)
    bins = bin_frame(refs, frame)
    present = ",".join(sorted(frame.columns))
    noise = rng.normal(0, 0.004 if higher else 0.01)

    def moved(drop: float) -> float:
        return ref_metric + noise - drop if higher else ref_metric * (1 + noise + 3 * drop)

    metric = moved(effects.performance_drop)
    estimated = moved(effects.visible_drop) if delayed else None
    rows.tables["windows"].append(
        [
            model.name,
            start,
            len(frame),
            effects.freshness_lag_h,
            hashlib.sha1(present.encode()).hexdigest()[:12],
            None if delayed else float(metric),
            0 if delayed else len(frame) // 2,
            model.baseline_latency_ms * effects.latency_factor * float(rng.uniform(0.97, 1.03)),
            model.requests_per_s,
            estimated,
            ref_metric if delayed else None,
        ]
    )
    rows.tables["window_bins"] += [window_row(model.name, start, b) for b in bins]


def _draw(
    features: list[FeatureSpec],
    n: int,
    rng: np.random.Generator,
    probs: dict[str, np.ndarray],
    shift: float,
) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for f in features:
        if f.kind is FeatureKind.CATEGORICAL:
            codes = rng.choice(len(f.categories), size=n, p=probs[f.name])
            columns[f.name] = pd.Categorical.from_codes(codes, categories=list(f.categories))
        else:
            columns[f.name] = rng.normal(f.mean + shift * f.std, f.std, size=n)
    return pd.DataFrame(columns)


def _ground_truth(spec: SimulationSpec, models: list[SimModel]) -> list[InjectedFault]:
    newest = spec.start + timedelta(hours=spec.window_hours * spec.windows)
    truth = []
    for i, fault in enumerate(spec.faults, start=1):
        if fault.kind == "pipeline_break":
            hit = [
                m.name
                for m in models
                if m.pipeline == fault.pipeline
                and (fault.mode == "stale_partition" or set(fault.features) & set(m.features))
            ]
            target = fault.pipeline or ""
        else:
            hit, target = [fault.model or ""], fault.model or ""
        truth.append(
            InjectedFault(
                id=i,
                kind=fault.kind,
                target=target,
                models=sorted(hit),
                features=fault.features,
                window_start=newest,
                detail=fault.model_dump_json(exclude_defaults=True),
            )
        )
    return truth


def _seed(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "little")
