"""Rich tables of a capacity plan."""

from rich.table import Table

from agents.capacity.plan import CapacityPlan


def plan_tables(plan: CapacityPlan) -> list[Table]:
    """Packing per pool, then the actions with what each saves."""
    packing = Table(title=f"Packing model servers (plan {plan.id}, solved in {plan.solve_s:.3f} s)")
    columns = ("pool", "replicas", "now", "plan", "lower bound", "plan/bound", "first-fit")
    for column in (*columns, "ready", "nodes needed"):
        packing.add_column(column, justify="left" if column == "pool" else "right")
    for p in plan.packing:
        packing.add_row(
            p.pool,
            str(p.replicas),
            str(p.current_gpus),
            str(p.plan_gpus),
            str(p.lower_bound),
            f"{p.ratio_to_bound:.2f}",
            str(p.first_fit_gpus),
            str(p.gpus_ready),
            f"{p.nodes_needed}",
        )
    packing.caption = "GPUs hosting model servers; the plan may re-partition MIG GPUs"
    actions = Table(title=f"{len(plan.actions)} proposed action(s) (nothing executed)")
    for column in ("#", "action", "env", "target", "what", "saves"):
        actions.add_column(column)
    for a in plan.actions:
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
    actions.caption = (
        f"all applied: {s.gpu_equivalents:.2f} GPU-equivalents, {s.cost_per_day:,.2f}/day, "
        f"{s.g_co2e_jobs / 1000:.2f} kg CO2e on queued jobs; "
        f"{sum(plan.consolidation.gpus_freed.values())} GPU(s) emptied by moves"
    )
    return [packing, actions]
