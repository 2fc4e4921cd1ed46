"""Rich tables of a capacity plan."""

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from agents.capacity.plan import CapacityPlan

SHOWN = 30


def plan_tables(plan: "CapacityPlan") -> list[Table]:
    """Packing per pool, then the actions with what each saves."""
    packing = Table(title=f"Packing model servers (plan {plan.id}, solved in {plan.solve_s:.3f} s)")
    for column in ("pool", "replicas", "now", "plan", "bound", "ratio", "FF", "ready", "nodes"):
        packing.add_column(
            column, justify="left" if column == "pool" else "right", no_wrap=column == "pool"
        )
    for p in plan.packing:
        now = f"{p.current_gpus}" + (f" ({p.overcommitted_gpus}!)" if p.overcommitted_gpus else "")
        packing.add_row(
            p.pool,
            str(p.replicas),
            now,
            str(p.plan_gpus),
            str(p.lower_bound),
            f"{p.ratio_to_bound:.2f}",
            str(p.first_fit_gpus),
            str(p.gpus_ready),
            str(p.nodes_needed),
        )
    packing.caption = (
        "GPUs hosting model servers: now, in the plan (MIG GPUs re-partitioned), the lower "
        "bound, plan/bound, first-fit; (N!) = time-sliced GPUs over their memory now"
    )
    actions = Table(title=f"{len(plan.actions)} proposed action(s) (nothing executed)")
    for column in ("#", "action", "env", "target", "what", "saves"):
        actions.add_column(column)
    for a in plan.actions[:SHOWN]:
        target = a.job_id or f"{a.action.namespace}/{a.action.deployment}"
        actions.add_row(
            str(a.n),
            a.action.kind.value,
            a.env.value if a.env else "-",
            target,
            a.action.detail,
            a.saving,
        )
    s = plan.savings
    more = len(plan.actions) - SHOWN
    actions.caption = (f"... {more} more (`--json` lists all); " if more > 0 else "") + (
        f"all applied: {s.gpu_equivalents:.2f} GPU-equivalents, {s.cost_per_day:,.2f}/day, "
        f"{s.g_co2e_jobs / 1000:.2f} kg CO2e on queued jobs; "
        f"{sum(plan.consolidation.gpus_freed.values())} GPU(s) emptied by moves"
    )
    return [packing, actions]
