"""Kueue-style queueing and batch schedules as domain types.

The names and defaults follow Kueue's `kueue.x-k8s.io/v1beta1` API: a `ResourceFlavor`
maps quota to a group of nodes (by node labels); a `ClusterQueue` holds nominal quota per
flavor and resource, may belong to a cohort whose members borrow each other's unused quota
(up to `borrowingLimit`, and only what the lender allows by `lendingLimit`), and says which
admitted workloads a pending one may preempt; a `LocalQueue` is the namespaced name a team
submits to, pointing at one ClusterQueue. A `CronSchedule` is a `batch/v1` CronJob.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from tools.domain.cluster import GpuRequest, StateModel
from tools.domain.gpus import GpuSharing
from tools.errors import ConfigError

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource of a whole (or time-sliced) GPU."""


def resource_name(request: GpuRequest) -> str:
    """The Kubernetes extended resource one slot of this request is counted in."""
    if request.sharing is GpuSharing.MIG:
        return f"nvidia.com/mig-{request.mig_profile}"
    return GPU_RESOURCE


class ReclaimPolicy(StrEnum):
    """`preemption.reclaimWithinCohort`: preempt workloads of cohort members that borrow."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    ANY = "Any"


class WithinQueuePolicy(StrEnum):
    """`preemption.withinClusterQueue`: preempt workloads of the same ClusterQueue."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    LOWER_OR_NEWER_EQUAL_PRIORITY = "LowerOrNewerEqualPriority"


class BorrowPolicy(StrEnum):
    """`preemption.borrowWithinCohort.policy`: preempt in the cohort while borrowing."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


class BorrowWithinCohort(StateModel):
    """Preemption in the cohort by a workload that needs to borrow."""

    policy: BorrowPolicy = BorrowPolicy.NEVER
    max_priority_threshold: int | None = None
    """Only workloads with priority <= this may be preempted; None = any lower priority."""


class Preemption(StateModel):
    """A ClusterQueue's preemption policies (Kueue's defaults: never preempt)."""

    reclaim_within_cohort: ReclaimPolicy = ReclaimPolicy.NEVER
    within_cluster_queue: WithinQueuePolicy = WithinQueuePolicy.NEVER
    borrow_within_cohort: BorrowWithinCohort = Field(default_factory=BorrowWithinCohort)


class ResourceFlavor(StateModel):
    """A variant of a resource, tied to the nodes whose labels it names."""

    name: str
    node_labels: dict[str, str] = Field(default_factory=dict)


class FlavorQuota(StateModel):
    """Quota of one resource in one flavor of a ClusterQueue."""

    flavor: str
    resource: str = GPU_RESOURCE
    nominal: float = Field(ge=0)
    """`nominalQuota`: what the queue is entitled to."""
    borrowing_limit: float | None = Field(default=None, ge=0)
    """`borrowingLimit`: at most this much above nominal; None = up to the cohort's unused."""
    lending_limit: float | None = Field(default=None, ge=0)
    """`lendingLimit`: at most this much of nominal lent to the cohort; None = all of it."""

    def guaranteed(self) -> float:
        """The part of nominal quota never lent (nominal - lendingLimit)."""
        if self.lending_limit is None:
            return 0.0
        return max(self.nominal - self.lending_limit, 0.0)

    def lendable(self) -> float:
        """The part of nominal quota the cohort may borrow."""
        return self.nominal if self.lending_limit is None else min(self.lending_limit, self.nominal)


class ClusterQueue(StateModel):
    """A cluster-scoped pool of quota, in flavor order of consumption."""

    name: str
    cohort: str | None = None
    quotas: list[FlavorQuota] = Field(default_factory=list)
    """In order: admission tries the first flavor that fits first."""
    preemption: Preemption = Field(default_factory=Preemption)
    stop_policy: str = "None"
    """`Hold` stops admitting new workloads."""
    namespace_selector: dict[str, str] | None = None
    """`namespaceSelector.matchLabels`: only namespaces with these labels may submit;
    None or {} = every namespace."""

    def admits_namespace(self, labels: dict[str, str]) -> bool:
        """True if a namespace with these labels may use this ClusterQueue."""
        wanted = self.namespace_selector or {}
        return all(labels.get(k) == v for k, v in wanted.items())

    def quota(self, flavor: str, resource: str) -> FlavorQuota | None:
        """The quota of one flavor and resource, if the queue covers it."""
        for q in self.quotas:
            if q.flavor == flavor and q.resource == resource:
                return q
        return None


class LocalQueue(StateModel):
    """A namespaced queue that teams submit to; it feeds one ClusterQueue."""

    namespace: str
    name: str
    cluster_queue: str


