"""A scenario's declared world: named pipelines, models, pools, namespaces, deployments.

`world:` in a scenario file names exactly the part of the platform a scenario is about:
feature pipelines, registered models (tags, versions with metrics, lineage, change kind,
aliases), node pools (GPU type, MIG layout or time-slicing), namespaces (owner, quota,
identities), model servers (replicas, GPU, memory, traffic, last request), pre-existing
incidents and a carbon-intensity forecast. It is merged into the fleet generated from the
seed (the unnamed rest of the fleet), seeded once and cached per declaration.
"""

import hashlib
import math
from datetime import datetime, timedelta

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from evals.world_extras import IncidentDecl
from tools.capacity.energy import CarbonCurve
from tools.cluster.sim import ClusterSpec, PoolSpec
from tools.domain import (
    GPU_CATALOGUE,
    AiActRisk,
    ChangeKind,
    ChangePlan,
    Deployment,
    Environment,
    FeatureKind,
    FeaturePipeline,
    FeatureSpec,
    GpuRequest,
    GpuSharing,
    GpuType,
    Lineage,
    ModelTask,
    Namespace,
    NewModel,
    NewVersion,
    NodePool,
)
from tools.domain.gpus import MIG_COMPUTE_SLICES
from tools.domain.ownership import TRAINING_ENV, namespace_name, serving_namespace
from tools.errors import ConfigError
from tools.fleet.layout import (
    ENV_TAINT,
    IMAGE_REGISTRY,
    RETRAIN_QUOTA,
    SERVING_POOLS,
    gpu_request,
)
from tools.fleet.spec import FleetSpec, ModelPlan
from tools.policy import tags

NAME = r"^[a-z0-9][a-z0-9.-]*$"
DECL_VERSION = 2
"""Bump when merging a declaration changes in a way its key does not capture."""


