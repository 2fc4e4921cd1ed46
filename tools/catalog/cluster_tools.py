"""Tools over the cluster."""

from pydantic import BaseModel, Field

from tools.capacity.idle import is_idle
from tools.catalog.context import ToolContext
from tools.domain import Environment, GpuRequest, GpuType, JobSpec, JobStatus
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool


class DeploymentsArgs(BaseModel):
    """Filters for list_deployments."""

    namespace: str | None = Field(default=None, description="Only this namespace.")
    env: Environment | None = Field(default=None, description="Only this environment.")
    idle_only: bool = Field(
        default=False,
        description="Only idle deployments: replicas but no request for the configured "
        "scale-to-zero days (an unknown last request is not idle).",
    )


@tool()
def list_deployments(ctx: ToolContext, args: DeploymentsArgs) -> ToolResult:
    """List model deployments: version, GPU profile, replicas, traffic, latency, idle or not."""
    now, idle_days = ctx.cluster.now(), ctx.capacity.idle_days
    rows = []
    for d in ctx.cluster.deployments(args.namespace):
        idle = is_idle(d, now, idle_days)
        if (args.env is not None and d.env is not args.env) or (args.idle_only and not idle):
            continue
        rows.append(
            {
                "namespace": d.namespace,
                "name": d.name,
                "model": d.model,
                "version": d.model_version,
                "env": d.env.value,
                "gpu": d.gpu.mig_profile or d.gpu.sharing.value,
                "gpu_type": d.gpu.gpu_type.value,
                "replicas": d.replicas,
                "ready": d.ready_replicas,
                "requests_per_s": d.requests_per_s,
                "p95_latency_ms": d.p95_latency_ms,
                "last_request_at": d.last_request_at.isoformat() if d.last_request_at else None,
                "idle": idle,
            }
        )
    return ToolResult.ok(rows) if rows else ToolResult.empty("no deployment matches")


class DeploymentArgs(BaseModel):
    """One deployment."""

    namespace: str = Field(description="Namespace, e.g. growth-prod.")
    name: str = Field(description="Deployment name (usually the model name).")


@tool()
def get_deployment(ctx: ToolContext, args: DeploymentArgs) -> ToolResult:
    """Show one deployment with its placements on nodes and GPUs."""
    return ToolResult.ok(ctx.cluster.deployment(args.namespace, args.name).model_dump(mode="json"))


class NoArgs(BaseModel):
    """No arguments."""


@tool()
def gpu_usage(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """Show GPU allocation versus use per node pool (GPU-equivalents), power and energy."""
    return ToolResult.ok([u.model_dump(mode="json") for u in ctx.cluster.pool_usage()])


@tool()
def namespace_quotas(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """Show every namespace with its environment, owner, GPU quota and GPU use."""
    return ToolResult.ok(
        [
            {
                "name": ns.name,
                "env": ns.env,
                "owner": ns.owner,
                "gpu_quota": ns.gpu_quota,
                "gpu_used": round(ns.gpu_used, 3),
            }
            for ns in ctx.cluster.namespaces()
        ]
    )


class JobsArgs(BaseModel):
    """Filters for list_jobs."""

    namespace: str | None = Field(default=None, description="Only this namespace.")
    status: JobStatus | None = Field(default=None, description="Only jobs in this state.")


@tool()
def list_jobs(ctx: ToolContext, args: JobsArgs) -> ToolResult:
    """List retraining jobs: status, where they run, or why they wait."""
    jobs = [j for j in ctx.cluster.jobs(args.namespace) if args.status in (None, j.status)]
    if not jobs:
        return ToolResult.empty("no job matches")
    return ToolResult.ok(
        [
            {
                "id": j.id,
                "namespace": j.spec.namespace,
                "model": j.spec.model,
                "status": j.status.value,
                "reason": j.reason,
                "node": j.placement.node if j.placement else None,
            }
            for j in jobs
        ]
    )


class ScaleArgs(BaseModel):
    """Scale a deployment."""

    namespace: str = Field(description="Namespace of the deployment.")
    name: str = Field(description="Deployment name.")
    replicas: int = Field(ge=0, le=64, description="Desired replicas (0 = scale to zero).")


@tool(mutating=True)
def scale_deployment(ctx: ToolContext, args: ScaleArgs) -> ToolResult:
    """Set a deployment's replicas. Changes the cluster: runs only after gate and approval."""
    return ToolResult.ok(
        ctx.cluster.scale(args.namespace, args.name, args.replicas).model_dump(mode="json")
    )


class RetrainArgs(BaseModel):
    """Submit a retraining job."""

    namespace: str = Field(description="Namespace to run in (a test namespace).")
    model: str = Field(description="Model to retrain.")
    gpu_type: GpuType = Field(default=GpuType.A100, description="GPU type for training.")
    hours: float = Field(default=1.0, gt=0, le=72, description="Expected run time.")


@tool(mutating=True, environments=frozenset({Environment.DEV, Environment.TEST}))
def submit_retrain_job(ctx: ToolContext, args: RetrainArgs) -> ToolResult:
    """Queue a retraining job for a model. Uses GPU quota: runs only after gate and approval."""
    spec = JobSpec(
        namespace=args.namespace,
        model=args.model,
        gpu=GpuRequest(gpu_type=args.gpu_type),
        duration_s=args.hours * 3600,
        idempotency_key=f"tool:{args.namespace}:{args.model}:{args.hours}",
        tolerations=["lotsen.io/env", "lotsen.io/training"],
    )
    return ToolResult.ok(ctx.cluster.submit_job(spec).model_dump(mode="json"))
