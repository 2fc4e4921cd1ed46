"""Small hand-made twins whose exact behaviour tests can predict."""

from datetime import UTC, datetime

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

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
ENV_TAINT = "lotsen.io/env"
MIG_LAYOUT = ("3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb")


def mig_request(profile: str) -> GpuRequest:
    """An H100 MIG slice."""
    return GpuRequest(gpu_type=GpuType.H100, sharing=GpuSharing.MIG, mig_profile=profile)


A100 = GpuRequest(gpu_type=GpuType.A100, sharing=GpuSharing.EXCLUSIVE)
L4_SHARED = GpuRequest(gpu_type=GpuType.L4, sharing=GpuSharing.TIME_SLICED)


def deployment(
    name: str, namespace: str, env: Environment, gpu: GpuRequest, replicas: int = 1, **extra: object
) -> Deployment:
    """A model server tolerating its environment's taint."""
    fields: dict[str, object] = {
        "namespace": namespace,
        "name": name,
        "model": name,
        "model_version": 1,
        "env": env,
        "replicas": replicas,
        "gpu": gpu,
        "tolerations": [ENV_TAINT],
        "requests_per_s": 10.0,
        "base_latency_ms": 50.0,
        "p95_latency_ms": 50.0,
        "gpu_utilisation": 0.5,
        "last_request_at": START,
    }
    fields.update(extra)
    return Deployment.model_validate(fields)


def tiny_spec(deployments: list[Deployment] | None = None, prod_nodes: int = 2) -> ClusterSpec:
    """prod: H100 MIG nodes x2 GPUs (tainted); test: one A100 node x2 whole GPUs; dev: one
    L4 time-sliced x4. Namespaces: growth-prod (quota 4), growth-test (quota 2), growth-dev.
    """
    return ClusterSpec(
        seed=1,
        start=START,
        pools=[
            PoolSpec(
                size=prod_nodes,
                pool=NodePool(
                    name="prod-h100",
                    env=Environment.PROD,
                    gpu_type=GpuType.H100,
                    gpus_per_node=2,
                    sharing=GpuSharing.MIG,
                    mig_layout=MIG_LAYOUT,
                    taints=[Taint(key=ENV_TAINT, value="prod")],
                ),
            ),
            PoolSpec(
                size=1,
                pool=NodePool(
                    name="test-a100",
                    env=Environment.TEST,
                    gpu_type=GpuType.A100,
                    gpus_per_node=2,
                    sharing=GpuSharing.EXCLUSIVE,
                    taints=[Taint(key=ENV_TAINT, value="test")],
                ),
            ),
            PoolSpec(
                size=1,
                pool=NodePool(
                    name="dev-l4",
                    env=Environment.DEV,
                    gpu_type=GpuType.L4,
                    gpus_per_node=1,
                    sharing=GpuSharing.TIME_SLICED,
                    time_slice_replicas=4,
                ),
            ),
        ],
        namespaces=[
            Namespace(name="growth-prod", env=Environment.PROD, owner="growth", gpu_quota=4.0),
            Namespace(name="growth-test", env=Environment.TEST, owner="growth", gpu_quota=2.0),
            Namespace(name="growth-dev", env=Environment.DEV, owner="growth", gpu_quota=None),
        ],
        deployments=deployments or [],
    )
