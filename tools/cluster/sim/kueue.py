"""Kueue admission in the twin: namespace -> LocalQueue -> ClusterQueue -> flavor -> slot.

A job is governed by Kueue when it names a queue or its namespace has a LocalQueue. It is
admitted when its ClusterQueue has quota for it in a flavor (tried in the queue's order,
borrowing allowed, as Kueue's default `whenCanBorrow: Borrow`) and a node of that flavor
has a free slot. Failing that, preemption is tried by the queue's policies; preempted jobs
release their slots and go back to the queue.
"""

from tools.cluster.queueing.explain import quota_wait
from tools.cluster.queueing.preemption import Pending, targets
from tools.cluster.queueing.quota import QuotaState, holders
from tools.cluster.sim.placement import find_slot, occupy, release
from tools.cluster.sim.store import Tx
from tools.domain import Job, JobStatus, Node, Occupant
from tools.domain.cluster import Admission
from tools.domain.queues import (
    ClusterQueue,
    FlavorQuota,
    LocalQueue,
    QueueConfig,
    resource_name,
)

SLOT_AMOUNT = 1.0
"""Each pod asks for one unit of its extended resource (a GPU or a MIG instance)."""


def governed(config: QueueConfig, job: Job) -> bool:
    """True if Kueue decides this job's admission."""
    if job.spec.queue_name is not None:
        return True
    return any(q.namespace == job.spec.namespace for q in config.local_queues)


def quota_state(tx: Tx, config: QueueConfig) -> QuotaState:
    """Quota held by the running jobs Kueue admitted."""
    return QuotaState(config, holders(tx.jobs(status=JobStatus.RUNNING)))


def try_admit(tx: Tx, job: Job, config: QueueConfig, *, borrow: bool) -> bool:
    """Admit a queued Kueue job if quota (and, if needed, preemption) and a slot allow.

    Args:
        tx: The twin transaction.
        job: A queued job that `governed` says Kueue decides.
        config: The cluster's Kueue objects.
        borrow: False on the first pass, which admits only within nominal quota, so that
            workloads of queues under their nominal quota go before borrowers.
    """
    ns = tx.namespace(job.spec.namespace)
    labels = {**ns.labels, **({"env": ns.env.value} if ns.env else {})}
    resolved = _resolve(config, job, {**labels, **({"owner": ns.owner} if ns.owner else {})})
    if isinstance(resolved, str):
        job.reason = resolved
        return False
    lq, cq, flavors = resolved
    resource = flavors[0].resource
    state = quota_state(tx, config)
    for quota in flavors:
        fr = (quota.flavor, resource)
        if borrow or state.fits_nominal(cq, fr, SLOT_AMOUNT):
            if state.fits(cq, fr, SLOT_AMOUNT) and _place(tx, job, cq, quota, lq.name, config):
                return True
    if not borrow:
        return False
    for quota in flavors:
        if _preempt_and_place(tx, job, cq, quota, lq.name, state, config):
            return True
    first = (flavors[0].flavor, resource)
    wait = quota_wait(state, cq, first, SLOT_AMOUNT)
    if state.fits(cq, first, SLOT_AMOUNT):
        job.reason = f"no free {job.spec.gpu.slot_label()} slot on {flavors[0].flavor} nodes"
    else:
        job.reason = "quota: " + wait.message()
    return False


def _resolve(
    config: QueueConfig, job: Job, labels: dict[str, str]
) -> tuple[LocalQueue, ClusterQueue, list[FlavorQuota]] | str:
    """The job's LocalQueue, ClusterQueue and its quotas for the job's resource; or why not."""
    lq = config.local_queue(job.spec.namespace, job.spec.queue_name)
    if lq is None:
        name = job.spec.queue_name or "default"
        return f"LocalQueue {job.spec.namespace}/{name} doesn't exist"
    cq = config.cluster_queue(lq.cluster_queue)
    if cq is None:
        return f"ClusterQueue {lq.cluster_queue} doesn't exist"
    if cq.stop_policy != "None":
        return f"ClusterQueue {cq.name} is stopped (stopPolicy {cq.stop_policy})"
    if not cq.admits_namespace(labels):
        return f"namespace {job.spec.namespace} doesn't match ClusterQueue {cq.name}'s selector"
    resource = resource_name(job.spec.gpu)
    flavors = [q for q in cq.quotas if q.resource == resource]
    if not flavors:
        return f"ClusterQueue {cq.name} has no quota for {resource}"
    return lq, cq, flavors


