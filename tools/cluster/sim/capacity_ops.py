"""Twin operations the capacity planner executes: resize, move a replica, defer a job.

Each runs inside one twin transaction and either completes or raises with nothing changed,
and each is idempotent: repeating it on the state it produced changes nothing.
"""

from datetime import datetime

from tools.cluster.sim.placement import occupy, release_at, tolerates
from tools.cluster.sim.scheduler import (
    admit_jobs,
    observed_latency,
    place_replicas,
    reconcile_deployments,
)
from tools.cluster.sim.store import Tx
from tools.domain import (
    GPU_CATALOGUE,
    Deployment,
    GpuRequest,
    GpuSharing,
    Job,
    JobStatus,
    Slot,
)
from tools.domain.gpus import MIG_COMPUTE_SLICES
from tools.errors import ConfigError, ConflictError


def check_request(request: GpuRequest) -> None:
    """A MIG request names a profile the GPU type has.

    Raises:
        ConfigError: no profile, or an unknown one.
    """
    if request.sharing is GpuSharing.MIG:
        if request.mig_profile is None:
            raise ConfigError("a MIG GPU request needs mig_profile, e.g. '2g.20gb'")
        GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile)


def resize(tx: Tx, namespace: str, name: str, request: GpuRequest) -> Deployment:
    """Give every replica a slot of another kind (e.g. a smaller MIG profile).

    The same load on a smaller slot keeps it busier: utilisation scales with the compute
    slices. All replicas that ran before must find a slot, else nothing changes.

    Raises:
        ConflictError: not enough free slots of the new kind (within quota).
    """
    check_request(request)
    dep = tx.deployment(namespace, name)
    if dep.gpu == request and dep.ready_replicas == dep.replicas:
        return dep
    before = dep.ready_replicas
    for placement in dep.placements:
        node = tx.node(placement.node)
        release_at(node, placement)
        tx.save_node(node)
    old = _compute(dep.gpu)
    dep.placements = []
    dep.gpu = request
    dep.gpu_utilisation = round(min(1.0, dep.gpu_utilisation * old / _compute(request)), 3)
    dep = place_replicas(tx, dep)
    if dep.ready_replicas < min(before, dep.replicas):
        raise ConflictError(
            f"cannot resize {namespace}/{name} to {request.slot_label()} {request.gpu_type}: "
            f"only {dep.ready_replicas} of {min(before, dep.replicas)} replicas find a free "
            f"slot of that kind in {dep.env} pools within quota; nothing changed"
        )
    tx.save_deployment(dep)
    reconcile_deployments(tx)
    admit_jobs(tx)
    return tx.deployment(namespace, name)


def move_replica(
    tx: Tx, namespace: str, name: str, replica: int, node_name: str, gpu_index: int
) -> Deployment:
    """Move one replica to a free slot of the same kind on another GPU.

    Raises:
        NotFoundError: unknown deployment or node.
        ConflictError: the replica is not running, or the target cannot take it (names why).
    """
    dep = tx.deployment(namespace, name)
    current = None
    for p in dep.placements:
        slot = _slot(tx, p.node, p.gpu_index, p.slot_id)
        if slot is not None and slot.occupant is not None and slot.occupant.replica == replica:
            current = p
    if current is None:
        raise ConflictError(f"replica {replica} of {namespace}/{name} is not running")
    if (current.node, current.gpu_index) == (node_name, gpu_index):
        return dep
    target = tx.node(node_name)
    label = dep.gpu.slot_label()
    gpu = next((g for g in target.gpus if g.index == gpu_index), None)
    problem = (
        "is not ready"
        if not target.ready
        else f"serves {target.env}, not {dep.env}"
        if target.env is not dep.env
        else "has taints the deployment does not tolerate"
        if not tolerates(target, dep.tolerations)
        else f"has no GPU {gpu_index}"
        if gpu is None
        else f"GPU {gpu_index} is not a {dep.gpu.gpu_type} {dep.gpu.sharing} GPU"
        if gpu.type is not dep.gpu.gpu_type or gpu.sharing is not dep.gpu.sharing
        else None
    )
    free = (
        None
        if gpu is None
        else next((s for s in gpu.slots if s.label == label and s.occupant is None), None)
    )
    if problem is None and free is None:
        problem = f"GPU {gpu_index} has no free {label} slot"
    if problem is not None:
        raise ConflictError(f"cannot move {namespace}/{name} to {node_name}: the node {problem}")
    assert gpu is not None and free is not None
    source = tx.node(current.node)
    occupant = _slot(tx, current.node, current.gpu_index, current.slot_id)
    assert occupant is not None and occupant.occupant is not None
    moved = occupant.occupant
    release_at(source, current)
    tx.save_node(source)
    target = tx.node(node_name)  # the same object when source == target
    placement = occupy(target, gpu, free, moved)
    tx.save_node(target)
    dep.placements = [placement if p == current else p for p in dep.placements]
    dep.p95_latency_ms = observed_latency(tx, dep)
    tx.save_deployment(dep)
    return dep


def defer_job(tx: Tx, job_id: str, not_before: datetime | None) -> Job:
    """Hold a queued job until `not_before` (None releases the hold).

    Raises:
        ConflictError: the job is not queued any more.
    """
    job = tx.job(job_id)
    if job.spec.not_before == not_before and job.status is JobStatus.QUEUED:
        return job
    if job.status is not JobStatus.QUEUED:
        raise ConflictError(f"job {job_id} is {job.status}; only a queued job can be rescheduled")
    job.spec = job.spec.model_copy(update={"not_before": not_before})
    tx.save_job(job)
    admit_jobs(tx)
    return tx.job(job_id)


def _compute(request: GpuRequest) -> int:
    if request.sharing is GpuSharing.MIG and request.mig_profile:
        return GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile).compute_slices
    return MIG_COMPUTE_SLICES


def _slot(tx: Tx, node: str, gpu_index: int, slot_id: str) -> Slot | None:
    for gpu in tx.node(node).gpus:
        if gpu.index == gpu_index:
            for slot in gpu.slots:
                if slot.id == slot_id:
                    return slot
    return None
