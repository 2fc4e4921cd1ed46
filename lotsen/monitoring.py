"""Wiring telemetry and the drift engine to the world: simulate, scan, detail."""

import time
from dataclasses import dataclass
from datetime import timedelta

from lotsen.settings import Settings
from lotsen.world import current_world, open_registry, open_twin
from tools.domain import FeaturePipeline
from tools.drift.batch import load_batch
from tools.drift.engine import scan
from tools.drift.incidents import Incident, group_incidents
from tools.drift.signals import ModelSignals
from tools.errors import NotFoundError
from tools.fleet.catalog import FleetCatalog
from tools.registry import CHAMPION
from tools.telemetry.scenario import demo_faults
from tools.telemetry.simulate import Progress, SimModel, SimulationSpec, simulate
from tools.telemetry.store import InjectedFault, TelemetryStore


@dataclass
class ScanReport:
    """A fleet scan's outcome."""

    models: int
    features: int
    seconds: float
    signals: list[ModelSignals]
    incidents: list[Incident]


def open_telemetry(settings: Settings) -> TelemetryStore:
    """The world's telemetry store."""
    return TelemetryStore(current_world(settings).telemetry_db)


def fleet_models(settings: Settings) -> tuple[list[SimModel], list[FeaturePipeline]]:
    """The fleet as the simulator sees it (registry + twin + feature pipelines)."""
    world = current_world(settings)
    registry = open_registry(settings, world)
    catalog = FleetCatalog(world.fleet_db)
    deployments = {d.model: d for d in open_twin(settings).deployments()}
    models = []
    for m in registry.list_models():
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
    return models, catalog.pipelines()


def simulate_telemetry(
    settings: Settings,
    *,
    seed: int,
    windows: int,
    rows: int,
    faults: bool,
    progress: Progress | None = None,
) -> list[InjectedFault]:
    """Simulate the fleet's telemetry into the world (replacing earlier telemetry)."""
    models, pipelines = fleet_models(settings)
    now = open_twin(settings).now()
    spec = SimulationSpec(
        seed=seed,
        start=now - timedelta(days=windows),
        windows=windows,
        reference_rows=rows,
        window_rows=rows,
        faults=demo_faults(models, pipelines) if faults else [],
    )
    store = open_telemetry(settings)
    try:
        return simulate(spec, models, pipelines, store, progress)
    finally:
        store.close()


def scan_fleet(settings: Settings, *, detail: bool = False) -> ScanReport:
    """Scan the newest window of every model and group the signals into incidents."""
    store = open_telemetry(settings)
    try:
        if store.latest_window() is None:
            raise NotFoundError(
                "no telemetry yet; run `lotsen telemetry simulate` (or ingest windows)"
            )
        start = time.perf_counter()
        batch = load_batch(store)
        signals = scan(batch, detail=detail)
        incidents = group_incidents([s for s in signals if s.anomalous])
        seconds = time.perf_counter() - start
    finally:
        store.close()
    return ScanReport(
        models=len(batch.models.model),
        features=batch.features.rows,
        seconds=seconds,
        signals=signals,
        incidents=incidents,
    )
