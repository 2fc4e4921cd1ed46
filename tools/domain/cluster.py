"""Cluster-side domain types: pools, nodes, GPUs and their slots, namespaces, workloads.

These are snapshots of state: changing a returned object changes nothing in the cluster.
They are mutable because the twin edits them inside its own transactions.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tools.domain.common import Environment
from tools.domain.gpus import GpuSharing, GpuType


class StateModel(BaseModel):
    """Base of cluster state types."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, use_attribute_docstrings=True
    )


class Taint(StateModel):
    """A Kubernetes node taint."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"


class GpuRequest(StateModel):
    """The GPU one replica (or one job) asks for."""

    gpu_type: GpuType
    sharing: GpuSharing = GpuSharing.EXCLUSIVE
    mig_profile: str | None = None
    """Required when sharing is MIG, e.g. "2g.20gb"."""

    def slot_label(self) -> str:
        """Label of the slot kind this request fits, e.g. `mig-2g.20gb`."""
        if self.sharing is GpuSharing.MIG:
            return f"mig-{self.mig_profile}"
        if self.sharing is GpuSharing.TIME_SLICED:
            return "shared"
        return "whole"


class Occupant(StateModel):
    """What runs in a slot."""

    kind: str
    """`deployment` or `job`."""
    namespace: str
    name: str
    replica: int = 0
    utilisation: float = 0.0
    """Busy fraction of the slot, 0..1."""


class Slot(StateModel):
    """A schedulable unit of one GPU: the whole GPU, a MIG instance, or a time-slice."""

    id: str
    label: str
    """`whole`, `mig-<profile>` or `shared`."""
    equivalents: float
    """Fraction of a whole GPU this slot stands for (quota and cost unit)."""
    occupant: Occupant | None = None


class Gpu(StateModel):
    """One physical GPU on a node."""

    index: int
    type: GpuType
    sharing: GpuSharing
    slots: list[Slot]
    energy_j: float = 0.0
    """Energy used since the twin was seeded, from the power model."""
    latency_factor: float = 1.0
    """Slowdown of everything on it (> 1 under a noisy neighbour)."""

    def utilisation(self) -> float:
        """Busy fraction of the whole GPU."""
        used = sum(s.equivalents * s.occupant.utilisation for s in self.slots if s.occupant)
        return min(used, 1.0)

    def allocated(self) -> float:
        """GPU-equivalents handed out to workloads."""
        return sum(s.equivalents for s in self.slots if s.occupant)


class NodePool(StateModel):
    """A group of identical GPU nodes reserved for one environment."""

    name: str
    env: Environment
    gpu_type: GpuType
    gpus_per_node: int
    sharing: GpuSharing
    mig_layout: tuple[str, ...] = ()
    """MIG profiles each GPU is partitioned into (sharing = MIG)."""
    time_slice_replicas: int = 1
    """Pods per GPU (sharing = TIME_SLICED)."""
    taints: list[Taint] = Field(default_factory=list)


class Node(StateModel):
    """One GPU node."""

    name: str
    pool: str
    env: Environment
    ready: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    gpus: list[Gpu] = Field(default_factory=list)


class Namespace(StateModel):
    """A tenant namespace with its environment, owner and GPU quota."""

    name: str
    env: Environment | None
    """From the `env` label; None when the label is missing."""
    owner: str | None
    """From the `owner` label; None when missing."""
    labels: dict[str, str] = Field(default_factory=dict)
    gpu_quota: float | None = None
    """GPU-equivalents the namespace may hold; None = no quota."""
    gpu_used: float = 0.0
    """GPU-equivalents currently held by its deployments and running jobs."""
    identities: list[str] = Field(default_factory=list)
    """External identities its workloads run as (workload identity, IAM role, secret path)."""
    network_default_deny: bool = False
    """A default-deny ingress network policy is in place."""
    ingress_from: list[str] = Field(default_factory=list)
    """Environments (or `*`) whose namespaces may reach it despite the default deny."""
    access_reviewed_at: datetime | None = None
    """Last periodic review of who may access the namespace; None = never."""


class Placement(StateModel):
    """Where one replica runs."""

    node: str
    gpu_index: int
    slot_id: str


class Deployment(StateModel):
    """A model server."""

    namespace: str
    name: str
    model: str
    model_version: int
    alias: str = "champion"
    """Registry alias the deployment follows."""
    image: str = ""
    """Container image the model server pulls (registry path included)."""
    env: Environment
    replicas: int
    """Desired replicas."""
    gpu: GpuRequest
    gpu_memory_gb: float | None = None
    """GPU memory one replica needs (weights, KV cache, activations); None = unknown, and
    the capacity planner then assumes all the memory of the slot it holds."""
    tolerations: list[str] = Field(default_factory=list)
    """Taint keys this deployment tolerates."""
    requests_per_s: float = 0.0
    p95_latency_ms: float = 0.0
    """Observed p95 latency (includes noisy-neighbour slowdown)."""
    base_latency_ms: float = 0.0
    """p95 latency without interference."""
    last_request_at: datetime | None = None
    gpu_utilisation: float = 0.0
    """Busy fraction per replica's slot."""
    placements: list[Placement] = Field(default_factory=list)

    @property
    def ready_replicas(self) -> int:
        """Replicas that have a GPU slot."""
        return len(self.placements)


