"""`lotsen bench scan`: a fleet scan from DuckDB to incidents, in bounded memory.

For each fleet size a synthetic store (models x 30 features, pre-binned, 2% of rows
drifted) is written block by block into a DuckDB file; a child process then measures, on
that file: reading the histograms once (the floor any scan pays), the streamed scan end to
end (`tools.drift.stream.scan_store`), the statistics alone, and its own peak memory
(the process's own high-water RSS). Run `python -m lotsen.bench.scan DB OUT` to measure one
store by hand.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from lotsen.bench.scan_ray import RayTiming
from tools.drift.engine import DriftConfig, feature_tests
from tools.drift.stream import BLOCK_MODELS, blocks, load_block, model_names, scan_store
from tools.telemetry.binning import SLOTS
from tools.telemetry.store import TelemetryStore

NOW = datetime(2026, 11, 3, tzinfo=UTC)
FEATURES = 30
DUCKDB_MEMORY = "512MB"
"""DuckDB's buffer pool in the measuring process (its default is 80% of RAM: it would keep
every page it read, and the peak would measure the cache, not the scan)."""
_PROFILES = 64


class ScanTiming(BaseModel):
    """One fleet size, measured in a child process."""

    models: int
    features: int
    rows: int
    histogram_mb: float
    """Bytes of the four histogram arrays (reference/current counts and sums)."""
    read_once_s: float
    """Reading every histogram once from DuckDB into numpy (streamed, nothing computed),
    after the first scan: from DuckDB's cache where it kept the pages (up to ~10k models)."""
    memory_read_s: float
    """Summing every histogram array once in memory: the memory-bandwidth floor."""
    scan_s: float
    """End to end: DuckDB to per-model signals (`scan_store`), blocks of BLOCK_MODELS. The
    process's first scan, as a monitor scanning a new window: DuckDB decompresses every page
    it reads into its buffer pool (the imports are done before)."""
    second_scan_s: float = 0.0
    """The same scan again at the end, the pages DuckDB kept cached (all of them up to ~10k
    models at DUCKDB_MEMORY; part of them beyond): what the first scan's reading cost."""
    statistics_s: float
    """The vectorised test statistics alone (`feature_tests` over every block; PSI, which
    decides nothing, is computed for the reported rows only)."""
    flagged: int
    peak_mb: float
    """High-water RSS of the measuring process, all measurements included."""
    scan_peak_mb: float = 0.0
    """High-water RSS right after the streamed scan, the first thing the process does."""
    duckdb_pool_mb: float = 0.0
    """DuckDB's buffer pool right after the scan: pages it keeps cached (up to DUCKDB_MEMORY),
    part of scan_peak_mb; the rest is the interpreter, one or two blocks and the signals."""
    load_avg: tuple[float, float, float]
    ray: RayTiming | None = None
    """The same store on a local Ray cluster (`--engine ray`), in its own child process."""

    @property
    def scan_vs_read(self) -> float:
        """End-to-end time over the time to read the histograms once from DuckDB."""
        return self.scan_s / self.read_once_s

    @property
    def statistics_vs_memory(self) -> float:
        """Statistics time over one pass over the same arrays in memory."""
        return self.statistics_s / max(self.memory_read_s, 1e-9)


def bench_scan(sizes: list[int], seed: int = 5, *, ray: bool = False) -> list[ScanTiming]:
    """Write and measure one store per fleet size, each in a temporary directory.

    With `ray`, the same store is then scanned in one process and on a local Ray cluster
    (lotsen/bench/scan_ray.py), in a second child process.
    """
    out = []
    for models in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "telemetry.duckdb"
            store = TelemetryStore(db)
            write_fleet(store, models, np.random.default_rng(seed + models))
            store.close()
            timing = ScanTiming.model_validate_json(_child("lotsen.bench.scan", db, tmp))
            if ray:
                timing.ray = RayTiming.model_validate_json(_child("lotsen.bench.scan_ray", db, tmp))
            out.append(timing)
    return out


def _child(module: str, db: Path, tmp: str) -> str:
    """Run `python -m module DB OUT` in a fresh process; its JSON result."""
    result = Path(tmp) / "result.json"
    subprocess.run(
        [sys.executable, "-m", module, str(db), str(result)],
        check=True,
        env={**os.environ, "HOME": tmp},
    )
    return result.read_text()


def write_fleet(
    store: TelemetryStore, models: int, rng: np.random.Generator, block: int = 5000
) -> None:
    """Insert `models` x FEATURES pre-binned features, one block of models at a time."""
    profiles = rng.dirichlet(np.full(SLOTS - 2, 8.0), size=_PROFILES)
    centers = np.linspace(-3, 3, SLOTS)
    for start in range(0, models, block):
        names = [f"m{i:07d}" for i in range(start, min(start + block, models))]
        rows = len(names) * FEATURES
        p = np.zeros((rows, SLOTS))
        p[:, 1:-1] = profiles[rng.integers(0, _PROFILES, rows)]
        q = p.copy()
        drift = rng.random(rows) < 0.02
        q[drift, 1:-1] = np.roll(q[drift, 1:-1], 3, axis=1)
        ref = rng.poisson(5000 * p).astype(np.float64)
        cur = rng.poisson(5000 * q).astype(np.float64)
        _insert_block(store, names, ref, cur, centers, rng.random(rows) < 0.2)


def _lists(matrix: np.ndarray) -> pa.Array:
    offsets = pa.array(np.arange(0, matrix.size + 1, SLOTS, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.ravel()))


