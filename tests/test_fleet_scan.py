"""A simulated fleet: the scan finds exactly the injected incidents and nothing else."""

import pytest

from tests.support.telemetry_fleets import simulate_fleet
from tools.drift.batch import load_batch
from tools.drift.engine import scan
from tools.drift.incidents import Incident, group_incidents
from tools.telemetry.store import InjectedFault, TelemetryStore

EXPECTED_KIND = {
    "pipeline_break": "data_quality",
    "concept_drift": "concept_drift",
    "gradual_drift": "covariate_drift",
    "latency_regression": "latency_regression",
    "bad_deploy": "bad_deploy",
}


def run(
    seed: int, faults: bool, rows: int = 5000, windows: int = 2
) -> tuple[list[Incident], list[InjectedFault]]:
    store = TelemetryStore(":memory:")
    truth = simulate_fleet(store, 80, seed, rows=rows, windows=windows, faults=faults)
    return group_incidents(scan(load_batch(store))), truth


def expected_kind(fault: InjectedFault) -> str:
    if fault.kind == "covariate_shift":
        return (
            "drift_with_performance_drop"
            if '"performance_drop"' in fault.detail
            else "covariate_drift"
        )
    return EXPECTED_KIND[fault.kind]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 21])
def test_every_injected_fault_is_one_incident_and_nothing_else(seed: int) -> None:
    incidents, truth = run(seed, faults=True)
    found = sorted((i.kind, tuple(i.models)) for i in incidents)
    wanted = sorted((expected_kind(f), tuple(f.models)) for f in truth)
    assert found == wanted
    upstream = next(i for i in incidents if i.kind == "data_quality")
    assert len(upstream.models) >= 3, "a pipeline break is one incident for many models"
    assert "do not retrain" in upstream.probable_cause


@pytest.mark.slow
def test_a_fleet_without_faults_raises_no_incident() -> None:
    incidents, truth = run(11, faults=False)
    assert truth == [] and incidents == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 23])
def test_small_windows_of_seasonal_noise_raise_no_incident(seed: int) -> None:
    """800-row windows use p-value tests (KS, chi-squared): ~1,500 tests per scan must not
    turn sampling noise into incidents (two-sample chi-squared, scan-wide FDR)."""
    incidents, _ = run(seed, faults=False, rows=800, windows=14)
    assert incidents == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 21])
def test_small_windows_still_catch_every_injected_fault(seed: int) -> None:
    incidents, truth = run(seed, faults=True, rows=800, windows=14)
    found = sorted((i.kind, tuple(i.models)) for i in incidents)
    assert found == sorted((expected_kind(f), tuple(f.models)) for f in truth)
