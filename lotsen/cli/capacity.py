"""`lotsen capacity report|plan|apply`: make the shared GPU pool cheaper and greener."""

from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, world_of
from tools.capacity.usage import Usage

app = typer.Typer(help="Capacity planner: allocation vs use, packing, right-sizing, carbon.")
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("report")
def report(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Allocation vs use per pool, namespace and environment: idle GPU-hours, cost, CO2e."""
    from tools.capacity.usage import capacity_report

    world = world_of(ctx)
    result = capacity_report(world.cluster, world.capacity)
    if as_json:
        print_json(result)
        return
    at = f"{result.at:%Y-%m-%d %H:%M} UTC"
    console.print(_usage_table(f"Pools at {at}", "pool", result.pools, pools=True))
    console.print(_usage_table("Environments", "env", result.envs, pools=True))
    console.print(_usage_table("Namespaces", "namespace", result.namespaces, pools=False))
    console.print(
        "GPU-equivalents; used = handed out, busy = utilisation-weighted; per day at the "
        f"current rate, CO2e at the curve's daily mean ({result.carbon_g_per_kwh_mean:.0f} "
        "gCO2e/kWh); J/1k inf = serving energy per 1,000 requests. `--json` has all figures."
    )
    if result.reserved:
        runs = ", ".join(
            f"{r.namespace}/{r.name} ({r.schedule}: {r.runs} run(s), {r.gpus} x {r.slot})"
            for r in result.reserved
        )
        console.print(
            f"Reserved for scheduled jobs over the next {world.capacity.schedule_horizon_hours:g}"
            f" h: {result.reserved_gpu_hours:.1f} GPU-equivalent hours; {runs}"
        )


def _usage_table(title: str, key: str, rows: list[Usage], *, pools: bool) -> Table:
    table = Table(title=title)
    columns = [key, "GPUs", "used"] if pools else [key, "held"]
    columns += ["busy", "idle h/d", "cost/d"]
    columns += ["kgCO2e/d", "J/1k inf"] if pools else ["quota", "queued", "wait h"]
    for column in columns:
        table.add_column(
            column, justify="left" if column == key else "right", no_wrap=column == key
        )
    for u in rows:
        cells = [
            u.name,
            *([f"{u.gpus:g}", f"{u.requested:.2f}"] if pools else [f"{u.requested:.2f}"]),
            f"{u.busy:.2f}",
            f"{u.idle_gpu_hours_per_day:,.0f}",
            f"{u.cost_per_day:,.0f}",
        ]
        if pools:
            joules = u.j_per_1k_inferences
            cells += [f"{u.kg_co2e_per_day:.1f}", "-" if joules is None else f"{joules:,.0f}"]
        else:
            cells += [
                "-" if u.quota is None else f"{u.quota:g}",
                str(u.jobs_queued),
                "-" if u.mean_queue_wait_h is None else f"{u.mean_queue_wait_h:.1f}",
            ]
        table.add_row(*cells)
    return table


@app.command("plan")
def plan(
    ctx: typer.Context,
    explain: Annotated[
        bool, typer.Option(help="Explain with the cheapest LLM tier (tier 0 without one).")
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Packing vs lower bound vs current vs first-fit, scale-to-zero, right-sizing, job windows.

    The plan is saved in the world for `lotsen capacity apply`; nothing changes here.
    """
    from agents.capacity.explain import explain as explain_plan
    from agents.capacity.plan import build_plan
    from world.capacity import save_plan

    world = world_of(ctx)
    result = build_plan(world.cluster, world.capacity, world.user())
    result = explain_plan(result, world.llm(task="capacity/plan") if explain else None)
    save_plan(world, result)
    if as_json:
        print_json(result)
        return
    from lotsen.cli.capacity_render import plan_tables

    for table in plan_tables(result):
        console.print(table)
    for line in result.unplaceable:
        console.print(f"[red]does not fit[/red]: {line}")
    console.print(f"\n{result.explanation}\n[dim](explained by {result.explained_by})[/dim]")
    console.print(
        f"Plan {result.id} saved: `lotsen capacity apply` runs it through the compliance gate."
    )


@app.command("apply")
def apply(
    ctx: typer.Context,
    user: Annotated[
        str | None, typer.Option("--as", help="Who proposes (default LOTSEN_USER / OS user).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Run the saved plan's actions through the gate: allowed ones run, prod ones wait for a human.

    Run it again after an approval (`lotsen approvals approve ID --as someone-else`).
    """
    from agents.capacity.apply import apply_plan
    from world.capacity import apply_port, load_plan

    user = checks.name_or_none("--as", user)
    world = world_of(ctx)
    saved = load_plan(world)
    if user is not None:
        saved = saved.model_copy(
            update={
                "actions": [
                    a.model_copy(update={"action": a.action.model_copy(update={"proposer": user})})
                    for a in saved.actions
                ]
            }
        )
    outcomes = apply_plan(saved, apply_port(world))
    if as_json:
        print_json(outcomes)
        return
    table = Table(title=f"Capacity plan {saved.id}: {len(outcomes)} action(s)")
    for column in ("#", "action", "target", "status", "detail"):
        table.add_column(column)
    for o in outcomes:
        status = o.status if o.approval_id is None else f"{o.status} ({o.approval_id})"
        table.add_row(str(o.n), o.kind, o.target, status, o.detail)
    console.print(table)
    if any(o.status == "waiting_approval" for o in outcomes):
        console.print(
            "Waiting actions run as soon as someone else approves them "
            "(`lotsen approvals approve ID --as someone-else`)."
        )
