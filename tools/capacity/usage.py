"""Allocation versus use per pool, namespace and environment: GPUs, idle hours, cost, CO2e.

A snapshot at the cluster's clock, extrapolated per day: a GPU you hold costs its price per
hour whether it is busy or not, so idle GPU-hours are money and (idle draw) carbon.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from tools.capacity.energy import (
    HOURS_PER_DAY,
    CapacityConfig,
    joules_per_1k_inferences,
    kwh,
    slot_power_w,
)
from tools.capacity.schedules import Reservation, reservations
from tools.cluster.protocol import Cluster
from tools.domain import GPU_CATALOGUE, Deployment, Environment, Job, JobStatus, Node
from tools.domain.gpus import gpu_power


class Usage(BaseModel):
    """Allocation versus use of one group of GPUs (a pool, a namespace, an environment)."""

    name: str
    env: Environment | None
    gpus: float
    """Physical GPUs (pools, environments) or GPU-equivalents held (namespaces)."""
    requested: float
    """GPU-equivalents handed out to workloads."""
    busy: float
    """GPU-equivalents actually busy (utilisation-weighted)."""
    idle_gpu_hours_per_day: float
    """(held - busy) x 24: GPU-hours paid for and not used."""
    power_w: float
    cost_per_day: float
    kg_co2e_per_day: float
    """At the curve's daily average intensity."""
    requests_per_s: float
    j_per_1k_inferences: float | None
    """Serving energy per 1,000 requests; None without traffic."""
    quota: float | None = None
    jobs_queued: int = 0
    mean_queue_wait_h: float | None = None
    """Mean wait of retraining jobs (queued ones count up to now); None without jobs."""
    kwh_per_retrain: float | None = None
    """Mean energy of finished retraining jobs."""


class CapacityReport(BaseModel):
    """`lotsen capacity report`."""

    at: datetime
    pools: list[Usage]
    namespaces: list[Usage]
    envs: list[Usage]
    carbon_g_per_kwh_mean: float
    reserved: list[Reservation] = Field(default_factory=list)
    """What CronJobs hold over the planning horizon (`schedule_horizon_hours`)."""
    reserved_gpu_hours: float = 0.0
    """GPU-equivalent hours reserved for scheduled jobs over that horizon."""


def capacity_report(cluster: Cluster, config: CapacityConfig) -> CapacityReport:
    """Allocation versus use, cost and carbon of everything the cluster runs."""
    now = cluster.now()
    nodes = [n for n in cluster.nodes() if n.ready]
    deployments = cluster.deployments()
    jobs = cluster.jobs()
    pools = {p.name: p for p in cluster.node_pools()}
    intensity = config.carbon.mean()
    rps_by_pool = _rps_by_pool(nodes, deployments)

    pool_rows = []
    for name, pool in pools.items():
        members = [n for n in nodes if n.pool == name]
        gpus = [g for n in members for g in n.gpus]
        power = sum(gpu_power(GPU_CATALOGUE[g.type], g.utilisation()) for g in gpus)
        serving_w = sum(
            slot_power_w(g.type, s.equivalents, s.occupant.utilisation)
            for g in gpus
            for s in g.slots
            if s.occupant and s.occupant.kind == "deployment"
        )
        pool_rows.append(
            _usage(
                name,
                pool.env,
                gpus=len(gpus),
                requested=sum(g.allocated() for g in gpus),
                busy=sum(g.utilisation() for g in gpus),
                power_w=power,
                cost_per_hour=len(gpus) * config.price(pool.gpu_type),
                intensity=intensity,
                rps=rps_by_pool.get(name, 0.0),
                serving_w=serving_w,
            )
        )

    ns_rows = []
    held = _held_by_namespace(nodes, config)
    rps_by_ns: dict[str, float] = defaultdict(float)
    for dep in deployments:
        rps_by_ns[dep.namespace] += dep.requests_per_s if dep.ready_replicas else 0.0
    for ns in cluster.namespaces():
        h = held.get(ns.name, _Held())
        ns_jobs = [j for j in jobs if j.spec.namespace == ns.name]
        ns_rows.append(
            _usage(
                ns.name,
                ns.env,
                gpus=h.requested,
                requested=h.requested,
                busy=h.busy,
                power_w=h.power_w,
                cost_per_hour=h.cost_per_hour,
                intensity=intensity,
                rps=rps_by_ns.get(ns.name, 0.0),
                serving_w=h.serving_w,
            ).model_copy(update={"quota": ns.gpu_quota, **_job_figures(ns_jobs, now)})
        )

    env_rows = []
    for env in Environment:
        env_pools = [p for p in pool_rows if p.env is env]
        env_ns = [n for n in ns_rows if n.env is env]
        if not env_pools and not env_ns:
            continue
        env_jobs = [j for j in jobs if any(n.name == j.spec.namespace for n in env_ns)]
        env_rows.append(
            _usage(
                env.value,
                env,
                gpus=sum(p.gpus for p in env_pools),
                requested=sum(p.requested for p in env_pools),
                busy=sum(p.busy for p in env_pools),
                power_w=sum(p.power_w for p in env_pools),
                cost_per_hour=sum(p.cost_per_day for p in env_pools) / HOURS_PER_DAY,
                intensity=intensity,
                rps=sum(p.requests_per_s for p in env_pools),
                serving_w=sum(n.power_w for n in env_ns) if env_ns else 0.0,
            ).model_copy(update=_job_figures(env_jobs, now))
        )
    horizon = timedelta(hours=config.schedule_horizon_hours)
    reserved = reservations(cluster.schedules(), now, horizon)
    return CapacityReport(
        at=now,
        pools=pool_rows,
        namespaces=ns_rows,
        envs=env_rows,
        carbon_g_per_kwh_mean=intensity,
        reserved=reserved,
        reserved_gpu_hours=sum(r.gpu_hours for r in reserved),
    )


