"""Read-only facts the assistant answers from (tier-0 intents and LLM tools share them).

Each function reads the world through a `FleetView` and returns a pydantic model with
exact values; nothing here changes anything.
"""

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from agents.assistant.context import FleetView
from tools.capacity.idle import DAY, idle_for
from tools.capacity.idle import idle_deployments as idle_deployments_of
from tools.domain import AiActRisk, AliasChange, Environment
from tools.domain.ownership import pipeline_owner
from tools.policy.tags import CHANGE_KIND
from tools.registry import CHALLENGER, CHAMPION


class OwnerFacts(BaseModel):
    """Who is accountable for a model."""

    model: str
    owner: str
    env: Environment | None
    """None when the model's env tag is missing or unknown."""
    pipeline: str
    pipeline_owner: str | None
    namespaces: list[str]
    """Namespaces where the model is deployed."""


class PipelineFacts(BaseModel):
    """Models fed by one feature pipeline."""

    pipeline: str
    owner: str | None
    models: list[str]
    count: int


class VersionInfo(BaseModel):
    """One model version behind an alias."""

    version: int
    metrics: dict[str, float]
    created_at: datetime
    training_data: str
    promoted_from: Environment | None = None
    """Where the version was validated before reaching its environment (lineage)."""
    change_kind: str | None = None
    description: str = ""


class VersionFacts(BaseModel):
    """Champion and challenger of a model."""

    model: str
    champion: VersionInfo | None
    challenger: VersionInfo | None
    versions: int
    """How many versions the model has."""


class RiskFacts(BaseModel):
    """Models in the EU AI Act high-risk class."""

    team: str | None
    env: Environment | None
    models: list[str]
    count: int


class PoolFacts(BaseModel):
    """GPU allocation, use and free capacity of one pool (GPU-equivalents)."""

    pool: str
    env: Environment
    gpu_type: str
    capacity: float
    allocated: float
    free: float
    """capacity - allocated."""
    busy: float | None
    idle_allocated: float | None
    """Allocated but not busy (allocated - busy)."""
    nodes_ready: int
    nodes_total: int


class GpuFacts(BaseModel):
    """GPU capacity per pool, with totals over the pools shown."""

    env: Environment | None
    pools: list[PoolFacts]
    capacity: float
    allocated: float
    free: float


class IdleDeployment(BaseModel):
    """An idle deployment (`tools.capacity.idle.is_idle`): replicas, no recent request."""

    namespace: str
    name: str
    model: str
    env: Environment
    replicas: int
    last_request_at: datetime
    idle_days: float
    """Days since its last request (known: an unknown last request is never idle)."""


class IdleFacts(BaseModel):
    """Deployments idle for at least `days` days (by the cluster clock)."""

    days: float
    scale_to_zero_days: float
    """The configured scale-to-zero threshold (`days` unless the question named a span)."""
    env: Environment | None
    at: datetime
    deployments: list[IdleDeployment]
    count: int


class QuotaFacts(BaseModel):
    """One namespace's GPU quota and use."""

    namespace: str
    env: Environment | None
    owner: str | None
    gpu_quota: float | None
    gpu_used: float
    free: float | None
    over_quota: bool


class ServingFacts(BaseModel):
    """One deployment: what it serves and how."""

    namespace: str
    name: str
    model: str
    version: int
    env: Environment
    replicas: int
    ready: int
    requests_per_s: float
    p95_latency_ms: float
    gpu: str
    """GPU type and slice: `H100-80GB 2g.20gb`, `L4-24GB time-sliced`."""
    nodes: list[str] = Field(default_factory=list)


class ChangeFacts(BaseModel):
    """What changed for a model: alias moves, audit records, jobs, deployment drift."""

    model: str
    since: datetime | None
    alias_moves: list[AliasChange]
    audit: list[dict[str, str | int | None]] = Field(default_factory=list)
    jobs: list[dict[str, str]] = Field(default_factory=list)
    serving_versions: dict[str, int] = Field(default_factory=dict)
    """Deployment (namespace/name) -> version it serves."""
    champion: int | None


def owner_of(view: FleetView, model: str) -> OwnerFacts:
    """The model's owning team, pipeline and where it is deployed."""
    m = view.models[model]
    return OwnerFacts(
        model=model,
        owner=m.owner,
        env=m.env,
        pipeline=m.pipeline,
        pipeline_owner=pipeline_owner(m.pipeline, view.ctx.pipelines),
        namespaces=sorted({d.namespace for d in view.deployments if d.model == model}),
    )


def pipeline_models(view: FleetView, pipeline: str) -> PipelineFacts:
    """Models whose features come from `pipeline`."""
    models = sorted(m.name for m in view.models.values() if m.pipeline == pipeline)
    return PipelineFacts(
        pipeline=pipeline,
        owner=pipeline_owner(pipeline, view.ctx.pipelines),
        models=models,
        count=len(models),
    )


def versions_of(view: FleetView, model: str) -> VersionFacts:
    """Champion and challenger versions of a model with their held-out metrics."""
    versions = {v.version: v for v in view.ctx.registry.list_versions(model)}
    aliases = view.models[model].aliases

    def info(alias: str) -> VersionInfo | None:
        v = versions.get(aliases[alias]) if alias in aliases else None
        if v is None:
            return None
        return VersionInfo(
            version=v.version,
            metrics=v.metrics,
            created_at=v.created_at,
            training_data=v.lineage.training_data,
            promoted_from=v.lineage.promoted_from,
            change_kind=v.tags.get(CHANGE_KIND),
            description=v.description,
        )

    return VersionFacts(
        model=model, champion=info(CHAMPION), challenger=info(CHALLENGER), versions=len(versions)
    )


