"""The Ray engine (local cluster) finds the incidents of the single-process scan."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.telemetry_fleets import simulate_fleet
from tools.drift.batch import load_batch
from tools.drift.engine import DriftConfig, scan
from tools.drift.incidents import group_incidents
from tools.drift.ray_engine import merge, scan_partition
from tools.telemetry.store import TelemetryStore

HAS_RAY = importlib.util.find_spec("ray") is not None


def write_fleet(path: Path) -> None:
    store = TelemetryStore(path)
    simulate_fleet(store, 30, 9)
    store.close()


def single_process(path: Path) -> list[dict[str, object]]:
    store = TelemetryStore.read_only(path)
    try:
        return [s.model_dump() for s in scan(load_batch(store))]
    finally:
        store.close()


def test_partitions_merged_equal_the_single_process_scan(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.duckdb"
    write_fleet(path)
    config = DriftConfig()
    parts = [scan_partition(str(path), part, 4, config) for part in range(4)]
    assert sum(len(found) for found, _ in parts) > 0
    assert sum(bool(found) for found, _ in parts) >= 2  # the hash spreads the fleet
    merged = merge(parts, config)
    assert [s.model_dump() for s in merged] == single_process(path)
    assert group_incidents([s for s in merged if s.anomalous])


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'lotsen[ray]')")
def test_ray_scan_finds_the_single_process_incidents(tmp_path: Path) -> None:
    from tools.drift.ray_engine import scan_with_ray

    path = tmp_path / "telemetry.duckdb"
    write_fleet(path)
    found = scan_with_ray(path, parts=3, num_cpus=2)
    assert [s.model_dump() for s in found] == single_process(path)
    store = TelemetryStore.read_only(path)
    try:
        reference = group_incidents([s for s in scan(load_batch(store)) if s.anomalous])
    finally:
        store.close()
    incidents = group_incidents([s for s in found if s.anomalous])
    assert incidents and [i.model_dump() for i in incidents] == [i.model_dump() for i in reference]


def test_indexed_job_parts_merge_to_the_single_process_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.drift.partition_job import main, merge_parts

    path, out = tmp_path / "telemetry.duckdb", tmp_path / "out"
    write_fleet(path)
    for part in range(3):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(part))
        main(["scan", str(path), str(out), "--parts", "3"])
    store = TelemetryStore.read_only(path)
    try:
        expected = [s.model_dump(mode="json") for s in scan(load_batch(store))]
    finally:
        store.close()
    assert json.loads(merge_parts(out, 3)) == expected
    (out / "part-1.json").unlink()
    with pytest.raises(SystemExit, match=r"partitions \[1\] have no output"):
        merge_parts(out, 3)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'lotsen[ray]')")
def test_the_ray_bench_finds_the_single_process_signals(tmp_path: Path) -> None:
    from lotsen.bench.scan import write_fleet
    from lotsen.bench.scan_ray import RayTiming

    path, out = tmp_path / "telemetry.duckdb", tmp_path / "ray.json"
    store = TelemetryStore(path)
    write_fleet(store, 300, np.random.default_rng(1))
    store.close()
    # in its own process, as `lotsen bench scan --engine ray` runs it
    subprocess.run([sys.executable, "-m", "lotsen.bench.scan_ray", str(path), str(out)], check=True)
    timing = RayTiming.model_validate_json(out.read_text())
    assert (timing.models, timing.partitions) == (300, 2)
    assert timing.same_signals and timing.same_incidents and timing.incidents > 0
    assert timing.single_s > 0 and timing.ray_scan_s > 0
