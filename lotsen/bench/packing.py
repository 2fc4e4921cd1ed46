"""`lotsen bench packing`: model servers onto a MIG pool, against the lower bound and first-fit.

The world: N deployments (seeded mix of MIG profiles, 1-2 replicas) and one pool of M
nodes x 8 GPUs. Lotsen's planner (pattern ILP with its LP bound) runs end to end from
`Deployment` objects; first-fit (arrival order) and best-fit decreasing are measured on the
same replicas in the same run.
"""

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from tools.capacity.demand import items_of, plan_packing
from tools.capacity.packing import best_fit_decreasing, first_fit, raise_if_infeasible
from tools.cluster.sim.spec import PoolSpec, build_nodes
from tools.domain import (
    GPU_CATALOGUE,
    Deployment,
    Environment,
    GpuRequest,
    GpuSharing,
    GpuType,
    NodePool,
)
from tools.errors import ConfigError

PROFILE_MIX = {
    "1g.10gb": 0.35,
    "1g.20gb": 0.10,
    "2g.20gb": 0.25,
    "3g.40gb": 0.20,
    "4g.40gb": 0.05,
    "7g.80gb": 0.05,
}
GPUS_PER_NODE = 8
REPEATS = 3


class PackingBench(BaseModel):
    """Figures of one `bench packing` run."""

    deployments: int
    replicas: int
    nodes: int
    gpus_in_pool: int
    lower_bound: int
    """max(volume bound, LP bound): no packing uses fewer GPUs."""
    volume_bound: int
    lotsen_gpus: int
    lotsen_method: str
    best_fit_decreasing_gpus: int
    first_fit_gpus: int
    lotsen_s: float
    """Median planning time, end to end from deployments (bounds included, baselines not)."""
    first_fit_s: float
    best_fit_decreasing_s: float


def bench_packing(
    deployments: int = 1000, nodes: int = 64, seed: int = 11, gpu_type: GpuType = GpuType.H100
) -> PackingBench:
    """Build the world and time the planners on it."""
    if deployments < 1 or nodes < 1:
        raise ConfigError("--deployments and --nodes must be >= 1")
    if not GPU_CATALOGUE[gpu_type].mig_profiles:
        raise ConfigError(
            f"{gpu_type} cannot be partitioned with MIG; the packing bench needs a MIG GPU "
            "(H100-80GB or A100-80GB)"
        )
    pool = NodePool(
        name="bench-mig",
        env=Environment.PROD,
        gpu_type=gpu_type,
        gpus_per_node=GPUS_PER_NODE,
        sharing=GpuSharing.MIG,
        mig_layout=("7g.80gb",),
    )
    node_objs = build_nodes(PoolSpec(pool=pool, size=nodes))
    deps = _deployments(deployments, gpu_type, random.Random(seed))
    items = [i for d in deps for i in items_of(d)]
    timings: list[float] = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        plans, unplaceable = plan_packing([pool], node_objs, deps, baseline=False)
        timings.append(time.perf_counter() - start)
    raise_if_infeasible(plans, unplaceable)
    plan = plans[0]
    ff_s, ff = _timed(lambda: len(first_fit(items)))
    bfd_s, bfd = _timed(lambda: len(best_fit_decreasing(items)))
    return PackingBench(
        deployments=deployments,
        replicas=len(items),
        nodes=nodes,
        gpus_in_pool=nodes * GPUS_PER_NODE,
        lower_bound=plan.lower_bound,
        volume_bound=plan.volume_bound,
        lotsen_gpus=plan.gpus_used,
        lotsen_method=plan.method,
        best_fit_decreasing_gpus=bfd,
        first_fit_gpus=ff,
        lotsen_s=statistics.median(timings),
        first_fit_s=ff_s,
        best_fit_decreasing_s=bfd_s,
    )


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _deployments(count: int, gpu_type: GpuType, rng: random.Random) -> list[Deployment]:
    profiles, weights = list(PROFILE_MIX), list(PROFILE_MIX.values())
    start = datetime(2026, 11, 2, tzinfo=UTC)
    return [
        Deployment(
            namespace=f"team-{i % 20:02d}-prod",
            name=f"model-{i:04d}",
            model=f"model-{i:04d}",
            model_version=1,
            env=Environment.PROD,
            replicas=rng.choices((1, 2), (0.6, 0.4))[0],
            gpu=GpuRequest(
                gpu_type=gpu_type,
                sharing=GpuSharing.MIG,
                mig_profile=rng.choices(profiles, weights)[0],
            ),
            requests_per_s=10.0,
            last_request_at=start,
        )
        for i in range(count)
    ]