def high_risk(view: FleetView, team: str | None, env: Environment | None) -> RiskFacts:
    """Models tagged `ai_act_risk=high`, optionally of one team or environment."""
    models = sorted(
        m.name
        for m in view.models.values()
        if m.ai_act_risk is AiActRisk.HIGH
        and (team is None or m.owner == team)
        and (env is None or m.env is env)
    )
    return RiskFacts(team=team, env=env, models=models, count=len(models))


def gpu_capacity(view: FleetView, env: Environment | None, pools: list[str]) -> GpuFacts:
    """Capacity, allocation, use and free GPU-equivalents per pool."""
    rows = [
        PoolFacts(
            pool=p.pool,
            env=p.env,
            gpu_type=p.gpu_type.value,
            capacity=round(p.capacity, 3),
            allocated=round(p.allocated, 3),
            free=round(p.capacity - p.allocated, 3),
            busy=None if p.busy is None else round(p.busy, 3),
            idle_allocated=None if p.busy is None else round(p.allocated - p.busy, 3),
            nodes_ready=p.nodes_ready,
            nodes_total=p.nodes_total,
        )
        for p in view.pools
        if (env is None or p.env is env) and (not pools or p.pool in pools)
    ]
    return GpuFacts(
        env=env,
        pools=rows,
        capacity=round(sum(r.capacity for r in rows), 3),
        allocated=round(sum(r.allocated for r in rows), 3),
        free=round(sum(r.free for r in rows), 3),
    )


def idle_deployments(view: FleetView, days: float | None, env: Environment | None) -> IdleFacts:
    """Idle deployments (`is_idle`) for `days` days (default: the scale-to-zero threshold)."""
    threshold = view.ctx.capacity.idle_days
    span = threshold if days is None else days
    now = view.ctx.cluster.now()
    idle = []
    for d in idle_deployments_of(view.deployments, now, span):
        quiet = idle_for(d, now)
        assert quiet is not None and d.last_request_at is not None, "idle: a known request"
        if env is None or d.env is env:
            idle.append(
                IdleDeployment(
                    namespace=d.namespace,
                    name=d.name,
                    model=d.model,
                    env=d.env,
                    replicas=d.replicas,
                    last_request_at=d.last_request_at,
                    idle_days=round(quiet / DAY, 1),
                )
            )
    idle.sort(key=lambda d: (d.namespace, d.name))
    return IdleFacts(
        days=span, scale_to_zero_days=threshold, env=env, at=now, deployments=idle, count=len(idle)
    )


def quotas(
    view: FleetView, namespaces: list[str], env: Environment | None, team: str | None
) -> list[QuotaFacts]:
    """GPU quota and use of namespaces (all, or those named / of one env or team)."""
    return [
        QuotaFacts(
            namespace=ns.name,
            env=ns.env,
            owner=ns.owner,
            gpu_quota=ns.gpu_quota,
            gpu_used=round(ns.gpu_used, 3),
            free=None if ns.gpu_quota is None else round(ns.gpu_quota - ns.gpu_used, 3),
            over_quota=ns.gpu_quota is not None and ns.gpu_used > ns.gpu_quota + 1e-9,
        )
        for ns in view.namespaces
        if (not namespaces or ns.name in namespaces)
        and (env is None or ns.env is env)
        and (team is None or ns.owner == team)
    ]


def serving(
    view: FleetView, namespaces: list[str], env: Environment | None, models: list[str]
) -> list[ServingFacts]:
    """Deployments (all, or of some namespaces / an environment / some models)."""
    return [
        ServingFacts(
            namespace=d.namespace,
            name=d.name,
            model=d.model,
            version=d.model_version,
            env=d.env,
            replicas=d.replicas,
            ready=d.ready_replicas,
            requests_per_s=d.requests_per_s,
            p95_latency_ms=d.p95_latency_ms,
            gpu=f"{d.gpu.gpu_type.value} {d.gpu.mig_profile or d.gpu.sharing.value}",
            nodes=sorted({p.node for p in d.placements}),
        )
        for d in sorted(view.deployments, key=lambda d: (d.namespace, d.name))
        if (not namespaces or d.namespace in namespaces)
        and (env is None or d.env is env)
        and (not models or d.model in models)
    ]


def recent_changes(view: FleetView, model: str, days: int | None) -> ChangeFacts:
    """Alias moves, audit records and jobs of a model (within `days` days, if given)."""
    ctx = view.ctx
    since = ctx.clock() - timedelta(days=days) if days is not None else None
    moves = [c for c in ctx.registry.alias_history(model) if since is None or c.at >= since]
    audit = []
    if ctx.audit is not None:
        audit = [
            {
                "seq": r.seq,
                "at": r.at.isoformat(),
                "kind": r.kind,
                "actor": r.actor,
                "incident": r.incident,
            }
            for r in ctx.audit.records(model=model)
            if since is None or r.at >= since
        ]
    jobs = [
        {"id": j.id, "status": j.status.value, "namespace": j.spec.namespace}
        for j in ctx.cluster.jobs()
        if j.spec.model == model
    ]
    return ChangeFacts(
        model=model,
        since=since,
        alias_moves=moves[-10:],
        audit=audit[-10:],
        jobs=jobs,
        serving_versions={
            f"{d.namespace}/{d.name}": d.model_version for d in view.deployments if d.model == model
        },
        champion=view.models[model].aliases.get(CHAMPION),
    )
