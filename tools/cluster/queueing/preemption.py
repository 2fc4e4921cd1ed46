"""Which admitted workloads a pending one may preempt, by Kueue's preemption policies.

- `withinClusterQueue`: workloads of the same ClusterQueue with lower priority
  (`LowerPriority`), or lower priority or equal priority and newer than the pending one
  (`LowerOrNewerEqualPriority`).
- `reclaimWithinCohort`: if the pending workload fits within its ClusterQueue's nominal
  quota, workloads of other cohort members that use more than their nominal quota: any of
  them (`Any`) or those with lower priority (`LowerPriority`).
- `borrowWithinCohort` (`LowerPriority`): a workload that must borrow may preempt
  lower-priority workloads of borrowing cohort members, up to `maxPriorityThreshold`.

Candidates are tried in Kueue's order (borrowing queues first, lowest priority first, most
recently admitted first) until the workload fits; then each one not needed is spared, so
as few workloads as possible are preempted.
"""

from dataclasses import dataclass
from datetime import datetime

from tools.cluster.queueing.quota import FlavorResource, Holder, QuotaState
from tools.domain.queues import (
    BorrowPolicy,
    ClusterQueue,
    ReclaimPolicy,
    WithinQueuePolicy,
)


@dataclass(frozen=True)
class Pending:
    """The workload looking for quota."""

    id: str
    cluster_queue: ClusterQueue
    fr: FlavorResource
    amount: float
    priority: int
    created_at: datetime


def targets(state: QuotaState, pending: Pending) -> list[Holder] | None:
    """The smallest set (by Kueue's heuristic) to preempt so that `pending` fits; None if none.

    An empty list means it fits without preempting.
    """
    if state.fits(pending.cluster_queue, pending.fr, pending.amount):
        return []
    candidates = _candidates(state, pending)
    chosen: list[Holder] = []
    for candidate in candidates:
        after = state.without(chosen)
        if candidate.cluster_queue != pending.cluster_queue.name and not _still_borrowing(
            after, candidate
        ):
            continue
        chosen.append(candidate)
        if state.without(chosen).fits(pending.cluster_queue, pending.fr, pending.amount):
            return _minimal(state, pending, chosen)
    return None


def _candidates(state: QuotaState, pending: Pending) -> list[Holder]:
    cq = pending.cluster_queue
    policy = cq.preemption
    fits_nominal = state.fits_nominal(cq, pending.fr, pending.amount)
    borrowing_queues = set(state.borrowers(cq, pending.fr))
    out = []
    for h in state.holders:
        if (h.flavor, h.resource) != pending.fr or h.id == pending.id:
            continue
        if h.cluster_queue == cq.name:
            if _within_allows(policy.within_cluster_queue, h, pending):
                out.append(h)
        elif h.cluster_queue in borrowing_queues:
            if fits_nominal and _reclaim_allows(policy.reclaim_within_cohort, h, pending):
                out.append(h)
            elif not fits_nominal and _borrow_allows(cq, h, pending):
                out.append(h)
    # Ties in admission time go to the later-created workload (ids grow with submission).
    newest_first = sorted(out, key=lambda h: (h.admitted_at, h.created_at, h.id), reverse=True)
    return sorted(newest_first, key=lambda h: (h.cluster_queue not in borrowing_queues, h.priority))


def _within_allows(policy: WithinQueuePolicy, h: Holder, pending: Pending) -> bool:
    match policy:
        case WithinQueuePolicy.NEVER:
            return False
        case WithinQueuePolicy.LOWER_PRIORITY:
            return h.priority < pending.priority
        case WithinQueuePolicy.LOWER_OR_NEWER_EQUAL_PRIORITY:
            return h.priority < pending.priority or (
                h.priority == pending.priority and h.created_at > pending.created_at
            )


def _reclaim_allows(policy: ReclaimPolicy, h: Holder, pending: Pending) -> bool:
    match policy:
        case ReclaimPolicy.NEVER:
            return False
        case ReclaimPolicy.LOWER_PRIORITY:
            return h.priority < pending.priority
        case ReclaimPolicy.ANY:
            return True


def _borrow_allows(cq: ClusterQueue, h: Holder, pending: Pending) -> bool:
    rule = cq.preemption.borrow_within_cohort
    if rule.policy is BorrowPolicy.NEVER or h.priority >= pending.priority:
        return False
    return rule.max_priority_threshold is None or h.priority <= rule.max_priority_threshold


def _still_borrowing(state: QuotaState, h: Holder) -> bool:
    cq = state.config.cluster_queue(h.cluster_queue)
    return cq is not None and state.borrowed(cq, (h.flavor, h.resource)) > 0


def _minimal(state: QuotaState, pending: Pending, chosen: list[Holder]) -> list[Holder]:
    """Spare, newest-chosen first, every target the workload fits without."""
    kept = list(chosen)
    for h in reversed(chosen[:-1]):
        trial = [k for k in kept if k.id != h.id]
        if state.without(trial).fits(pending.cluster_queue, pending.fr, pending.amount):
            kept = trial
    return kept
