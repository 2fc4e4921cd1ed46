"""Nodes and their GPUs (down, idle, allocated), one job's state, and a policy's text.

`node_gpus` is the one definition of "idle GPU on a node" the assistant's tier 0 and the
LLM tiers share: a whole GPU with no slot allocated to anything (deployments or jobs).
"""

from pydantic import BaseModel, Field

from tools.catalog.context import ToolContext
from tools.cluster.protocol import Cluster
from tools.domain import Environment
from tools.errors import NotFoundError
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool


class NodeGpus(BaseModel):
    """One node: ready or down, and its GPUs by state."""

    node: str
    pool: str
    env: Environment
    ready: bool
    gpu_type: str
    gpus: int
    idle_gpus: list[int]
    """Indexes of GPUs with nothing allocated on them."""
    allocated_gpu_eq: float
    """GPU-equivalents allocated (MIG slices and time-slices count by their share)."""


def node_gpus(cluster: Cluster, env: Environment | None = None) -> list[NodeGpus]:
    """Every node (of `env`) with its idle GPUs and allocation."""
    rows = []
    for n in cluster.nodes(env):
        rows.append(
            NodeGpus(
                node=n.name,
                pool=n.pool,
                env=n.env,
                ready=n.ready,
                gpu_type=n.gpus[0].type.value if n.gpus else "-",
                gpus=len(n.gpus),
                idle_gpus=[g.index for g in n.gpus if g.allocated() == 0],
                allocated_gpu_eq=round(sum(g.allocated() for g in n.gpus), 3),
            )
        )
    return rows


class NodesArgs(BaseModel):
    """Filters for list_nodes."""

    env: Environment | None = Field(default=None, description="Only this environment.")
    down_only: bool = Field(default=False, description="Only nodes that are not ready.")
    with_idle_gpus: bool = Field(
        default=False, description="Only ready nodes with at least one idle GPU."
    )


@tool()
def list_nodes(ctx: ToolContext, args: NodesArgs) -> ToolResult:
    """List GPU nodes: ready or down, GPU type, idle GPUs (nothing allocated), allocation.

    An idle GPU on a node that is down is not usable: `with_idle_gpus` lists ready nodes only.
    """
    rows = [
        n
        for n in node_gpus(ctx.cluster, args.env)
        if (not args.down_only or not n.ready)
        and (not args.with_idle_gpus or (n.ready and n.idle_gpus))
    ]
    if not rows:
        return ToolResult.empty("no node matches")
    return ToolResult.ok([n.model_dump(mode="json") for n in rows])


class JobArgs(BaseModel):
    """One job."""

    job_id: str = Field(description="Job id, e.g. job-00004.")


@tool()
def get_job(ctx: ToolContext, args: JobArgs) -> ToolResult:
    """Show one job: model, namespace, status, where it runs or why it waits, its times."""
    try:
        job = ctx.cluster.job(args.job_id)
    except NotFoundError as exc:
        return ToolResult.fail(f"{exc}; call list_jobs for ids")
    return ToolResult.ok(job.model_dump(mode="json"))


class PolicyArgs(BaseModel):
    """One compliance policy."""

    policy_id: str = Field(description="Policy id, e.g. SEG-05 or AIA-03.")


@tool()
def policy_text(ctx: ToolContext, args: PolicyArgs) -> ToolResult:
    """Show what a compliance policy checks: title, rationale, legal reference, severity, scope."""
    wanted = args.policy_id.strip().upper()
    rules = ctx.rules()
    for p in rules:
        if p.id == wanted:
            return ToolResult.ok(p.model_dump(mode="json"))
    known = ", ".join(sorted(p.id for p in rules))
    return ToolResult.fail(f"unknown policy {args.policy_id!r}; known: {known}")
