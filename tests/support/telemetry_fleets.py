"""Telemetry of a generated fleet, simulated into a store (scan and scale-out tests)."""

from datetime import UTC, datetime

from tools.fleet.generate import generate_fleet
from tools.telemetry.scenario import demo_faults
from tools.telemetry.simulate import SimModel, SimulationSpec, simulate
from tools.telemetry.store import InjectedFault, TelemetryStore

START = datetime(2026, 11, 1, tzinfo=UTC)


def simulate_fleet(
    store: TelemetryStore,
    models: int,
    seed: int,
    *,
    rows: int = 600,
    windows: int = 2,
    faults: bool = True,
    label_delay_windows: int = 0,
) -> list[InjectedFault]:
    """`windows` windows of `rows` rows (reference as large) for `generate_fleet(models, seed)`,
    with the demo faults unless `faults` is off, the newest `label_delay_windows` without
    labels; returns the faults injected.
    """
    fleet = generate_fleet(models, seed)
    sims = [
        SimModel(
            name=p.model.name,
            version=p.champion,
            pipeline=p.model.pipeline,
            task=p.model.task,
            features=p.model.tags["features"].split(","),
        )
        for p in fleet.models
    ]
    spec = SimulationSpec(
        seed=seed,
        start=START,
        faults=demo_faults(sims, list(fleet.pipelines)) if faults else [],
        reference_rows=rows,
        window_rows=rows,
        windows=windows,
        label_delay_windows=label_delay_windows,
    )
    return simulate(spec, sims, list(fleet.pipelines), store)
