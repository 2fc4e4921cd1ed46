"""`SimCluster`: a persisted digital twin of a GPU cluster with a virtual clock."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tools.cluster.sim import capacity_ops, change_events, cron_jobs, faults, power
from tools.cluster.sim.placement import usage_by_namespace
from tools.cluster.sim.scheduler import (
    admit_jobs,
    finish_due_jobs,
    place_replicas,
    reconcile_deployments,
    remove_replicas,
)
from tools.cluster.sim.spec import ClusterSpec, build_nodes, image_for_version
from tools.cluster.sim.store import TwinStore, Tx
from tools.domain import (
    GPU_CATALOGUE,
    Deployment,
    Environment,
    Fault,
    GpuRequest,
    GpuSharing,
    Job,
    JobSpec,
    JobStatus,
    Namespace,
    Node,
    NodePool,
    PoolUsage,
)
from tools.domain.events import ChangeEvent, EventKind
from tools.domain.queues import ClusterQueue, CronSchedule, QueueConfig, QueuePatch, apply_patch
from tools.errors import ConfigError, NotFoundError
from tools.events.log import EventLog, events_path


class SimCluster:
    """The embedded `Cluster`: node pools, MIG/time-sliced GPUs, quotas, jobs, power."""

    def __init__(self, path: Path) -> None:
        """Open the twin stored at `path` (see `create` to build one)."""
        self._store = TwinStore(path)
        self._events_file = events_path(path)
        self._events: EventLog | None = None

    @property
    def events(self) -> EventLog:
        """The world's change-event log (deploys, config/runtime changes, scaling)."""
        if self._events is None:
            self._events = EventLog(self._events_file)
        return self._events

    @classmethod
    def create(cls, path: Path, spec: ClusterSpec) -> "SimCluster":
        """Build a twin from a spec, replacing whatever the file held."""
        twin = cls(path)
        with twin._store.transaction() as tx:
            _build(tx, spec)
        return twin

    def reset(self) -> None:
        """Return the twin to the state it was seeded with (faults, jobs, clock undone)."""
        with self._store.transaction() as tx:
            spec = tx.spec()
            _build(tx, spec)

    def close(self) -> None:
        """Close the twin's file."""
        self._store.close()
        if self._events is not None:
            self._events.close()

    # --- reads -------------------------------------------------------------------------
    def now(self) -> datetime:
        """The virtual clock."""
        with self._store.read() as tx:
            return tx.now()

    def node_pools(self) -> list[NodePool]:
        """All node pools."""
        with self._store.read() as tx:
            return tx.pools()

    def nodes(self, env: Environment | None = None) -> list[Node]:
        """Nodes, optionally of one environment."""
        with self._store.read() as tx:
            return [n for n in tx.nodes().values() if env is None or n.env is env]

    def namespaces(self) -> list[Namespace]:
        """Namespaces with their current GPU use."""
        with self._store.read() as tx:
            used = usage_by_namespace(tx.nodes().values())
            return [
                ns.model_copy(update={"gpu_used": used.get(ns.name, 0.0)}) for ns in tx.namespaces()
            ]

    def namespace(self, name: str) -> Namespace:
        """One namespace with its current GPU use."""
        with self._store.read() as tx:
            ns = tx.namespace(name)
            used = usage_by_namespace(tx.nodes().values()).get(name, 0.0)
            return ns.model_copy(update={"gpu_used": used})

    def deployments(self, namespace: str | None = None) -> list[Deployment]:
        """Deployments, optionally of one namespace."""
        with self._store.read() as tx:
            return tx.deployments(namespace)

    def deployment(self, namespace: str, name: str) -> Deployment:
        """One deployment."""
        with self._store.read() as tx:
            return tx.deployment(namespace, name)

    def jobs(self, namespace: str | None = None) -> list[Job]:
        """Jobs in submission order."""
        with self._store.read() as tx:
            if namespace is not None:
                tx.namespace(namespace)
            return tx.jobs(namespace)

    def job(self, job_id: str) -> Job:
        """One job."""
        with self._store.read() as tx:
            return tx.job(job_id)

    def faults(self) -> list[Fault]:
        """Faults injected since seeding (ground truth)."""
        with self._store.read() as tx:
            return tx.faults()

    def pool_usage(self) -> list[PoolUsage]:
        """Allocation, use, power and energy per pool."""
        with self._store.read() as tx:
            return [power.pool_usage(pool, tx) for pool in tx.pools()]

    def queues(self) -> QueueConfig:
        """Kueue objects."""
        with self._store.read() as tx:
            return tx.queues()

    def schedules(self, namespace: str | None = None) -> list[CronSchedule]:
        """CronJobs, optionally of one namespace."""
        with self._store.read() as tx:
            return [s for s in tx.schedules() if namespace is None or s.namespace == namespace]

    # --- writes ------------------------------------------------------------------------
    def patch_cluster_queue(
        self, name: str, patch: QueuePatch, *, dry_run: bool = False
    ) -> ClusterQueue:
        """Patch a ClusterQueue; queued jobs are admitted (or reclaim) under the new rules."""
        with self._store.transaction(dry_run=dry_run) as tx:
            config = tx.queues()
            current = config.cluster_queue(name)
            if current is None:
                raise NotFoundError(f"unknown ClusterQueue {name!r}")
            patched = apply_patch(current, patch)
            config.cluster_queues = [
                patched if q.name == name else q for q in config.cluster_queues
            ]
            tx.save_queues(config)
            if not dry_run:
                admit_jobs(tx)
            return patched

    def set_queues(self, config: QueueConfig) -> None:
        """Replace the Kueue objects (scenario set-up); queued jobs are admitted under them."""
        with self._store.transaction() as tx:
            tx.save_queues(config)
            admit_jobs(tx)

    def set_schedules(self, schedules: list[CronSchedule]) -> None:
        """Replace the CronJobs (scenario set-up)."""
        with self._store.transaction() as tx:
            for s in schedules:
                tx.namespace(s.namespace)
            tx.save_schedules(schedules)

    def scale(
        self, namespace: str, name: str, replicas: int, *, dry_run: bool = False
    ) -> Deployment:
        """Set desired replicas; new ones are placed if quota and capacity allow."""
        if replicas < 0:
            raise ConfigError(f"replicas must be >= 0, got {replicas}")
        with self._store.transaction(dry_run=dry_run) as tx:
            dep = tx.deployment(namespace, name)
            old = dep.replicas
            dep.replicas = replicas
            dep = (
                remove_replicas(tx, dep)
                if replicas < dep.ready_replicas
                else place_replicas(tx, dep)
            )
            tx.save_deployment(dep)
            if not dry_run:
                reconcile_deployments(tx)
                admit_jobs(tx)
            at = tx.now()
        if not dry_run and old != replicas:
            self._emit(EventKind.SCALE, dep, at, {"replicas": old}, {"replicas": replicas})
        return dep

    def set_model_version(
        self, namespace: str, name: str, version: int, *, dry_run: bool = False
    ) -> Deployment:
        """Serve another model version."""
        if version < 1:
            raise ConfigError(f"model versions start at 1, got {version}")
        with self._store.transaction(dry_run=dry_run) as tx:
            dep = tx.deployment(namespace, name)
            old = dep.model_version
            dep.model_version = version
            dep.image = image_for_version(dep.image, version)
            tx.save_deployment(dep)
            at = tx.now()
        if not dry_run and old != version:
            self._emit(EventKind.DEPLOY, dep, at, {"version": old}, {"version": version})
        return dep

    def change_serving(
        self,
        namespace: str,
        name: str,
        changes: dict[str, Any],
        *,
        kind: EventKind = EventKind.CONFIG_CHANGE,
        actor: str = "twin",
        reason: str = "",
    ) -> ChangeEvent:
        """Change a deployment's serving configuration or runtime (same model version).

        The twin keeps the configuration as its events leave it (`events.latest_config`).
        """
        dep = self.deployment(namespace, name)
        return change_events.serving_change(
            self.events, dep, self.now(), changes, kind, actor, reason
        )

    def _emit(
        self,
        kind: EventKind,
        dep: Deployment,
        at: datetime,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> ChangeEvent:
        return change_events.record(self.events, kind, dep, at, before, after)

    def submit_job(self, spec: JobSpec, *, dry_run: bool = False) -> Job:
        """Queue a job and admit it at once if it fits; idempotent by key."""
        _check_request(spec)
        with self._store.transaction(dry_run=dry_run) as tx:
            existing = tx.job_by_key(spec.idempotency_key)
            if existing is not None:
                return existing
            tx.namespace(spec.namespace)
            job = Job(
                id=f"job-{tx.next_job_number():05d}",
                spec=spec,
                status=JobStatus.QUEUED,
                submitted_at=tx.now(),
            )
            tx.save_job(job)
            admit_jobs(tx)
            return tx.job(job.id)

    def resize(
        self, namespace: str, name: str, gpu: GpuRequest, *, dry_run: bool = False
    ) -> Deployment:
        """Move every replica to a slot of another kind (e.g. a smaller MIG profile)."""
        with self._store.transaction(dry_run=dry_run) as tx:
            return capacity_ops.resize(tx, namespace, name, gpu)

    def move_replica(
        self,
        namespace: str,
        name: str,
        replica: int,
        node: str,
        gpu_index: int,
        *,
        dry_run: bool = False,
    ) -> Deployment:
        """Move one replica to a free slot of the same kind on another GPU."""
        with self._store.transaction(dry_run=dry_run) as tx:
            return capacity_ops.move_replica(tx, namespace, name, replica, node, gpu_index)

    def defer_job(self, job_id: str, not_before: datetime | None, *, dry_run: bool = False) -> Job:
        """Hold a queued job until `not_before` (None releases it)."""
        with self._store.transaction(dry_run=dry_run) as tx:
            return capacity_ops.defer_job(tx, job_id, not_before)

    def advance(self, delta: timedelta) -> list[Job]:
        """Move the virtual clock: jobs finish, CronJob runs and queued jobs start."""
        if delta < timedelta(0):
            raise ConfigError("the clock only moves forward")
        finished: list[Job] = []
        with self._store.transaction() as tx:
            target = tx.now() + delta
            fires = cron_jobs.fire_times(tx, target)
            while True:
                upcoming = [t for t in fires if t > tx.now()][:1]
                step_to = min([target, *_finish_times(tx), *_hold_ends(tx), *upcoming])
                power.accrue_energy(tx, (step_to - tx.now()).total_seconds())
                previous = tx.now()
                tx.set_now(step_to)
                finished += finish_due_jobs(tx)
                cron_jobs.start_due_runs(tx, previous)
                admit_jobs(tx)
                if step_to >= target:
                    break
            for dep in tx.deployments():
                if dep.requests_per_s > 0 and dep.ready_replicas > 0:
                    dep.last_request_at = target
                    tx.save_deployment(dep)
        return finished

    # --- faults ------------------------------------------------------------------------
    def inject_node_loss(self, node: str) -> Fault:
        """Take a node down."""
        with self._store.transaction() as tx:
            return faults.node_loss(tx, node)

    def recover_node(self, node: str) -> None:
        """Bring a lost node back."""
        with self._store.transaction() as tx:
            faults.recover_node(tx, node)

    def inject_quota_cut(self, namespace: str, new_quota: float) -> Fault:
        """Lower a namespace's GPU quota."""
        with self._store.transaction() as tx:
            return faults.quota_cut(tx, namespace, new_quota)

    def inject_noisy_neighbour(self, node: str, gpu_index: int, factor: float = 3.0) -> Fault:
        """Slow down one GPU."""
        with self._store.transaction() as tx:
            return faults.noisy_neighbour(tx, node, gpu_index, factor)

    def inject_config_drift(self, kind: str, target: str, value: str = "") -> Fault:
        """Break one segregation/governance setting (see `faults.CONFIG_DRIFTS`)."""
        with self._store.transaction() as tx:
            return faults.config_drift(tx, kind, target, value)


def _build(tx: Tx, spec: ClusterSpec) -> None:
    tx.clear()
    tx.put_spec(spec)
    tx.set_now(spec.start)
    for pool_spec in spec.pools:
        tx.save_pool(pool_spec.pool)
        for node in build_nodes(pool_spec):
            tx.save_node(node)
    for ns in spec.namespaces:
        tx.save_namespace(ns)
    for dep in spec.deployments:
        tx.save_deployment(dep.model_copy(update={"placements": []}))
    tx.save_queues(spec.queues)
    tx.save_schedules(spec.schedules)
    reconcile_deployments(tx)


def _finish_times(tx: Tx) -> list[datetime]:
    times = []
    for job in tx.jobs(status=JobStatus.RUNNING):
        assert job.started_at is not None
        times.append(job.started_at + timedelta(seconds=job.spec.duration_s))
    return times


def _hold_ends(tx: Tx) -> list[datetime]:
    """When held jobs may start (only future ones, so the loop always moves on)."""
    now = tx.now()
    return [
        j.spec.not_before
        for j in tx.jobs(status=JobStatus.QUEUED)
        if j.spec.not_before is not None and j.spec.not_before > now
    ]


def _check_request(spec: JobSpec) -> None:
    request = spec.gpu
    if request.sharing is GpuSharing.MIG:
        if request.mig_profile is None:
            raise ConfigError("a MIG GPU request needs mig_profile, e.g. '2g.20gb'")
        GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile)
