"""The `Cluster` seam: what agents may read from and do to a GPU cluster."""

from datetime import datetime
from typing import Protocol

from tools.domain import (
    Deployment,
    Environment,
    GpuRequest,
    Job,
    JobSpec,
    Namespace,
    Node,
    NodePool,
    PoolUsage,
)
from tools.domain.queues import ClusterQueue, CronSchedule, QueueConfig, QueuePatch


class Cluster(Protocol):
    """A GPU cluster: nodes, namespaces with quotas, model deployments and jobs.

    Writes take `dry_run`: the request is fully validated (quota, capacity, names) and the
    would-be result returned, but nothing changes.
    """

    def now(self) -> datetime:
        """The cluster's clock (virtual in the twin)."""
        ...

    def close(self) -> None:
        """Release connections (files, HTTP pools); the cluster is not used afterwards."""
        ...

    def node_pools(self) -> list[NodePool]:
        """Node pools, each reserved for one environment."""
        ...

    def nodes(self, env: Environment | None = None) -> list[Node]:
        """GPU nodes, optionally of one environment."""
        ...

    def namespaces(self) -> list[Namespace]:
        """Tenant namespaces with their quotas and use."""
        ...

    def namespace(self, name: str) -> Namespace:
        """One namespace; NotFoundError if unknown."""
        ...

    def deployments(self, namespace: str | None = None) -> list[Deployment]:
        """Model deployments, optionally of one namespace."""
        ...

    def deployment(self, namespace: str, name: str) -> Deployment:
        """One deployment; NotFoundError if unknown."""
        ...

    def scale(
        self, namespace: str, name: str, replicas: int, *, dry_run: bool = False
    ) -> Deployment:
        """Set a deployment's desired replicas."""
        ...

    def set_model_version(
        self, namespace: str, name: str, version: int, *, dry_run: bool = False
    ) -> Deployment:
        """Make a deployment serve another model version (rollout or rollback)."""
        ...

    def resize(
        self, namespace: str, name: str, gpu: GpuRequest, *, dry_run: bool = False
    ) -> Deployment:
        """Give every replica a slot of another kind (right-sizing); all or nothing."""
        ...

    def move_replica(
        self,
        namespace: str,
        name: str,
        replica: int,
        node: str,
        gpu_index: int,
        *,
        dry_run: bool = False,
    ) -> Deployment:
        """Move one replica to a free slot of the same kind on another GPU (consolidation)."""
        ...

    def defer_job(self, job_id: str, not_before: datetime | None, *, dry_run: bool = False) -> Job:
        """Hold a queued job until `not_before` (a planned window); None releases it."""
        ...

    def submit_job(self, spec: JobSpec, *, dry_run: bool = False) -> Job:
        """Submit a job; the same idempotency key returns the first job."""
        ...

    def jobs(self, namespace: str | None = None) -> list[Job]:
        """Jobs, oldest first."""
        ...

    def job(self, job_id: str) -> Job:
        """One job; NotFoundError if unknown."""
        ...

    def pool_usage(self) -> list[PoolUsage]:
        """Allocation versus use per node pool."""
        ...

    def queues(self) -> QueueConfig:
        """Kueue ResourceFlavors, ClusterQueues and LocalQueues (empty without Kueue)."""
        ...

    def patch_cluster_queue(
        self, name: str, patch: QueuePatch, *, dry_run: bool = False
    ) -> ClusterQueue:
        """Change a ClusterQueue's preemption policy or limits; returns the patched queue."""
        ...

    def schedules(self, namespace: str | None = None) -> list[CronSchedule]:
        """CronJobs (batch schedules), optionally of one namespace."""
        ...
