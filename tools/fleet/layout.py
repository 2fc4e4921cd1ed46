"""Lay a planned fleet onto a GPU cluster: pools sized to the load, namespaces, deployments.

prod serves on MIG-partitioned H100s, test on MIG A100s plus an exclusive A100 training
pool, dev on time-sliced L4s. Pools get ~30% headroom so that faults and retraining jobs
have somewhere to go, and so that capacity planning has idle GPUs to find.
"""

import math
import random
import zlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tools.cluster.sim import ClusterSpec, PoolSpec
from tools.domain import (
    Deployment,
    Environment,
    GpuRequest,
    GpuSharing,
    GpuType,
    Namespace,
    NodePool,
    Taint,
)
from tools.domain.gpus import GPU_CATALOGUE, MIG_COMPUTE_SLICES
from tools.domain.ownership import TRAINING_ENV, namespace_name, serving_namespace

if TYPE_CHECKING:
    from tools.fleet.spec import ModelPlan

ENV_TAINT = "lotsen.io/env"
TRAINING_TAINT = "lotsen.io/training"
HEADROOM = 1.3

SERVING_POOLS = {
    Environment.PROD: NodePool(
        name="prod-h100-mig",
        env=Environment.PROD,
        gpu_type=GpuType.H100,
        gpus_per_node=8,
        sharing=GpuSharing.MIG,
        mig_layout=("3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"),
        taints=[Taint(key=ENV_TAINT, value="prod")],
    ),
    Environment.TEST: NodePool(
        name="test-a100-mig",
        env=Environment.TEST,
        gpu_type=GpuType.A100,
        gpus_per_node=8,
        sharing=GpuSharing.MIG,
        mig_layout=("3g.40gb", "2g.20gb", "2g.20gb"),
        taints=[Taint(key=ENV_TAINT, value="test")],
    ),
    Environment.DEV: NodePool(
        name="dev-l4-shared",
        env=Environment.DEV,
        gpu_type=GpuType.L4,
        gpus_per_node=4,
        sharing=GpuSharing.TIME_SLICED,
        time_slice_replicas=4,
    ),
}
TRAINING_POOL = NodePool(
    name="test-a100-train",
    env=Environment.TEST,
    gpu_type=GpuType.A100,
    gpus_per_node=4,
    sharing=GpuSharing.EXCLUSIVE,
    taints=[Taint(key=ENV_TAINT, value="test"), Taint(key=TRAINING_TAINT, value="true")],
)
TRAINING_REQUEST = GpuRequest(gpu_type=GpuType.A100, sharing=GpuSharing.EXCLUSIVE)
IMAGE_REGISTRY = "registry.lotsen.internal"
"""Images live under `<registry>/<env>/models/<model>:v<version>`."""
RETRAIN_QUOTA = 2.0
"""Extra GPU quota of every test namespace, for retraining jobs."""

_PROFILE_BY_SIZE = {
    Environment.PROD: {"s": "1g.10gb", "m": "2g.20gb", "l": "3g.40gb"},
    Environment.TEST: {"s": "2g.20gb", "m": "2g.20gb", "l": "3g.40gb"},
}
_RPS_PER_REPLICA = {"s": 80.0, "m": 160.0, "l": 320.0}
_GPU_MEMORY_GB = {"s": 6.0, "m": 9.0, "l": 18.0}
"""GPU memory one replica needs (weights + KV cache); the profile is chosen for compute."""
_LATENCY_MS = {"s": (12.0, 60.0), "m": (40.0, 140.0), "l": (90.0, 300.0)}


def gpu_request(env: Environment, size: str) -> GpuRequest:
    """What one replica of a model of this size asks for in this environment."""
    pool = SERVING_POOLS[env]
    if pool.sharing is GpuSharing.MIG:
        return GpuRequest(
            gpu_type=pool.gpu_type, sharing=GpuSharing.MIG, mig_profile=_PROFILE_BY_SIZE[env][size]
        )
    return GpuRequest(gpu_type=pool.gpu_type, sharing=pool.sharing)


def plan_cluster(
    rng: random.Random, plans: "list[ModelPlan]", seed: int, start: datetime
) -> ClusterSpec:
    """Pools, namespaces and deployments for the planned models."""
    deployments = [_deployment(rng, plan, start) for plan in plans]
    return ClusterSpec(
        seed=seed,
        start=start,
        pools=[*_size_pools(deployments), PoolSpec(pool=TRAINING_POOL, size=2)],
        namespaces=_namespaces(plans, deployments, start),
        deployments=deployments,
    )


