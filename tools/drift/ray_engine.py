"""The fleet scan partitioned by model hash across Ray workers (optional extra `ray`).

Each task opens the telemetry file read-only, scans the models with
`hash(model) % parts = part` in blocks (tools/drift/stream.py) and returns its signals
and p-values; the driver merges them in model order and sets the scan-wide
false-discovery-rate cutoff once, so the incidents are those of the single-process scan.
The same partitioning runs as an indexed Kubernetes Job (deploy/kubernetes/scan-job.yaml,
one pod per JOB_COMPLETION_INDEX).

When to use which: one process up to ~100k models per window (bounded memory, seconds);
Ray when a cluster is already there and the fleet's telemetry sits on shared storage; the
indexed Job when it is not, one pod per partition writing its part for a merge step.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tools.drift.engine import DriftConfig, with_fdr_cutoff
from tools.drift.signals import ModelSignals
from tools.drift.stream import BLOCK_MODELS, Block, scan_blocks
from tools.errors import ConfigError
from tools.telemetry.store import TelemetryStore


def scan_partition(
    path: str,
    part: int,
    parts: int,
    config: DriftConfig,
    window_start: datetime | None = None,
    detail: bool = False,
) -> tuple[list[dict[str, Any]], NDArray[np.float64]]:
    """One partition's signals (as plain dicts, cheap to ship) and p-values."""
    store = TelemetryStore.read_only(path)
    try:
        signals, p_values = scan_blocks(
            store, [Block(part=part, parts=parts)], config, window_start=window_start, detail=detail
        )
    finally:
        store.close()
    return [s.model_dump() for s in signals], p_values


def merge(
    results: list[tuple[list[dict[str, Any]], NDArray[np.float64]]], config: DriftConfig
) -> list[ModelSignals]:
    """Signals of every partition in model order, with the scan-wide cutoff."""
    signals = [ModelSignals.model_validate(s) for found, _ in results for s in found]
    signals.sort(key=lambda s: s.model)
    p_values = np.concatenate([np.empty(0), *(p for _, p in results)])
    return with_fdr_cutoff(signals, p_values, config)


def scan_with_ray(
    path: Path,
    parts: int,
    config: DriftConfig | None = None,
    *,
    window_start: datetime | None = None,
    detail: bool = False,
    address: str | None = None,
    num_cpus: int | None = None,
) -> list[ModelSignals]:
    """Scan a telemetry file with `parts` Ray tasks (a local cluster unless `address`)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'lotsen[ray]' (or use the default engine)"
        ) from None
    config = config or DriftConfig()
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=num_cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        task = ray.remote(scan_partition)
        futures = [
            task.remote(str(path), part, parts, config, window_start, detail)
            for part in range(parts)
        ]
        return merge(ray.get(futures), config)
    finally:
        if started:
            ray.shutdown()


def partitions_for(models: int, block_models: int = BLOCK_MODELS) -> int:
    """Enough partitions that each holds about one block of models (at least 2)."""
    return max(2, -(-models // block_models))
