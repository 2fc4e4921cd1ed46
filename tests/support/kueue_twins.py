"""Twins with Kueue queues whose admissions tests can predict (Kueue's worked examples).

Kueue's documentation counts CPUs; here the resource is whole A100 GPUs (`nvidia.com/gpu`),
with enough nodes (3 x 8 GPUs, two pools) that quota, never capacity, decides.
"""

import itertools
from datetime import datetime
from pathlib import Path

from tests.support.twin_specs import A100, START
from tools.cluster.sim import ClusterSpec, PoolSpec, SimCluster
from tools.domain import Environment, GpuType, JobSpec, JobStatus, Namespace, NodePool
from tools.domain.gpus import GpuSharing
from tools.domain.queues import (
    ClusterQueue,
    FlavorQuota,
    LocalQueue,
    Preemption,
    QueueConfig,
    ResourceFlavor,
)

FLAVOR = "a100"
SPOT = "a100-spot"
_keys = itertools.count()


def pool(name: str, size: int) -> PoolSpec:
    """A test-environment pool of 8 whole A100s per node, no taints."""
    return PoolSpec(
        size=size,
        pool=NodePool(
            name=name,
            env=Environment.TEST,
            gpu_type=GpuType.A100,
            gpus_per_node=8,
            sharing=GpuSharing.EXCLUSIVE,
        ),
    )


def cq(
    name: str,
    nominal: float,
    *,
    cohort: str | None = "team-ab",
    borrowing_limit: float | None = None,
    lending_limit: float | None = None,
    preemption: Preemption | None = None,
    flavor: str = FLAVOR,
) -> ClusterQueue:
    """A ClusterQueue with one flavor of GPU quota."""
    return ClusterQueue(
        name=name,
        cohort=cohort,
        quotas=[
            FlavorQuota(
                flavor=flavor,
                nominal=nominal,
                borrowing_limit=borrowing_limit,
                lending_limit=lending_limit,
            )
        ],
        preemption=preemption or Preemption(),
    )


def queues(*cluster_queues: ClusterQueue) -> QueueConfig:
    """Flavors for both pools; one LocalQueue `default` per team namespace team-a, -b, -c."""
    return QueueConfig(
        flavors=[
            ResourceFlavor(name=FLAVOR, node_labels={"lotsen.io/pool": "test-a100"}),
            ResourceFlavor(name=SPOT, node_labels={"lotsen.io/pool": "test-a100-spot"}),
        ],
        cluster_queues=list(cluster_queues),
        local_queues=[
            LocalQueue(namespace=f"team-{t}", name="default", cluster_queue=f"team-{t}-cq")
            for t in "abc"
        ],
    )


def kueue_twin(path: Path, config: QueueConfig) -> SimCluster:
    """A twin with three teams (all in test) sharing 24 + 8 A100s through `config`."""
    spec = ClusterSpec(
        seed=1,
        start=START,
        pools=[pool("test-a100", 3), pool("test-a100-spot", 1)],
        namespaces=[
            Namespace(name=f"team-{t}", env=Environment.TEST, owner=f"team-{t}") for t in "abcx"
        ],
        deployments=[],
        queues=config,
    )
    return SimCluster.create(path, spec)


def submit(
    twin: SimCluster,
    namespace: str,
    count: int = 1,
    *,
    priority: int = 0,
    queue: str | None = None,
    not_before: datetime | None = None,
    hours: float = 10.0,
) -> list[str]:
    """Submit `count` one-GPU jobs; return their ids."""
    ids = []
    for _ in range(count):
        job = twin.submit_job(
            JobSpec(
                namespace=namespace,
                model="m",
                gpu=A100,
                duration_s=hours * 3600,
                idempotency_key=f"k{next(_keys)}",
                priority=priority,
                queue_name=queue,
                not_before=not_before,
            )
        )
        ids.append(job.id)
    return ids


def running(twin: SimCluster, namespace: str) -> int:
    """Running jobs of a namespace."""
    return sum(j.status is JobStatus.RUNNING for j in twin.jobs(namespace))


def queued(twin: SimCluster, namespace: str) -> int:
    """Queued jobs of a namespace."""
    return sum(j.status is JobStatus.QUEUED for j in twin.jobs(namespace))