def _deployment(rng: random.Random, plan: "ModelPlan", start: datetime) -> Deployment:
    model, env = plan.model, plan.model.env
    size = model.tags.get("size", "s")
    rps = _traffic(rng, env)
    replicas = (
        1
        if env is not Environment.PROD
        else max(1, min(3, math.ceil(rps / _RPS_PER_REPLICA[size])))
    )
    idle_since = start - timedelta(days=rng.randint(8, 45), hours=rng.randint(0, 23))
    low, high = _LATENCY_MS[size]
    latency = round(rng.uniform(low, high), 1)
    return Deployment(
        image=f"{IMAGE_REGISTRY}/{env.value}/models/{model.name}:v{plan.champion}",
        namespace=serving_namespace(model),
        name=model.name,
        model=model.name,
        model_version=plan.champion,
        env=env,
        replicas=replicas,
        gpu=gpu_request(env, size),
        gpu_memory_gb=_GPU_MEMORY_GB[size],
        tolerations=[ENV_TAINT],
        requests_per_s=rps,
        p95_latency_ms=latency,
        base_latency_ms=latency,
        last_request_at=start if rps > 0 else idle_since,
        gpu_utilisation=round(min(0.95, rps / (_RPS_PER_REPLICA[size] * replicas)), 3),
    )


def _traffic(rng: random.Random, env: Environment) -> float:
    idle_share = {Environment.PROD: 0.08, Environment.TEST: 0.3, Environment.DEV: 0.7}[env]
    if rng.random() < idle_share:
        return 0.0
    if env is Environment.PROD:
        return round(min(900.0, rng.lognormvariate(3.2, 1.1)), 2)
    return round(rng.uniform(0.2, 5.0), 2)


def _size_pools(deployments: list[Deployment]) -> list[PoolSpec]:
    need: dict[Environment, Counter[str]] = defaultdict(Counter)
    for dep in deployments:
        need[dep.env][dep.gpu.slot_label()] += dep.replicas
    specs = []
    for env, pool in SERVING_POOLS.items():
        per_node = _slots_per_node(pool)
        nodes = max((math.ceil(n / per_node[label]) for label, n in need[env].items()), default=0)
        specs.append(PoolSpec(pool=pool, size=math.ceil(nodes * HEADROOM) + 1))
    return specs


def _slots_per_node(pool: NodePool) -> Counter[str]:
    if pool.sharing is GpuSharing.MIG:
        return Counter(
            {f"mig-{p}": pool.gpus_per_node * n for p, n in Counter(pool.mig_layout).items()}
        )
    if pool.sharing is GpuSharing.TIME_SLICED:
        return Counter({"shared": pool.gpus_per_node * pool.time_slice_replicas})
    return Counter({"whole": pool.gpus_per_node})


def _equivalents(request: GpuRequest) -> float:
    if request.sharing is GpuSharing.MIG and request.mig_profile:
        spec = GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile)
        return spec.compute_slices / MIG_COMPUTE_SLICES
    if request.sharing is GpuSharing.TIME_SLICED:
        return 1.0 / SERVING_POOLS[Environment.DEV].time_slice_replicas
    return 1.0


def _namespaces(
    plans: "list[ModelPlan]", deployments: list[Deployment], start: datetime
) -> list[Namespace]:
    used: dict[str, float] = defaultdict(float)
    owners: dict[str, tuple[str, Environment]] = {}
    for plan, dep in zip(plans, deployments, strict=True):
        used[dep.namespace] += _equivalents(dep.gpu) * dep.replicas
        owners[dep.namespace] = (plan.model.owner, dep.env)
    for team in sorted({team for team, _ in owners.values()}):
        owners.setdefault(namespace_name(team, TRAINING_ENV), (team, TRAINING_ENV))
    namespaces = []
    for name, (team, env) in sorted(owners.items()):
        extra = RETRAIN_QUOTA if env is Environment.TEST else 0.0
        quota = math.ceil((used[name] * 1.25 + 0.5) * 2) / 2 + extra
        labels = {"env": env.value, "owner": team, "lotsen.io/managed": "true"}
        namespaces.append(
            Namespace(
                name=name,
                env=env,
                owner=team,
                labels=labels,
                gpu_quota=quota,
                identities=[f"wi://{name}@lotsen"],
                network_default_deny=True,
                ingress_from=[env.value],
                access_reviewed_at=start - timedelta(days=20 + zlib.crc32(name.encode()) % 300),
            )
        )
    return namespaces
