"""Fault injection into the twin. Every fault is recorded as ground truth."""

from datetime import timedelta

from tools.cluster.sim.scheduler import (
    admit_jobs,
    observed_latency,
    place_replicas,
    reconcile_deployments,
)
from tools.cluster.sim.store import Tx
from tools.domain import Fault, GpuSharing, JobStatus, Namespace, Occupant
from tools.errors import ConfigError, ConflictError, NotFoundError


def node_loss(tx: Tx, node_name: str) -> Fault:
    """Take a node down: its replicas are rescheduled where possible, its jobs requeued."""
    node = tx.node(node_name)
    if not node.ready:
        raise ConflictError(f"node {node_name} is already down")
    node.ready = False
    deployments, jobs = set(), set()
    for gpu in node.gpus:
        for slot in gpu.slots:
            if slot.occupant is not None:
                occ = slot.occupant
                if occ.kind == "deployment":
                    deployments.add((occ.namespace, occ.name))
                else:
                    jobs.add(occ.name)
                slot.occupant = None
    tx.save_node(node)
    for job_id in sorted(jobs):
        job = tx.job(job_id)
        job.status, job.placement, job.started_at = JobStatus.QUEUED, None, None
        job.reason = f"requeued: node {node_name} lost"
        tx.save_job(job)
    for namespace, name in sorted(deployments):
        dep = tx.deployment(namespace, name)
        dep.placements = [p for p in dep.placements if p.node != node_name]
        tx.save_deployment(place_replicas(tx, dep))
    admit_jobs(tx)
    detail = {"replicas_evicted_from": ",".join(f"{n}/{d}" for n, d in sorted(deployments))}
    detail["jobs_requeued"] = ",".join(sorted(jobs))
    return tx.add_fault("node_loss", node_name, detail)


def recover_node(tx: Tx, node_name: str) -> None:
    """Bring a lost node back; pending replicas and queued jobs may use it."""
    node = tx.node(node_name)
    if node.ready:
        raise ConflictError(f"node {node_name} is not down")
    node.ready = True
    tx.save_node(node)
    reconcile_deployments(tx)
    admit_jobs(tx)


def quota_cut(tx: Tx, namespace: str, new_quota: float) -> Fault:
    """Lower a namespace's GPU quota. Running work keeps running; new admissions wait."""
    if new_quota < 0:
        raise ConfigError(f"quota must be >= 0 GPU, got {new_quota}")
    ns = tx.namespace(namespace)
    old = ns.gpu_quota
    ns.gpu_quota = new_quota
    tx.save_namespace(ns)
    return tx.add_fault("quota_cut", namespace, {"old": str(old), "new": str(new_quota)})


def noisy_neighbour(tx: Tx, node_name: str, gpu_index: int, factor: float) -> Fault:
    """Slow one GPU down (a co-tenant hogging it): latency of what runs there rises."""
    if factor < 1.0:
        raise ConfigError(f"slowdown factor must be >= 1, got {factor}")
    node = tx.node(node_name)
    gpu = next((g for g in node.gpus if g.index == gpu_index), None)
    if gpu is None:
        raise NotFoundError(f"node {node_name} has no GPU {gpu_index} (0..{len(node.gpus) - 1})")
    gpu.latency_factor = factor
    tx.save_node(node)
    victims = sorted(
        {
            (s.occupant.namespace, s.occupant.name)
            for s in gpu.slots
            if s.occupant is not None and s.occupant.kind == "deployment"
        }
    )
    for namespace, name in victims:
        dep = tx.deployment(namespace, name)
        dep.p95_latency_ms = observed_latency(tx, dep)
        tx.save_deployment(dep)
    detail = {"gpu": str(gpu_index), "factor": str(factor)}
    detail["deployments"] = ",".join(f"{n}/{d}" for n, d in victims)
    return tx.add_fault("noisy_neighbour", node_name, detail)


CONFIG_DRIFTS = (
    "namespace_unlabelled",
    "shared_identity",
    "network_open",
    "stale_access_review",
    "foreign_image",
    "pool_untainted",
    "time_sliced_cross_env",
    "quota_raise",
)
"""Configuration drift the compliance reviewer must find (see `config_drift`)."""


def config_drift(tx: Tx, kind: str, target: str, value: str = "") -> Fault:
    """Break one segregation/governance setting, as a careless change would.

    Args:
        tx: The twin transaction.
        kind: One of CONFIG_DRIFTS.
        target: Namespace, `namespace/deployment` (foreign_image) or pool (pool_untainted);
            for time_sliced_cross_env the namespace whose workload squats a dev GPU.
        value: Label to drop, namespace whose identity to borrow, age in days, image,
            or new quota, depending on the kind.
    """
    match kind:
        case "namespace_unlabelled" | "shared_identity" | "network_open" | "stale_access_review":
            tx.save_namespace(_drift_namespace(tx, kind, tx.namespace(target), value))
        case "foreign_image":
            namespace, _, name = target.partition("/")
            dep = tx.deployment(namespace, name)
            dep.image = value or f"docker.io/someone/{dep.model}:latest"
            tx.save_deployment(dep)
        case "pool_untainted":
            _untaint_pool(tx, target)
        case "time_sliced_cross_env":
            _squat_shared_gpu(tx, target, value or "debug-notebook")
        case "quota_raise":
            ns = tx.namespace(target)
            ns.gpu_quota = float(value)
            tx.save_namespace(ns)
        case _:
            raise ConfigError(f"unknown config drift {kind!r}; known: {', '.join(CONFIG_DRIFTS)}")
    return tx.add_fault(kind, target, {"value": value} if value else {})


def _drift_namespace(tx: Tx, kind: str, ns: Namespace, value: str) -> Namespace:
    if kind == "namespace_unlabelled":
        label = value or "owner"
        ns.labels = {k: v for k, v in ns.labels.items() if k != label}
        ns.env = None if label == "env" else ns.env
        ns.owner = None if label == "owner" else ns.owner
    elif kind == "shared_identity":
        ns.identities = [*ns.identities, *tx.namespace(value).identities]
    elif kind == "network_open":
        ns.network_default_deny, ns.ingress_from = False, ["*"]
    else:
        ns.access_reviewed_at = tx.now() - timedelta(days=float(value or 400))
    return ns


def _untaint_pool(tx: Tx, name: str) -> None:
    pool = next((p for p in tx.pools() if p.name == name), None)
    if pool is None:
        raise NotFoundError(f"unknown node pool {name!r}")
    pool.taints = []
    tx.save_pool(pool)
    for node in tx.nodes().values():
        if node.pool == name:
            node.taints = []
            tx.save_node(node)


def _squat_shared_gpu(tx: Tx, namespace: str, name: str) -> None:
    """Put a workload of `namespace` on a time-sliced GPU that serves another environment."""
    env = tx.namespace(namespace).env
    envs = {ns.name: ns.env for ns in tx.namespaces()}
    for node in tx.nodes().values():
        for gpu in node.gpus:
            if gpu.sharing is not GpuSharing.TIME_SLICED:
                continue
            users = {envs.get(s.occupant.namespace) for s in gpu.slots if s.occupant}
            free = next((s for s in gpu.slots if s.occupant is None), None)
            if free is not None and users and env not in users:
                free.occupant = Occupant(kind="deployment", namespace=namespace, name=name)
                tx.save_node(node)
                return
    raise ConflictError("no time-sliced GPU of another environment has a free slice")
