"""`lotsen bench scan --engine ray`: the bench fleet scanned on a local Ray cluster.

Run in its own child process on the store `lotsen.bench.scan` wrote: the single-process
streamed scan (`scan_store`) first, then the same file through `tools.drift.ray_engine`
(hash partitions, one per block of models), timed with and without Ray's start-up; the
signals and incidents of both must be equal. `python -m lotsen.bench.scan_ray DB OUT`
measures one store by hand.
"""

import json
import os
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from tools.drift.engine import DriftConfig
from tools.drift.incidents import group_incidents
from tools.drift.ray_engine import partitions_for, scan_with_ray
from tools.drift.signals import ModelSignals
from tools.drift.stream import scan_store
from tools.telemetry.store import TelemetryStore


class RayTiming(BaseModel):
    """One fleet scanned in one process and on a local Ray cluster, same run."""

    models: int
    partitions: int
    cpus: int
    single_s: float
    """The single-process streamed scan, end to end (DuckDB to signals)."""
    ray_start_s: float
    """Starting the local Ray cluster (`ray.init`)."""
    ray_scan_s: float
    """The partitioned scan on the running cluster: tasks, transfers, merge, cutoff."""
    same_signals: bool
    same_incidents: bool
    incidents: int
    load_avg: tuple[float, float, float]

    @property
    def overhead(self) -> float:
        """Ray's scan time (without start-up) over the single-process scan's."""
        return self.ray_scan_s / max(self.single_s, 1e-9)

    @property
    def overhead_with_start(self) -> float:
        """Ray's start-up and scan over the single-process scan."""
        return (self.ray_start_s + self.ray_scan_s) / max(self.single_s, 1e-9)


def measure_ray(db: Path, cpus: int | None = None) -> RayTiming:
    """Scan `db` in this process, then with Ray; compare signals and incidents."""
    import ray

    cpus = cpus or os.cpu_count() or 1
    config = DriftConfig()
    store = TelemetryStore.read_only(db)
    try:
        start = time.perf_counter()
        single = scan_store(store, config)
        single_s = time.perf_counter() - start
        models = store.db.execute("SELECT count(DISTINCT model) FROM windows").fetchall()[0][0]
    finally:
        store.close()
    parts = partitions_for(int(models))
    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start_s = time.perf_counter() - start
    try:
        start = time.perf_counter()
        spread = scan_with_ray(db, parts, config)
        ray_scan_s = time.perf_counter() - start
    finally:
        ray.shutdown()
    incidents = _incidents(single)
    load = os.getloadavg()
    return RayTiming(
        models=int(models),
        partitions=parts,
        cpus=cpus,
        single_s=single_s,
        ray_start_s=ray_start_s,
        ray_scan_s=ray_scan_s,
        same_signals=_dumps(spread) == _dumps(single),
        same_incidents=_incidents(spread) == incidents,
        incidents=len(incidents),
        load_avg=(load[0], load[1], load[2]),
    )


def _dumps(signals: list[ModelSignals]) -> list[dict[str, object]]:
    return [s.model_dump() for s in signals]


def _incidents(signals: list[ModelSignals]) -> list[dict[str, object]]:
    return [i.model_dump() for i in group_incidents([s for s in signals if s.anomalous])]


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(measure_ray(Path(sys.argv[1])).model_dump()))
