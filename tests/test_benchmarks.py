"""The benchmarks run end to end on small sizes (their figures come from `make bench`)."""

import numpy as np

from lotsen.bench.drift import bench_drift, synthetic_batch
from tools.drift.engine import scan


def test_drift_bench_runs_without_evidently() -> None:
    result = bench_drift(models=2, rows=500, evidently_python=None, fleet_sizes=[50])
    assert result.evidently_s is None and result.agreement is None
    assert (result.models, result.rows, result.columns) == (2, 500, 35)  # 30 numeric + 5 cat
    assert (result.lotsen_only, result.evidently_only, result.flagged_by_evidently) == (0, 0, 0)
    timings = [result.lotsen_raw_s, result.lotsen_raw_with_reference_s, result.lotsen_binned_s]
    assert all(np.isfinite(t) and 0 < t < 60 for t in timings), timings
    (fleet,) = result.fleet
    assert (fleet.models, fleet.features) == (50, 30) and fleet.load_s is not None


def test_synthetic_fleet_drifts_where_it_was_shifted() -> None:
    batch = synthetic_batch(200, 30, np.random.default_rng(0))
    flagged = {s.model for s in scan(batch)}
    assert 0 < len(flagged) < 200
