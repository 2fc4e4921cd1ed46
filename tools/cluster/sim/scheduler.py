"""Admission inside one twin transaction: quota first, then a free slot.

Deployments get replicas placed up to their desired count; jobs are admitted in submission
order (best-effort FIFO, as Kueue does): a job that does not fit stays queued with a reason
and later jobs may still start.
"""

from datetime import timedelta

from tools.cluster.sim import kueue
from tools.cluster.sim.placement import (
    find_slot,
    occupy,
    release,
    release_at,
    usage_by_namespace,
)
from tools.cluster.sim.store import Tx
from tools.domain import (
    Deployment,
    Environment,
    GpuRequest,
    Job,
    JobStatus,
    Namespace,
    Occupant,
)
from tools.domain.queues import QueueConfig

QUOTA_EPSILON = 1e-9


def free_quota(tx: Tx, ns: Namespace) -> float:
    """GPU-equivalents the namespace may still take (inf without quota)."""
    if ns.gpu_quota is None:
        return float("inf")
    return ns.gpu_quota - usage_by_namespace(tx.nodes().values()).get(ns.name, 0.0)


def place_replicas(tx: Tx, dep: Deployment) -> Deployment:
    """Place missing replicas of a deployment while quota and capacity allow."""
    ns = tx.namespace(dep.namespace)
    while dep.ready_replicas < dep.replicas:
        found = find_slot(tx.nodes().values(), dep.env, dep.gpu, dep.tolerations)
        if found is None:
            break
        node, gpu, slot = found
        if slot.equivalents > free_quota(tx, ns) + QUOTA_EPSILON:
            break
        replica = _next_replica(dep)
        occupant = Occupant(
            kind="deployment",
            namespace=dep.namespace,
            name=dep.name,
            replica=replica,
            utilisation=dep.gpu_utilisation,
        )
        placement = occupy(node, gpu, slot, occupant)
        dep.placements = [*dep.placements, placement]
        dep.p95_latency_ms = observed_latency(tx, dep)
        tx.save_node(node)
    return dep


def remove_replicas(tx: Tx, dep: Deployment) -> Deployment:
    """Free the placements beyond the desired replica count (newest first)."""
    for placement in dep.placements[dep.replicas :]:
        node = tx.node(placement.node)
        release_at(node, placement)
        tx.save_node(node)
    dep.placements = dep.placements[: dep.replicas]
    return dep


def reconcile_deployments(tx: Tx) -> None:
    """Try to place missing replicas of every deployment, prod first."""
    order = {"prod": 0, "test": 1, "dev": 2}
    pending = [d for d in tx.deployments() if d.ready_replicas < d.replicas]
    for dep in sorted(pending, key=lambda d: (order[d.env.value], d.namespace, d.name)):
        tx.save_deployment(place_replicas(tx, dep))


def admit_jobs(tx: Tx) -> list[Job]:
    """Start every queued job that fits now; return those started.

    Higher priority first, then submission order. Kueue jobs get two passes: the first
    admits only within nominal quota (so queues under their nominal quota go before
    borrowers), the second allows borrowing and preemption.
    """
    started = []
    config = tx.queues()
    for borrow in (False, True):
        queued = sorted(tx.jobs(status=JobStatus.QUEUED), key=lambda j: -j.spec.priority)
        for job in queued:
            if tx.job(job.id).status is not JobStatus.QUEUED:
                continue
            if not borrow and not kueue.governed(config, job):
                continue
            if try_start(tx, job, config, borrow=borrow):
                started.append(job)
            tx.save_job(job)
    return started


def try_start(tx: Tx, job: Job, config: QueueConfig | None = None, *, borrow: bool = True) -> bool:
    """Start one queued job if quota and a slot allow; else record why it waits."""
    ns = tx.namespace(job.spec.namespace)
    request = job.spec.gpu
    if job.spec.not_before is not None and tx.now() < job.spec.not_before:
        job.reason = f"held until {job.spec.not_before:%Y-%m-%d %H:%M} (planned window)"
        return False
    if ns.env is None:
        job.reason = f"namespace {ns.name} has no env label, so no node pool may run it"
        return False
    config = tx.queues() if config is None else config
    if kueue.governed(config, job):
        return kueue.try_admit(tx, job, config, borrow=borrow)
    needed = request_equivalents(tx, ns.env, request)
    if needed is None:
        job.reason = f"no {ns.env} pool offers {request.slot_label()} {request.gpu_type} slots"
        return False
    free = free_quota(tx, ns)
    if needed > free + QUOTA_EPSILON:
        job.reason = (
            f"quota: needs {needed:.2f} GPU, {max(free, 0.0):.2f} of {ns.gpu_quota:.2f} free"
        )
        return False
    found = find_slot(tx.nodes().values(), ns.env, request, job.spec.tolerations)
    if found is None:
        job.reason = f"no free {request.slot_label()} {request.gpu_type} slot in {ns.env} pools"
        return False
    node, gpu, slot = found
    occupant = Occupant(
        kind="job", namespace=ns.name, name=job.id, utilisation=job.spec.utilisation
    )
    job.placement = occupy(node, gpu, slot, occupant)
    job.status = JobStatus.RUNNING
    job.started_at = tx.now()
    job.reason = ""
    tx.save_node(node)
    return True


def request_equivalents(tx: Tx, env: Environment, request: GpuRequest) -> float | None:
    """GPU-equivalents a request costs in an environment; None if no pool offers it."""
    label = request.slot_label()
    for node in tx.nodes().values():
        if node.env is not env:
            continue
        for gpu in node.gpus:
            if gpu.type is request.gpu_type and gpu.sharing is request.sharing:
                for slot in gpu.slots:
                    if slot.label == label:
                        return slot.equivalents
    return None


def finish_due_jobs(tx: Tx) -> list[Job]:
    """Complete running jobs whose virtual run time is over at the current clock."""
    done = []
    for job in tx.jobs(status=JobStatus.RUNNING):
        assert job.started_at is not None
        if job.started_at + timedelta(seconds=job.spec.duration_s) <= tx.now():
            for node in release(tx.nodes().values(), "job", job.spec.namespace, job.id):
                tx.save_node(node)
            job.status = JobStatus.SUCCEEDED
            job.finished_at = tx.now()
            tx.save_job(job)
            done.append(job)
    return done


def observed_latency(tx: Tx, dep: Deployment) -> float:
    """p95 latency after the slowdown of the GPUs the deployment runs on."""
    factor = 1.0
    for p in dep.placements:
        node = tx.nodes().get(p.node)
        if node is not None:
            factor = max([factor] + [g.latency_factor for g in node.gpus if g.index == p.gpu_index])
    return dep.base_latency_ms * factor


def _next_replica(dep: Deployment) -> int:
    return len(dep.placements)
