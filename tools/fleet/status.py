"""A fleet-wide summary: models per environment, GPU allocation versus use, workloads."""

from collections import Counter
from datetime import datetime

from pydantic import BaseModel

from tools.capacity.energy import CapacityConfig
from tools.capacity.idle import is_idle
from tools.cluster.protocol import Cluster
from tools.domain import AiActRisk, Environment, JobStatus, PoolUsage
from tools.registry import CHALLENGER, CHAMPION, ModelRegistry


class EnvSummary(BaseModel):
    """Models and deployments of one environment."""

    env: Environment
    models: int
    high_risk: int
    with_challenger: int
    without_champion: int
    deployments: int
    replicas_desired: int
    replicas_ready: int
    idle_deployments: int
    """Idle by `tools.capacity.idle.is_idle` (replicas, no request for `idle_days`)."""
    requests_per_s: float


class FleetStatus(BaseModel):
    """What `lotsen fleet status` shows."""

    at: datetime
    """Cluster clock."""
    idle_days: float
    """The scale-to-zero threshold the idle counts use."""
    envs: list[EnvSummary]
    unknown_env_models: int = 0
    """Models whose env tag is missing or not understood (the gate treats them as prod)."""
    pools: list[PoolUsage]
    namespaces: int
    namespaces_over_quota: int
    jobs: dict[str, int]
    """Job count per status."""


def fleet_status(
    registry: ModelRegistry, cluster: Cluster, capacity: CapacityConfig | None = None
) -> FleetStatus:
    """Summarise the fleet from the registry and the cluster.

    Args:
        registry: The model registry.
        cluster: The cluster (its clock dates the summary).
        capacity: The capacity planner's config from settings, whose `idle_days` decides
            what counts as idle; None = its defaults.
    """
    idle_days = (capacity or CapacityConfig()).idle_days
    now = cluster.now()
    models = registry.list_models()
    deployments = cluster.deployments()
    namespaces = cluster.namespaces()
    envs = []
    for env in Environment:
        env_models = [m for m in models if m.env is env]
        env_deps = [d for d in deployments if d.env is env]
        envs.append(
            EnvSummary(
                env=env,
                models=len(env_models),
                high_risk=sum(m.ai_act_risk is AiActRisk.HIGH for m in env_models),
                with_challenger=sum(CHALLENGER in m.aliases for m in env_models),
                without_champion=sum(CHAMPION not in m.aliases for m in env_models),
                deployments=len(env_deps),
                replicas_desired=sum(d.replicas for d in env_deps),
                replicas_ready=sum(d.ready_replicas for d in env_deps),
                idle_deployments=sum(is_idle(d, now, idle_days) for d in env_deps),
                requests_per_s=round(sum(d.requests_per_s for d in env_deps), 1),
            )
        )
    jobs = Counter(job.status.value for job in cluster.jobs())
    return FleetStatus(
        at=now,
        idle_days=idle_days,
        envs=envs,
        unknown_env_models=sum(m.env is None for m in models),
        pools=cluster.pool_usage(),
        namespaces=len(namespaces),
        namespaces_over_quota=sum(
            ns.gpu_quota is not None and ns.gpu_used > ns.gpu_quota + 1e-9 for ns in namespaces
        ),
        jobs={status.value: jobs.get(status.value, 0) for status in JobStatus},
    )