def _preempt_and_place(
    tx: Tx,
    job: Job,
    cq: ClusterQueue,
    quota: FlavorQuota,
    lq: str,
    state: QuotaState,
    config: QueueConfig,
) -> bool:
    fr = (quota.flavor, quota.resource)
    pending = Pending(job.id, cq, fr, SLOT_AMOUNT, job.spec.priority, job.submitted_at)
    victims = targets(state, pending)
    if not victims:
        return False
    by_id = {j.id: j for j in tx.jobs(status=JobStatus.RUNNING)}
    label = job.spec.gpu.slot_label()
    if _free_slot(tx, job, quota, config) is None and not any(
        _slot_label(tx, by_id[v.id]) == label for v in victims
    ):
        return False
    for victim in victims:
        evicted = by_id[victim.id]
        for node in release(tx.nodes().values(), "job", evicted.spec.namespace, evicted.id):
            tx.save_node(node)
        why = "within ClusterQueue" if victim.cluster_queue == cq.name else "reclaim in cohort"
        evicted.status = JobStatus.QUEUED
        evicted.placement = None
        evicted.started_at = None
        evicted.admission = None
        evicted.preempted += 1
        evicted.eviction = evicted.reason = f"preempted by {job.id} ({why}, ClusterQueue {cq.name})"
        tx.save_job(evicted)
    return _place(tx, job, cq, quota, lq, config)


def _flavor_nodes(tx: Tx, flavor: str, config: QueueConfig) -> list[Node]:
    wanted = config.flavor(flavor)
    labels = {} if wanted is None else wanted.node_labels
    return [n for n in tx.nodes().values() if all(n.labels.get(k) == v for k, v in labels.items())]


def _free_slot(tx: Tx, job: Job, quota: FlavorQuota, config: QueueConfig) -> object | None:
    ns = tx.namespace(job.spec.namespace)
    if ns.env is None:
        return None
    nodes = _flavor_nodes(tx, quota.flavor, config)
    return find_slot(nodes, ns.env, job.spec.gpu, job.spec.tolerations)


def _slot_label(tx: Tx, job: Job) -> str | None:
    p = job.placement
    if p is None:
        return None
    node = tx.node(p.node)
    for gpu in node.gpus:
        for slot in gpu.slots:
            if gpu.index == p.gpu_index and slot.id == p.slot_id:
                return slot.label
    return None


def _place(
    tx: Tx, job: Job, cq: ClusterQueue, quota: FlavorQuota, lq: str, config: QueueConfig
) -> bool:
    ns = tx.namespace(job.spec.namespace)
    if ns.env is None:
        return False
    nodes = _flavor_nodes(tx, quota.flavor, config)
    found = find_slot(nodes, ns.env, job.spec.gpu, job.spec.tolerations)
    if found is None:
        return False
    node, gpu, slot = found
    occupant = Occupant(
        kind="job", namespace=ns.name, name=job.id, utilisation=job.spec.utilisation
    )
    job.placement = occupy(node, gpu, slot, occupant)
    job.status = JobStatus.RUNNING
    job.started_at = tx.now()
    job.reason = ""
    job.admission = Admission(
        local_queue=lq,
        cluster_queue=cq.name,
        flavor=quota.flavor,
        resource=quota.resource,
        amount=SLOT_AMOUNT,
        admitted_at=tx.now(),
    )
    tx.save_node(node)
    return True
