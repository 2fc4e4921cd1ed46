"""What a twin is built from, and how pools turn into nodes and GPU slots."""

from datetime import datetime

from pydantic import Field

from tools.domain import (
    GPU_CATALOGUE,
    Deployment,
    Gpu,
    GpuSharing,
    Namespace,
    Node,
    NodePool,
    Slot,
)
from tools.domain.cluster import StateModel
from tools.domain.gpus import MIG_COMPUTE_SLICES, validate_mig_layout
from tools.domain.queues import CronSchedule, QueueConfig
from tools.errors import ConfigError


class PoolSpec(StateModel):
    """A node pool and how many nodes it has."""

    pool: NodePool
    size: int = Field(gt=0)


class ClusterSpec(StateModel):
    """Everything needed to build (and reset) a twin; generated from a seed."""

    seed: int
    start: datetime
    """Virtual clock at seeding."""
    pools: list[PoolSpec]
    namespaces: list[Namespace]
    deployments: list[Deployment]
    """Desired deployments; they are placed in order when the twin is built."""
    queues: QueueConfig = Field(default_factory=QueueConfig)
    """Kueue ResourceFlavors, ClusterQueues and LocalQueues (none = namespace quotas only)."""
    schedules: list[CronSchedule] = Field(default_factory=list)
    """CronJobs (batch schedules)."""


def image_for_version(image: str, version: int) -> str:
    """The image reference with its `:v<N>` tag moved to `version` (unchanged if untagged)."""
    repo, sep, tag = image.rpartition(":")
    if not sep or not tag.startswith("v") or "/" in tag:
        return image
    return f"{repo}:v{version}"


def build_nodes(spec: PoolSpec) -> list[Node]:
    """The nodes of a pool, with their GPUs partitioned as the pool says."""
    pool = spec.pool
    return [
        Node(
            name=f"{pool.name}-{i:03d}",
            pool=pool.name,
            env=pool.env,
            labels=_node_labels(pool),
            taints=list(pool.taints),
            gpus=[
                Gpu(index=g, type=pool.gpu_type, sharing=pool.sharing, slots=build_slots(pool, g))
                for g in range(pool.gpus_per_node)
            ],
        )
        for i in range(spec.size)
    ]


def build_slots(pool: NodePool, gpu_index: int) -> list[Slot]:
    """Schedulable slots of one GPU in a pool."""
    prefix = f"g{gpu_index}"
    match pool.sharing:
        case GpuSharing.EXCLUSIVE:
            return [Slot(id=prefix, label="whole", equivalents=1.0)]
        case GpuSharing.MIG:
            profiles = validate_mig_layout(pool.gpu_type, pool.mig_layout)
            return [
                Slot(
                    id=f"{prefix}-mig{j}",
                    label=f"mig-{p.name}",
                    equivalents=p.compute_slices / MIG_COMPUTE_SLICES,
                )
                for j, p in enumerate(profiles)
            ]
        case GpuSharing.TIME_SLICED:
            if pool.time_slice_replicas < 1:
                raise ConfigError(f"pool {pool.name}: time_slice_replicas must be >= 1")
            share = 1.0 / pool.time_slice_replicas
            return [
                Slot(id=f"{prefix}-ts{j}", label="shared", equivalents=share)
                for j in range(pool.time_slice_replicas)
            ]


def _node_labels(pool: NodePool) -> dict[str, str]:
    labels = {
        "lotsen.io/pool": pool.name,
        "lotsen.io/env": pool.env.value,
        "nvidia.com/gpu.product": pool.gpu_type.value,
        "nvidia.com/gpu.memory": str(GPU_CATALOGUE[pool.gpu_type].memory_gb * 1024),
        "nvidia.com/gpu.count": str(pool.gpus_per_node),
    }
    if pool.sharing is GpuSharing.MIG:
        labels["nvidia.com/mig.strategy"] = "mixed"
        labels["nvidia.com/mig.config"] = "custom-" + "_".join(pool.mig_layout)
    if pool.sharing is GpuSharing.TIME_SLICED:
        labels["nvidia.com/gpu.sharing-strategy"] = "time-slicing"
        labels["nvidia.com/gpu.replicas"] = str(pool.time_slice_replicas)
    return labels
