"""`lotsen scan --engine ray`: the fleet scan on Ray workers, recorded like a local scan."""

import time

from tools.drift.incidents import group_incidents
from tools.drift.ray_engine import partitions_for, scan_with_ray
from tools.drift.stream import model_names
from tools.errors import NotFoundError
from world.monitoring import ScanReport
from world.world import World

_FEATURE_ROWS = """
SELECT count(*) FROM reference r JOIN models m ON m.model = r.model AND m.version = r.version
WHERE r.model IN (SELECT DISTINCT model FROM windows)
"""


def ray_scan(world: World, partitions: int) -> ScanReport:
    """Scan with Ray tasks reading the telemetry file, then record the incidents here.

    The world's own connection to the telemetry file is opened only after the workers are
    done: DuckDB lets several processes read a file only while none writes it.
    """
    path = world.files.telemetry_db
    if not path.exists():
        raise NotFoundError("no telemetry yet; run `lotsen telemetry simulate` (or ingest windows)")
    start = time.perf_counter()
    store = world.telemetry
    names = model_names(store)
    if not names:
        raise NotFoundError("no telemetry yet; run `lotsen telemetry simulate` (or ingest windows)")
    rows = store.db.execute(_FEATURE_ROWS).fetchall()[0][0]
    store.close()
    del world.telemetry  # reopened below, after the workers have read the file
    signals = scan_with_ray(path, partitions or partitions_for(len(names)))
    found = group_incidents([s for s in signals if s.anomalous])
    seconds = time.perf_counter() - start
    incidents = world.runs.incidents.observe(found, world.clock())
    return ScanReport(
        models=len(names), features=int(rows), seconds=seconds, signals=signals, incidents=incidents
    )
