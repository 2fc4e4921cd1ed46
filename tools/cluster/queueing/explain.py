"""Why a workload waits for quota, in Kueue's terms and with the numbers."""

from pydantic import BaseModel, Field

from tools.cluster.queueing.quota import FlavorResource, QuotaState
from tools.domain.queues import ClusterQueue, ReclaimPolicy


class QuotaWait(BaseModel):
    """The quota picture of one ClusterQueue for a waiting workload."""

    cluster_queue: str
    flavor: str
    resource: str
    needs: float
    nominal: float
    used: float
    available: float
    cohort: str | None = None
    borrowers: dict[str, float] = Field(default_factory=dict)
    """Other cohort members using more than their nominal quota, and by how much."""
    reclaim: ReclaimPolicy = ReclaimPolicy.NEVER
    borrowing_limit: float | None = None
    lending_limit: float | None = None

    @property
    def lent(self) -> float:
        """Nominal quota of this queue that cohort members hold (bounded by what is unused)."""
        return min(sum(self.borrowers.values()), max(self.nominal - self.used, 0.0))

    @property
    def reclaimable(self) -> bool:
        """True if the wait ends by reclaiming: it fits in nominal and others borrow."""
        return self.used + self.needs <= self.nominal and self.lent >= self.needs

    def message(self) -> str:
        """One line: what it needs, what the queue has, and what stands in the way."""
        head = (
            f"ClusterQueue {self.cluster_queue} ({self.flavor}/{self.resource}): needs "
            f"{self.needs:g}, {self.available:g} available; nominal {self.nominal:g}, "
            f"{self.used:g} used"
        )
        if not self.borrowers or self.cohort is None:
            return head
        who = ", ".join(f"{name} borrows {amount:g}" for name, amount in self.borrowers.items())
        tail = f"; {self.lent:g} lent in cohort {self.cohort} ({who})"
        if self.reclaimable and self.reclaim is ReclaimPolicy.NEVER:
            tail += ", reclaimWithinCohort=Never so it cannot reclaim"
        elif self.reclaimable:
            tail += f", reclaimWithinCohort={self.reclaim.value}"
        return head + tail


def quota_wait(state: QuotaState, cq: ClusterQueue, fr: FlavorResource, amount: float) -> QuotaWait:
    """The quota picture for `amount` of (flavor, resource) in `cq`."""
    quota = cq.quota(*fr)
    return QuotaWait(
        cluster_queue=cq.name,
        flavor=fr[0],
        resource=fr[1],
        needs=amount,
        nominal=quota.nominal if quota else 0.0,
        used=state.used(cq.name, fr),
        available=state.available(cq, fr),
        cohort=cq.cohort,
        borrowers=state.borrowers(cq, fr),
        reclaim=cq.preemption.reclaim_within_cohort,
        borrowing_limit=quota.borrowing_limit if quota else None,
        lending_limit=quota.lending_limit if quota else None,
    )
