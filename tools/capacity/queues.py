"""Why queued jobs wait for Kueue quota, and the ClusterQueue patch that would end the wait.

A job waits legitimately when its ClusterQueue has used its own nominal quota (others
borrowing the cohort's unused quota is Kueue working as designed: nothing to fix). It waits
on a misconfiguration when it fits within its queue's nominal quota but that quota is lent
to cohort members and `reclaimWithinCohort: Never` forbids taking it back: the patch is
`reclaimWithinCohort: LowerPriority` when every borrowing workload has lower priority than
the waiting job (the narrowest policy that frees enough), else `Any`. Lowering the
`lendingLimit` is named as the alternative; it only protects future borrowing.
"""

from datetime import datetime

from pydantic import BaseModel

from tools.cluster.queueing.explain import QuotaWait, quota_wait
from tools.cluster.queueing.quota import QuotaState, holders
from tools.domain import Environment, Job, JobStatus, Namespace
from tools.domain.queues import QueueConfig, QueuePatch, ReclaimPolicy, resource_name

ENV_RANK = {Environment.PROD: 0, Environment.TEST: 1, Environment.DEV: 2}


class QueueDiagnosis(BaseModel):
    """One waiting job, why it waits, and the patch (if any) that would admit it."""

    job_id: str
    namespace: str
    model: str
    priority: int
    wait: QuotaWait
    message: str
    cluster_queue: str
    patch: QueuePatch | None = None
    """None: the wait is legitimate (or no queue setting would end it)."""
    affects: str | None = None
    """The strictest namespace the patched ClusterQueue serves (what the gate judges)."""


def diagnose_waits(
    jobs: list[Job], config: QueueConfig, namespaces: list[Namespace], now: datetime
) -> list[QueueDiagnosis]:
    """Diagnose every queued Kueue job that waits for quota (not for a planned window)."""
    state = QuotaState(config, holders(jobs))
    out: list[QueueDiagnosis] = []
    patched: set[str] = set()
    for job in sorted(jobs, key=lambda j: -j.spec.priority):
        if job.status is not JobStatus.QUEUED:
            continue
        if job.spec.not_before is not None and job.spec.not_before > now:
            continue
        lq = config.local_queue(job.spec.namespace, job.spec.queue_name)
        cq = config.cluster_queue(lq.cluster_queue) if lq else None
        if cq is None:
            continue
        resource = resource_name(job.spec.gpu)
        quota = next((q for q in cq.quotas if q.resource == resource), None)
        if quota is None:
            continue
        fr = (quota.flavor, resource)
        if state.fits(cq, fr, 1.0):
            continue  # not a quota wait (capacity, or admitted on the next pass)
        wait = quota_wait(state, cq, fr, 1.0)
        patch = None
        if wait.reclaimable and wait.reclaim is ReclaimPolicy.NEVER and cq.name not in patched:
            lower = all(
                h.priority < job.spec.priority
                for h in state.holders
                if h.cluster_queue in wait.borrowers
            )
            policy = ReclaimPolicy.LOWER_PRIORITY if lower else ReclaimPolicy.ANY
            patch = QueuePatch(reclaim_within_cohort=policy)
            patched.add(cq.name)
        out.append(
            QueueDiagnosis(
                job_id=job.id,
                namespace=job.spec.namespace,
                model=job.spec.model,
                priority=job.spec.priority,
                wait=wait,
                message=_message(job, wait, patch),
                cluster_queue=cq.name,
                patch=patch,
                affects=_strictest(config, cq.name, namespaces) if patch else None,
            )
        )
    return out


def _message(job: Job, wait: QuotaWait, patch: QueuePatch | None) -> str:
    head = f"{job.spec.namespace} job {job.id} ({job.spec.model}) waits: {wait.message()}"
    if patch is not None:
        keep = max(wait.nominal - wait.used - wait.needs, 0.0)
        return (
            f"{head}; proposed: set {patch.describe()} on {wait.cluster_queue} "
            f"(or lower its lendingLimit to {keep:g} so the quota is not lent again)"
        )
    if wait.used + wait.needs > wait.nominal:
        return f"{head}; it has used its own nominal quota: cohort borrowing is legitimate"
    return head


def _strictest(config: QueueConfig, cq: str, namespaces: list[Namespace]) -> str | None:
    """The namespace with the strictest env among those whose LocalQueues feed `cq`."""
    envs = {n.name: n.env for n in namespaces}
    fed = sorted({q.namespace for q in config.local_queues if q.cluster_queue == cq})
    if not fed:
        return None

    def rank(name: str) -> int:
        env = envs.get(name)
        return -1 if env is None else ENV_RANK[env]  # unknown env: strictest

    return min(fed, key=rank)
