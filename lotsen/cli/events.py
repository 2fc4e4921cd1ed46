"""`lotsen events list`: recorded changes (deploys, config and runtime, alias moves, scaling)."""

from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, world_of

app = typer.Typer(help="Change events: deploys, config/runtime changes, alias moves, scaling.")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    hours: Annotated[float, typer.Option(help="How far back from the world's clock.")] = 48.0,
    model: Annotated[list[str] | None, typer.Option(help="Only these models.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recorded changes in the last HOURS (by the world's clock), oldest first."""
    from datetime import timedelta

    from world.remediation import world_events

    hours = checks.finite("--hours", hours, gt=0, le=24 * 3650)
    world = world_of(ctx)
    end = world.clock()
    wanted = set(model) if model else {m.name for m in world.registry.list_models()}
    found = world_events(world, wanted, end - timedelta(hours=hours), end)
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} change event(s) in the last {hours:g} h")
    for column in ("id", "at", "kind", "subject", "actor", "change"):
        table.add_column(column)
    for e in found:
        keys = sorted(set(e.before) | set(e.after))
        change = ", ".join(f"{k} {e.before.get(k, '-')} -> {e.after.get(k, '-')}" for k in keys)
        table.add_row(e.id, f"{e.at:%Y-%m-%d %H:%M}", e.kind.value, e.subject, e.actor, change)
    console.print(table)