class _Held(BaseModel):
    requested: float = 0.0
    busy: float = 0.0
    power_w: float = 0.0
    serving_w: float = 0.0
    cost_per_hour: float = 0.0


def _held_by_namespace(nodes: Iterable[Node], config: CapacityConfig) -> dict[str, _Held]:
    held: dict[str, _Held] = defaultdict(_Held)
    for node in nodes:
        for gpu in node.gpus:
            for slot in gpu.slots:
                occ = slot.occupant
                if occ is None:
                    continue
                h = held[occ.namespace]
                watts = slot_power_w(gpu.type, slot.equivalents, occ.utilisation)
                h.requested += slot.equivalents
                h.busy += slot.equivalents * occ.utilisation
                h.power_w += watts
                h.serving_w += watts if occ.kind == "deployment" else 0.0
                h.cost_per_hour += slot.equivalents * config.price(gpu.type)
    return held


def _rps_by_pool(nodes: list[Node], deployments: list[Deployment]) -> dict[str, float]:
    pool_of = {n.name: n.pool for n in nodes}
    rps: dict[str, float] = defaultdict(float)
    for dep in deployments:
        if not dep.placements:
            continue
        share = dep.requests_per_s / len(dep.placements)
        for p in dep.placements:
            if p.node in pool_of:
                rps[pool_of[p.node]] += share
    return rps


def _usage(
    name: str,
    env: Environment | None,
    *,
    gpus: float,
    requested: float,
    busy: float,
    power_w: float,
    cost_per_hour: float,
    intensity: float,
    rps: float,
    serving_w: float,
) -> Usage:
    return Usage(
        name=name,
        env=env,
        gpus=gpus,
        requested=requested,
        busy=busy,
        idle_gpu_hours_per_day=max(gpus - busy, 0.0) * HOURS_PER_DAY,
        power_w=power_w,
        cost_per_day=cost_per_hour * HOURS_PER_DAY,
        kg_co2e_per_day=kwh(power_w, HOURS_PER_DAY) * intensity / 1000,
        requests_per_s=rps,
        j_per_1k_inferences=joules_per_1k_inferences(serving_w, rps),
    )


def _job_figures(jobs: list[Job], now: datetime) -> dict[str, object]:
    if not jobs:
        return {}
    waits = [
        ((j.started_at or now) - j.submitted_at).total_seconds() / 3600
        for j in jobs
        if j.status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED)
    ]
    finished = [j for j in jobs if j.status is JobStatus.SUCCEEDED]
    energies = [job_kwh(j) for j in finished]
    return {
        "jobs_queued": sum(j.status is JobStatus.QUEUED for j in jobs),
        "mean_queue_wait_h": sum(waits) / len(waits) if waits else None,
        "kwh_per_retrain": sum(energies) / len(energies) if energies else None,
    }


def job_kwh(job: Job) -> float:
    """Energy of a job over its run time (whole GPU requested at its utilisation)."""
    request = job.spec.gpu
    equivalents = 1.0
    if request.mig_profile:
        profile = GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile)
        equivalents = profile.compute_slices / 7
    watts = slot_power_w(request.gpu_type, equivalents, job.spec.utilisation)
    return kwh(watts, job.spec.duration_s / 3600)