def _insert_block(
    store: TelemetryStore,
    names: list[str],
    ref: np.ndarray,
    cur: np.ndarray,
    centers: np.ndarray,
    is_cat: np.ndarray,
) -> None:
    count, rows = len(names), len(names) * FEATURES
    per_row = np.repeat(np.array(names, dtype=object), FEATURES)
    feature = np.tile(np.array([f"f{j:02d}" for j in range(FEATURES)], dtype=object), count)
    ints = np.zeros(rows, dtype=np.int64)
    store.bulk_insert(
        "models",
        pa.table(
            {
                "model": names,
                "version": np.ones(count, dtype=np.int32),
                "pipeline": ["p"] * count,
                "metric": ["auc"] * count,
                "reference_metric": np.full(count, 0.9),
                "higher_is_better": np.ones(count, dtype=bool),
                "baseline_latency_ms": np.full(count, 10.0),
                "deployed_at": [NOW - timedelta(days=30)] * count,
                "expected_rows": np.full(count, 5000, dtype=np.int64),
                "window_hours": np.full(count, 24.0),
            }
        ),
    )
    store.bulk_insert(
        "reference",
        pa.table(
            {
                "model": per_row,
                "version": np.ones(rows, dtype=np.int32),
                "feature": feature,
                "kind": np.where(is_cat, "categorical", "numeric"),
                "edges": pa.array([[]] * rows, pa.list_(pa.float64())),
                "categories": pa.array([[]] * rows, pa.list_(pa.string())),
                "counts": _lists(ref),
                "sums": _lists(ref * centers),
                "n": ref.sum(axis=1).astype(np.int64),
                "nulls": ints,
                "mean": np.zeros(rows),
                "std": np.ones(rows),
                "n_unique": np.full(rows, 5000, dtype=np.int64),
                "importance": np.ones(rows),
            }
        ),
    )
    store.bulk_insert(
        "window_bins",
        pa.table(
            {
                "model": per_row,
                "window_start": [NOW] * rows,
                "feature": feature,
                "counts": _lists(cur),
                "sums": _lists(cur * centers),
                "n": cur.sum(axis=1).astype(np.int64),
                "nulls": ints,
                "invalid": ints,
                "missing": np.zeros(rows, dtype=bool),
                "type_mismatch": np.zeros(rows, dtype=bool),
            }
        ),
    )
    store.bulk_insert(
        "windows",
        pa.table(
            {
                "model": names,
                "window_start": [NOW] * count,
                "rows": np.full(count, 5000, dtype=np.int64),
                "freshness_lag_h": np.ones(count),
                "schema_fingerprint": [""] * count,
                "metric_value": np.full(count, 0.9),
                "labelled_rows": np.full(count, 5000, dtype=np.int64),
                "latency_p95_ms": np.full(count, 10.0),
                "requests_per_s": np.zeros(count),
            }
        ),
    )


def peak_rss_kb() -> float:
    """This process's high-water RSS in KiB: Linux's VmHWM, which starts afresh at exec.

    Not ru_maxrss: a child keeps the high-water mark its parent had when it forked (Linux
    carries it across exec), so a child of the process that generated a 100k-model store
    reported that process's 4.2 GB as its own peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def measure(db: Path) -> ScanTiming:
    """Measure one store (run in a fresh process, so its high-water RSS is this scan's)."""
    store = TelemetryStore(db)
    store.db.execute("SET enable_progress_bar = false")
    store.db.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    start = time.perf_counter()
    flagged = len(scan_store(store))
    scanned = time.perf_counter() - start
    scan_peak_kb = peak_rss_kb()  # before anything else
    pool = store.db.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
    pool_bytes = float(pool[0][0] or 0)
    read_once, rows = _read_once(store)
    statistics = memory = 0.0
    config = DriftConfig()
    names = model_names(store)
    for block in blocks(names, BLOCK_MODELS):
        f = load_block(store, block).features
        start = time.perf_counter()
        feature_tests(f, config)
        statistics += time.perf_counter() - start
        start = time.perf_counter()
        for array in (f.ref_counts, f.ref_sums, f.cur_counts, f.cur_sums):
            array.sum()
        memory += time.perf_counter() - start
    start = time.perf_counter()
    scan_store(store)
    second_scan = time.perf_counter() - start
    store.close()
    peak_kb = peak_rss_kb()
    load = os.getloadavg()
    return ScanTiming(
        models=len(names),
        features=FEATURES,
        rows=rows,
        histogram_mb=rows * SLOTS * 8 * 4 / 1e6,
        read_once_s=read_once,
        memory_read_s=memory,
        scan_s=scanned,
        second_scan_s=second_scan,
        statistics_s=statistics,
        flagged=flagged,
        peak_mb=peak_kb / 1024,
        scan_peak_mb=scan_peak_kb / 1024,
        duckdb_pool_mb=pool_bytes / 2**20,
        load_avg=(load[0], load[1], load[2]),
    )


def _read_once(store: TelemetryStore) -> tuple[float, int]:
    """Stream every histogram list column into numpy once; (seconds, rows)."""
    start = time.perf_counter()
    rows = 0
    for table in ("reference", "window_bins"):
        relation = store.db.sql(f"SELECT counts, sums FROM {table}")
        assert relation is not None
        reader = relation.to_arrow_reader(1 << 17)
        for batch in reader:
            for column in batch.columns:
                values = column.flatten().to_numpy()
                np.asarray(values, dtype=np.float64).reshape(-1, SLOTS)
            rows += batch.num_rows if table == "reference" else 0
    return time.perf_counter() - start, rows


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(measure(Path(sys.argv[1])).model_dump()))