class JobStatus(StrEnum):
    """Lifecycle of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobSpec(StateModel):
    """A request to run a job (e.g. a retraining) on the cluster."""

    namespace: str
    kind: str = "retrain"
    model: str
    gpu: GpuRequest
    duration_s: float = Field(default=3600.0, gt=0)
    """Virtual run time once admitted."""
    idempotency_key: str
    """Submitting the same key twice returns the first job."""
    utilisation: float = 0.9
    tolerations: list[str] = Field(default_factory=list)
    deadline: datetime | None = None
    """When the job must have finished; None = no deadline of its own."""
    not_before: datetime | None = None
    """Hold the job until then (set by the capacity planner for a low-carbon window)."""
    queue_name: str | None = None
    """Kueue LocalQueue in the namespace (`kueue.x-k8s.io/queue-name`); None = the
    namespace's `default` (or only) LocalQueue, if it has one."""
    priority: int = 0
    """Workload priority: preemption compares it."""


class Admission(StateModel):
    """Where a job's workload was admitted: queue, flavor and the quota it holds."""

    local_queue: str
    cluster_queue: str
    flavor: str
    resource: str
    amount: float
    admitted_at: datetime


class Job(StateModel):
    """A submitted job and where it is in its lifecycle."""

    id: str
    spec: JobSpec
    status: JobStatus
    submitted_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    placement: Placement | None = None
    reason: str = ""
    """Why it is queued or failed."""
    admission: Admission | None = None
    """Kueue admission while it holds ClusterQueue quota; None outside Kueue."""
    preempted: int = 0
    """Times it was evicted by a preemption and requeued."""
    eviction: str = ""
    """Why it was last evicted (which job preempted it, under which policy)."""


class Fault(StateModel):
    """A fault injected into the twin: ground truth for tests and evals."""

    id: int
    at: datetime
    kind: str
    target: str
    detail: dict[str, str] = Field(default_factory=dict)


class PoolUsage(StateModel):
    """Allocation versus use of one node pool."""

    pool: str
    env: Environment
    gpu_type: GpuType
    nodes_ready: int
    nodes_total: int
    gpus: int
    allocated: float
    """GPU-equivalents handed out."""
    capacity: float
    """GPU-equivalents the ready nodes offer."""
    busy: float | None
    """GPU-equivalents actually busy (utilisation-weighted); None without a metrics source."""
    power_w: float | None
    """Current draw from the power model; None without a metrics source."""
    energy_kwh: float | None
    """Energy used since seeding; None without a metrics source."""
