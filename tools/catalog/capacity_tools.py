"""Read-only capacity-planner tools: allocation vs use, packing vs bound, savings, windows."""

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field

from tools.capacity.demand import current_gpus_by_pool, plan_packing
from tools.capacity.rightsizing import right_sizing_candidates, scale_to_zero_candidates
from tools.capacity.usage import capacity_report as build_report
from tools.catalog.context import ToolContext
from tools.domain import Environment
from tools.runtime.envelope import ToolResult
from tools.runtime.spec import tool

MAX_ROWS = 25


class CapacityReportArgs(BaseModel):
    """What to report on."""

    by: Literal["pool", "namespace", "env"] = Field(
        default="pool", description="Group GPUs by node pool, namespace or environment."
    )
    env: Environment | None = Field(default=None, description="Only this environment.")


@tool()
def capacity_report(ctx: ToolContext, args: CapacityReportArgs) -> ToolResult:
    """Show GPU allocation vs use per pool, namespace or environment.

    Per group: GPUs held, busy, idle GPU-hours/day, cost/day, kg CO2e/day, J per 1k
    inferences, and for namespaces the quota, queued jobs and mean queue wait.
    """
    report = build_report(ctx.cluster, ctx.capacity)
    rows = {"pool": report.pools, "namespace": report.namespaces, "env": report.envs}[args.by]
    picked = [
        {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in r.model_dump(mode="json").items()
        }
        for r in rows
        if args.env is None or r.env is args.env
    ]
    return ToolResult.ok(picked) if picked else ToolResult.empty("nothing in that environment")


class NoArgs(BaseModel):
    """No arguments."""


@tool()
def capacity_savings(ctx: ToolContext, args: NoArgs) -> ToolResult:
    """Show how to make the GPU pools cheaper (read-only: changes nothing).

    GPUs the model servers need when packed (vs the lower bound, today and first-fit),
    idle deployments to scale to zero, and deployments that fit a smaller MIG slice.
    """
    cluster, config = ctx.cluster, ctx.capacity
    nodes, deployments, pools = cluster.nodes(), cluster.deployments(), cluster.node_pools()
    plans, unplaceable = plan_packing(pools, nodes, deployments)
    current = current_gpus_by_pool(nodes)
    idle = scale_to_zero_candidates(deployments, cluster.now(), config)
    resize = right_sizing_candidates(deployments, pools, config)
    return ToolResult.ok(
        {
            "packing": [
                {
                    "pool": p.group.name,
                    "replicas": p.replicas,
                    "gpus_now": current.get(p.group.name, 0),
                    "gpus_planned": p.gpus_used,
                    "lower_bound": p.lower_bound,
                    "first_fit": p.first_fit,
                    "gpus_ready": p.group.gpus_available,
                }
                for p in plans
            ],
            "does_not_fit": unplaceable,
            "scale_to_zero": [
                {"deployment": f"{s.namespace}/{s.name}", "env": s.env.value,
                 "idle_days": round(s.idle_days, 1), "cost_per_day": round(s.cost_per_day, 2)}
                for s in idle[:MAX_ROWS]
            ],
            "scale_to_zero_total": len(idle),
            "right_size": [
                {"deployment": f"{r.namespace}/{r.name}", "from": r.current,
                 "to": r.target.mig_profile, "busy_now": round(r.utilisation_now, 3),
                 "cost_per_day_saved": round(r.cost_per_day_saved, 2)}
                for r in resize[:MAX_ROWS]
            ],
            "right_size_total": len(resize),
        }
    )  # fmt: skip


class WindowArgs(BaseModel):
    """A job to place in time."""

    hours: float = Field(gt=0, le=72, description="How long the job runs.")
    within_hours: float = Field(
        default=24.0, gt=0, le=168, description="It must finish within this many hours."
    )


@tool()
def low_carbon_window(ctx: ToolContext, args: WindowArgs) -> ToolResult:
    """Find the lowest-carbon start (now or a full hour) for a job that must finish in time.

    Uses the grid's carbon-intensity curve (gCO2e/kWh by hour of day).
    """
    now = ctx.cluster.now()
    curve = ctx.capacity.carbon
    latest = now + timedelta(hours=args.within_hours - args.hours)
    if latest < now:
        return ToolResult.fail("the job is longer than the time it must finish within")
    base = now.replace(minute=0, second=0, microsecond=0)
    starts = [now] + [
        base + timedelta(hours=h) for h in range(1, int(args.within_hours) + 1)
        if base + timedelta(hours=h) <= latest
    ]  # fmt: skip
    best = min(starts, key=lambda s: (curve.average_over(s, args.hours), s))
    return ToolResult.ok(
        {
            "start": best.isoformat(),
            "g_co2e_per_kwh": round(curve.average_over(best, args.hours), 1),
            "starting_now_g_co2e_per_kwh": round(curve.average_over(now, args.hours), 1),
        }
    )