class QueueConfig(StateModel):
    """The Kueue objects of a cluster."""

    flavors: list[ResourceFlavor] = Field(default_factory=list)
    cluster_queues: list[ClusterQueue] = Field(default_factory=list)
    local_queues: list[LocalQueue] = Field(default_factory=list)

    def cluster_queue(self, name: str) -> ClusterQueue | None:
        """One ClusterQueue by name."""
        return next((q for q in self.cluster_queues if q.name == name), None)

    def flavor(self, name: str) -> ResourceFlavor | None:
        """One ResourceFlavor by name."""
        return next((f for f in self.flavors if f.name == name), None)

    def local_queue(self, namespace: str, name: str | None) -> LocalQueue | None:
        """The LocalQueue a job in `namespace` goes to.

        With no queue name: the namespace's LocalQueue named `default`, else its only one.
        """
        mine = [q for q in self.local_queues if q.namespace == namespace]
        if name is not None:
            return next((q for q in mine if q.name == name), None)
        default = next((q for q in mine if q.name == "default"), None)
        if default is not None:
            return default
        return mine[0] if len(mine) == 1 else None

    def cohort_members(self, cohort: str) -> list[ClusterQueue]:
        """ClusterQueues of one cohort."""
        return [q for q in self.cluster_queues if q.cohort == cohort]


class Workload(StateModel):
    """A Kueue Workload as read from a cluster (status of one queued or admitted job)."""

    namespace: str
    name: str
    queue_name: str
    priority: int = 0
    admitted: bool = False
    cluster_queue: str | None = None
    flavor: str | None = None
    resources: dict[str, float] = Field(default_factory=dict)
    """Requested amount per resource."""
    reason: str = ""
    """Why it is not admitted (the QuotaReserved condition's message)."""
    created_at: datetime | None = None
    job: str | None = None
    """Name of the Job it queues (its owner), in the same namespace."""


class CronSchedule(StateModel):
    """A `batch/v1` CronJob: a job template run on a cron schedule."""

    namespace: str
    name: str
    schedule: str
    """Five-field cron expression (minute hour day-of-month month day-of-week)."""
    suspend: bool = False
    time_zone: str | None = None
    """IANA zone the schedule is read in; None = UTC (the twin's clock)."""
    gpu: GpuRequest | None = None
    """GPU one pod of the job template asks for; None = a CPU-only job."""
    gpus: int = Field(default=1, ge=0)
    """Pods (or GPUs) of that kind the job holds while it runs."""
    duration_s: float = Field(default=3600.0, gt=0)
    """How long one run holds its GPUs."""
    uses: list[str] = Field(default_factory=list)
    """Deployments (`namespace/name`) each run calls: they must be up while it runs."""
    tolerations: list[str] = Field(default_factory=list)
    """Taint keys the job template's pods tolerate."""
    priority: int = 0
    """Priority of the workloads its runs create."""


class QueuePatch(StateModel):
    """A change to one ClusterQueue; None leaves a field as it is."""

    reclaim_within_cohort: ReclaimPolicy | None = None
    within_cluster_queue: WithinQueuePolicy | None = None
    flavor: str | None = None
    """Flavor whose limits change (required with any limit)."""
    resource: str = GPU_RESOURCE
    lending_limit: float | None = Field(default=None, ge=0)
    borrowing_limit: float | None = Field(default=None, ge=0)

    def describe(self) -> str:
        """One line: what the patch sets."""
        parts = []
        if self.reclaim_within_cohort is not None:
            parts.append(f"reclaimWithinCohort: {self.reclaim_within_cohort.value}")
        if self.within_cluster_queue is not None:
            parts.append(f"withinClusterQueue: {self.within_cluster_queue.value}")
        where = f" ({self.flavor}/{self.resource})"
        if self.lending_limit is not None:
            parts.append(f"lendingLimit: {self.lending_limit:g}{where}")
        if self.borrowing_limit is not None:
            parts.append(f"borrowingLimit: {self.borrowing_limit:g}{where}")
        return ", ".join(parts) or "no change"


def apply_patch(cq: ClusterQueue, patch: QueuePatch) -> ClusterQueue:
    """The ClusterQueue with the patch applied; ConfigError if it names no quota of it."""
    out = cq.model_copy(deep=True)
    if patch.reclaim_within_cohort is not None:
        out.preemption.reclaim_within_cohort = patch.reclaim_within_cohort
    if patch.within_cluster_queue is not None:
        out.preemption.within_cluster_queue = patch.within_cluster_queue
    if patch.lending_limit is None and patch.borrowing_limit is None:
        return out
    quota = out.quota(patch.flavor or "", patch.resource)
    if quota is None:
        raise ConfigError(
            f"ClusterQueue {cq.name} has no quota for flavor {patch.flavor!r} and "
            f"resource {patch.resource}"
        )
    if patch.lending_limit is not None:
        if patch.lending_limit > quota.nominal:
            raise ConfigError(
                f"lendingLimit {patch.lending_limit:g} exceeds the nominal quota {quota.nominal:g}"
            )
        quota.lending_limit = patch.lending_limit
    if patch.borrowing_limit is not None:
        quota.borrowing_limit = patch.borrowing_limit
    return out