class _Decl(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineDecl(_Decl):
    """A feature pipeline; a feature named `*_cat` is categorical (categories c0..c4)."""

    name: str = Field(pattern=NAME)
    owner: str
    source: str = "kafka://events"
    features: list[str] = Field(min_length=1, max_length=60)

    def spec(self) -> FeaturePipeline:
        """The pipeline as the fleet plan holds it (numeric moments fixed by the name)."""
        return FeaturePipeline(
            name=self.name,
            owner=self.owner,
            source=self.source,
            features=tuple(_feature(self.name, f) for f in self.features),
        )


def _feature(pipeline: str, name: str) -> FeatureSpec:
    if name.endswith("_cat"):
        return FeatureSpec(
            name=name, kind=FeatureKind.CATEGORICAL, categories=tuple(f"c{k}" for k in range(5))
        )
    digest = int(hashlib.sha1(f"{pipeline}/{name}".encode()).hexdigest()[:8], 16)
    return FeatureSpec(
        name=name, kind=FeatureKind.NUMERIC, mean=float(digest % 400), std=1.0 + digest % 40
    )


class VersionDecl(_Decl):
    """One model version: held-out metrics, lineage, change kind, description, tags."""

    metrics: dict[str, float] = Field(default_factory=dict)
    description: str = ""
    change_kind: ChangeKind | None = None
    """Stored as the `lotsen.change_kind` tag (what kind of change made this version)."""
    training_data: str = ""
    """The data sources the version was trained on (URIs)."""
    promoted_from: Environment | None = None
    parent_version: int | None = None
    code_version: str = ""
    run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    """Other version tags, exactly as stored (e.g. `lotsen.approval`, `lotsen.data_checks`)."""

    def spec(self) -> NewVersion:
        """The version as the registry logs it."""
        kind = {tags.CHANGE_KIND: self.change_kind.value} if self.change_kind else {}
        return NewVersion(
            metrics=self.metrics,
            description=self.description,
            tags={**self.tags, **kind},
            lineage=Lineage(
                run_id=self.run_id,
                training_data=self.training_data,
                parent_version=self.parent_version,
                code_version=self.code_version,
                promoted_from=self.promoted_from,
            ),
        )


class DeploymentDecl(_Decl):
    """The model server of a declared model (defaults: its env's serving pool, small)."""

    namespace: str | None = None
    """Default: `<owner>-<env>`."""
    replicas: int = Field(default=1, ge=0, le=64)
    gpu_type: GpuType | None = None
    sharing: GpuSharing | None = None
    mig_profile: str | None = None
    gpu_memory_gb: float | None = Field(default=None, gt=0)
    requests_per_s: float = Field(default=1.0, ge=0)
    gpu_utilisation: float = Field(default=0.3, ge=0, le=1)
    last_request_hours_ago: float = Field(default=0.0, ge=0)
    """Hours before the twin's clock; 0 = serving now."""
    p95_latency_ms: float = Field(default=40.0, gt=0)
    alias: str = "champion"

    def request(self, env: Environment) -> GpuRequest:
        """The GPU one replica asks for."""
        if self.gpu_type is None and self.sharing is None and self.mig_profile is None:
            return gpu_request(env, "s")
        pool = SERVING_POOLS[env]
        return GpuRequest(
            gpu_type=self.gpu_type or pool.gpu_type,
            sharing=self.sharing or pool.sharing,
            mig_profile=self.mig_profile,
        )


class ModelDecl(_Decl):
    """A registered model with exactly the given tags, versions and aliases."""

    name: str = Field(pattern=NAME)
    owner: str
    env: Environment
    pipeline: str
    risk: AiActRisk = AiActRisk.MINIMAL
    task: ModelTask = ModelTask.CLASSIFICATION
    description: str = ""
    change_plan: list[ChangeKind] | None = None
    """Changes the pre-determined change plan allows (None: no plan)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Model tags, e.g. `ai_act.inference_logging: "on"` (only these: nothing is added)."""
    versions: list[VersionDecl] = Field(min_length=1)
    aliases: dict[str, int] = Field(default_factory=lambda: {"champion": 1})
    deployment: DeploymentDecl | None = Field(default_factory=DeploymentDecl)
    """None: registered but not served."""

    @field_validator("aliases")
    @classmethod
    def _aliases_name_versions(
        cls, aliases: dict[str, int], info: ValidationInfo
    ) -> dict[str, int]:
        if "champion" not in aliases:
            raise ValueError("aliases needs `champion`")
        count = len(info.data.get("versions", []))
        bad = {a: v for a, v in aliases.items() if not 1 <= v <= count}
        if bad:
            raise ValueError(f"aliases point at versions that are not declared: {bad}")
        return aliases


class PoolDecl(NodePool):
    """A node pool and how many nodes it has (replaces a generated pool of the same name)."""

    size: int = Field(ge=1, le=64)


class WorldDecl(_Decl):
    """The named part of a scenario's world (the rest is generated from the seed)."""

    pipelines: list[PipelineDecl] = Field(default_factory=list)
    models: list[ModelDecl] = Field(default_factory=list)
    pools: list[PoolDecl] = Field(default_factory=list)
    namespaces: list[Namespace] = Field(default_factory=list)
    """Replace generated namespaces of the same name; declared servers' are added."""
    incidents: list[IncidentDecl] = Field(default_factory=list)
    carbon_forecast: list[float] | None = None
    """24 hourly gCO2e/kWh values for hours 0..23 UTC."""

    @model_validator(mode="after")
    def _check(self) -> "WorldDecl":
        if self.carbon_forecast is not None:
            try:
                CarbonCurve(g_per_kwh=tuple(self.carbon_forecast))
            except ValidationError:
                raise ValueError(
                    "carbon_forecast needs 24 finite non-negative gCO2e/kWh values (hours 0..23 "
                    f"UTC), got {len(self.carbon_forecast)}"
                ) from None
        for kind, names in (
            ("model", [m.name for m in self.models]),
            ("pipeline", [p.name for p in self.pipelines]),
            ("pool", [p.name for p in self.pools]),
            ("namespace", [n.name for n in self.namespaces]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{kind} declared twice: {', '.join(twice)}")
        return self

    def key(self) -> str:
        """What makes two declarations the same world (for the cache)."""
        text = f"{DECL_VERSION}:{self.model_dump_json()}"
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    @property
    def needs_seeding(self) -> bool:
        """Whether the base world itself changes (else only post-copy steps apply)."""
        return bool(self.pipelines or self.models or self.pools or self.namespaces)


def declared_fleet(base: FleetSpec, decl: WorldDecl) -> FleetSpec:
    """The generated fleet with the declared pipelines, models and cluster objects merged in.

    Raises:
        ConfigError: a declared name clashes with a generated one, or names an unknown
            pipeline.
    """
    pipelines = {p.name: p for p in base.pipelines}
    for p in decl.pipelines:
        if p.name in pipelines:
            raise ConfigError(f"world.pipelines: {p.name} is a generated pipeline's name")
        pipelines[p.name] = p.spec()
    generated = {p.model.name for p in base.models}
    plans = list(base.models)
    cluster = base.cluster
    start = cluster.start
    added: list[Deployment] = []
    for m in decl.models:
        if m.name in generated:
            raise ConfigError(f"world.models: {m.name} is a generated model's name")
        if m.pipeline not in pipelines:
            raise ConfigError(f"world.models: {m.name}: unknown pipeline {m.pipeline!r}")
        plan = _plan(m, pipelines[m.pipeline])
        plans.append(plan)
        if m.deployment is not None:
            added.append(_deployment(m, plan, start))
    return base.model_copy(
        update={
            "pipelines": tuple(pipelines.values()),
            "models": tuple(plans),
            "cluster": _cluster(cluster, added, decl),
        }
    )


def _cluster(cluster: ClusterSpec, added: list[Deployment], decl: WorldDecl) -> ClusterSpec:
    """Pools and namespaces with room for the declared servers, then the declared ones."""
    pools = {p.pool.name: p for p in cluster.pools}
    for dep in added:  # room for declared servers in the generated pools
        pool = next(p for p in pools.values() if p.pool.env is dep.env)
        pools[pool.pool.name] = pool.model_copy(update={"size": pool.size + 1})
    for pd in decl.pools:
        pools[pd.name] = PoolSpec(pool=NodePool(**pd.model_dump(exclude={"size"})), size=pd.size)
    namespaces = {n.name: n for n in cluster.namespaces}
    for dep in added:
        owner = next(m.owner for m in decl.models if m.name == dep.model)
        need = _equivalents(dep.gpu) * dep.replicas
        _ensure_namespace(namespaces, dep.namespace, dep.env, owner, need, cluster.start)
    for m in decl.models:  # where its retraining jobs run
        name = namespace_name(m.owner, TRAINING_ENV)
        _ensure_namespace(namespaces, name, TRAINING_ENV, m.owner, 0.0, cluster.start)
    for n in decl.namespaces:
        namespaces[n.name] = n
    return cluster.model_copy(
        update={
            "pools": list(pools.values()),
            "namespaces": sorted(namespaces.values(), key=lambda n: n.name),
            "deployments": [*cluster.deployments, *added],
        }
    )


def _plan(m: ModelDecl, pipeline: FeaturePipeline) -> ModelPlan:
    features = ",".join(sorted(f.name for f in pipeline.features))
    model = NewModel(
        name=m.name,
        owner=m.owner,
        env=m.env,
        pipeline=m.pipeline,
        description=m.description,
        task=m.task,
        ai_act_risk=m.risk,
        change_plan=ChangePlan(allowed=tuple(m.change_plan)) if m.change_plan else None,
        tags={"features": features, "size": "s", **m.tags},
    )
    versions = []
    for number, v in enumerate(m.versions, start=1):
        if v.parent_version is None and number > 1:
            v = v.model_copy(update={"parent_version": number - 1})
        versions.append(v.spec())
    return ModelPlan(
        model=model,
        versions=tuple(versions),
        champion=m.aliases["champion"],
        challenger=m.aliases.get("challenger"),
    )


def _deployment(m: ModelDecl, plan: ModelPlan, start: datetime) -> Deployment:
    d = m.deployment
    assert d is not None
    version = m.aliases.get(d.alias, plan.champion)
    return Deployment(
        namespace=d.namespace or serving_namespace(plan.model) or f"{m.owner}-{m.env.value}",
        name=m.name,
        model=m.name,
        model_version=version,
        alias=d.alias,
        image=f"{IMAGE_REGISTRY}/{m.env.value}/models/{m.name}:v{version}",
        env=m.env,
        replicas=d.replicas,
        gpu=d.request(m.env),
        gpu_memory_gb=d.gpu_memory_gb,
        tolerations=[ENV_TAINT],
        requests_per_s=d.requests_per_s,
        p95_latency_ms=d.p95_latency_ms,
        base_latency_ms=d.p95_latency_ms,
        last_request_at=start - timedelta(hours=d.last_request_hours_ago),
        gpu_utilisation=d.gpu_utilisation,
    )


def _equivalents(request: GpuRequest) -> float:
    if request.sharing is GpuSharing.MIG and request.mig_profile:
        profile = GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile)
        return profile.compute_slices / MIG_COMPUTE_SLICES
    if request.sharing is GpuSharing.TIME_SLICED:
        return 1.0 / max(1, SERVING_POOLS[Environment.DEV].time_slice_replicas)
    return 1.0


def _ensure_namespace(
    namespaces: dict[str, Namespace],
    name: str,
    env: Environment,
    owner: str,
    need: float,
    start: datetime,
) -> None:
    """A declared server's (or team's training) namespace exists, with quota for it.

    Created as the generator creates a team's namespace (labels, default deny, reviewed),
    with room for `need` GPU-equivalents (and retraining jobs in test).
    """
    extra = RETRAIN_QUOTA if env is Environment.TEST else 0.0
    have = namespaces.get(name)
    if have is None:
        namespaces[name] = Namespace(
            name=name,
            env=env,
            owner=owner,
            labels={"env": env.value, "owner": owner, "lotsen.io/managed": "true"},
            gpu_quota=math.ceil((need * 1.25 + 0.5) * 2) / 2 + extra,
            network_default_deny=True,
            ingress_from=[env.value],
            access_reviewed_at=start - timedelta(days=30),
        )
    elif have.gpu_quota is not None and need:
        namespaces[name] = have.model_copy(
            update={"gpu_quota": math.ceil((have.gpu_quota + need) * 2) / 2}
        )
