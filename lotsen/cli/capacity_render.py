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
        target = (
            a.job_id
            or (a.cluster_queue and f"ClusterQueue/{a.cluster_queue}")
            or f"{a.action.namespace}/{a.action.deployment}"
        )
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
    return [packing, actions, *_queue_and_schedule_tables(plan)]


def _queue_and_schedule_tables(plan: "CapacityPlan") -> list[Table]:
    """Why queued Kueue jobs wait; capacity reserved for CronJobs; deployments kept up."""
    out = []
    if plan.queue_waits:
        waits = Table(title=f"{len(plan.queue_waits)} job(s) waiting for Kueue quota")
        for column in ("job", "ClusterQueue", "why", "patch"):
            waits.add_column(column)
        for w in plan.queue_waits[:SHOWN]:
            patch = w.patch.describe() if w.patch else "-"
            waits.add_row(f"{w.namespace}/{w.job_id}", w.cluster_queue, w.message, patch)
        out.append(waits)
    if plan.reserved:
        reserved = Table(title="Capacity reserved for scheduled jobs (planning horizon)")
        for column in ("CronJob", "schedule", "next run", "runs", "GPUs", "GPU-h", "uses"):
            reserved.add_column(column)
        for r in plan.reserved[:SHOWN]:
            reserved.add_row(
                f"{r.namespace}/{r.name}",
                r.schedule,
                f"{r.next_run:%Y-%m-%d %H:%M}" if r.next_run else "-",
                str(r.runs),
                f"{r.gpus} x {r.slot} ({r.gpu_equivalents:.2f})",
                f"{r.gpu_hours:.1f}",
                ", ".join(r.uses) or "-",
            )
        total = sum(r.gpu_hours for r in plan.reserved)
        kept = ", ".join(
            f"{k.namespace}/{k.name} (for {k.cronjob} at {k.next_run:%Y-%m-%d %H:%M})"
            for k in plan.kept_for_schedules
        )
        reserved.caption = f"{total:.1f} GPU-equivalent hours reserved" + (
            f"; not scaled to zero: {kept}" if kept else ""
        )
        out.append(reserved)
    return out
