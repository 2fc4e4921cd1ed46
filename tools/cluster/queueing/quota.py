"""Kueue's quota arithmetic: usage, borrowing, lending and what a ClusterQueue may admit.

Pure functions over a `QueueConfig` and the quota admitted workloads hold, so that the twin
admits by them and the capacity planner explains a wait by the same numbers. The rules are
Kueue's (concepts/cluster_queue, KEP-1224 for lendingLimit):

- without a cohort a ClusterQueue admits up to its nominal quota;
- in a cohort it may also use the cohort's unused lendable quota, at most `borrowingLimit`
  above its nominal quota (no limit when unset);
- a member lends at most `lendingLimit` of its nominal quota; the rest
  (nominal - lendingLimit) is guaranteed to it alone.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tools.domain.cluster import Job, JobStatus
from tools.domain.queues import ClusterQueue, FlavorQuota, QueueConfig

FlavorResource = tuple[str, str]
"""(flavor, resource)."""

EPSILON = 1e-9


@dataclass(frozen=True)
class Holder:
    """An admitted workload and the quota it holds."""

    id: str
    cluster_queue: str
    flavor: str
    resource: str
    amount: float
    priority: int
    created_at: datetime
    admitted_at: datetime


@dataclass
class QuotaState:
    """Quota held per ClusterQueue, flavor and resource."""

    config: QueueConfig
    holders: list[Holder] = field(default_factory=list)

    def used(self, cq: str, fr: FlavorResource) -> float:
        """Quota of (flavor, resource) the ClusterQueue's admitted workloads hold."""
        return sum(h.amount for h in self.holders if h.cluster_queue == cq and _fr(h) == fr)

    def without(self, gone: Iterable[Holder]) -> "QuotaState":
        """The state after some workloads are evicted."""
        ids = {h.id for h in gone}
        return QuotaState(self.config, [h for h in self.holders if h.id not in ids])

    def borrowed(self, cq: ClusterQueue, fr: FlavorResource) -> float:
        """How far the ClusterQueue uses more than its nominal quota."""
        quota = cq.quota(*fr)
        nominal = quota.nominal if quota else 0.0
        return max(self.used(cq.name, fr) - nominal, 0.0)

    def cohort_lendable(self, cohort: str, fr: FlavorResource) -> float:
        """Quota the cohort's members put into the shared pool."""
        return sum(q.lendable() for q in _quotas(self.config.cohort_members(cohort), fr))

    def cohort_used(self, cohort: str, fr: FlavorResource) -> float:
        """Shared-pool quota in use: each member's use beyond its guaranteed part."""
        total = 0.0
        for cq in self.config.cohort_members(cohort):
            quota = cq.quota(*fr)
            guaranteed = quota.guaranteed() if quota else 0.0
            total += max(self.used(cq.name, fr) - guaranteed, 0.0)
        return total

    def available(self, cq: ClusterQueue, fr: FlavorResource) -> float:
        """Quota the ClusterQueue may still take in (flavor, resource), borrowing included."""
        quota = cq.quota(*fr)
        if quota is None:
            return 0.0
        used = self.used(cq.name, fr)
        if cq.cohort is None:
            return max(quota.nominal - used, 0.0)
        own = max(quota.guaranteed() - used, 0.0)
        shared = self.cohort_lendable(cq.cohort, fr) - self.cohort_used(cq.cohort, fr)
        free = own + max(shared, 0.0)
        if quota.borrowing_limit is not None:
            free = min(free, quota.nominal + quota.borrowing_limit - used)
        return max(free, 0.0)

    def fits(self, cq: ClusterQueue, fr: FlavorResource, amount: float) -> bool:
        """True if `amount` more can be admitted in the ClusterQueue now."""
        return amount <= self.available(cq, fr) + EPSILON

    def fits_nominal(self, cq: ClusterQueue, fr: FlavorResource, amount: float) -> bool:
        """True if the ClusterQueue's use stays within its nominal quota with `amount` more."""
        quota = cq.quota(*fr)
        return quota is not None and self.used(cq.name, fr) + amount <= quota.nominal + EPSILON

    def borrowers(self, cq: ClusterQueue, fr: FlavorResource) -> dict[str, float]:
        """Other cohort members using more than their nominal quota, and by how much."""
        if cq.cohort is None:
            return {}
        out = {}
        for other in self.config.cohort_members(cq.cohort):
            if other.name != cq.name and (b := self.borrowed(other, fr)) > EPSILON:
                out[other.name] = b
        return out


def holders(jobs: Iterable[Job]) -> list[Holder]:
    """The quota held by the running jobs Kueue admitted."""
    return [
        Holder(
            id=j.id,
            cluster_queue=j.admission.cluster_queue,
            flavor=j.admission.flavor,
            resource=j.admission.resource,
            amount=j.admission.amount,
            priority=j.spec.priority,
            created_at=j.submitted_at,
            admitted_at=j.admission.admitted_at,
        )
        for j in jobs
        if j.status is JobStatus.RUNNING and j.admission is not None
    ]


def _fr(h: Holder) -> FlavorResource:
    return (h.flavor, h.resource)


def _quotas(queues: Iterable[ClusterQueue], fr: FlavorResource) -> list[FlavorQuota]:
    return [q for cq in queues if (q := cq.quota(*fr)) is not None]
