"""`lotsen state ...`: check, back up, restore the data directory; start a lost store anew."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli.context import console, print_json, settings_of, world_of
from world import state_admin

AsAdmin = Annotated[str | None, typer.Option("--as", help="Acting admin (default LOTSEN_USER).")]
app = typer.Typer(help="Check, back up and restore Lotsen's state (the whole data directory).")


@app.command("check")
def check(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every store Lotsen created and its condition; exit 1 if any is lost or corrupt."""
    data_dir = settings_of(ctx).data_dir
    statuses = state_admin.check_stores(data_dir)
    if as_json:
        print_json(statuses)
    else:
        table = Table(title="Stores")
        for column in ("store", "kind", "condition", "detail"):
            table.add_column(column)
        for s in statuses:
            colour = "green" if s.condition == "ok" else "red"
            table.add_row(
                state_admin.shown(s.path, data_dir),
                s.kind,
                f"[{colour}]{s.condition}[/{colour}]",
                s.detail,
            )
        console.print(table)
    bad = [s for s in statuses if s.condition != "ok"]
    if bad:
        console.print(
            f"[red]{len(bad)} store(s) need attention[/red]: restore a backup "
            "(`lotsen state restore BACKUP`) or start one anew (`lotsen state init --store PATH`)"
        )
        raise typer.Exit(1)


@app.command("backup")
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="New or empty folder to write the backup to.")],
) -> None:
    """Copy the whole data directory (state and current world) while no command writes."""
    info = state_admin.backup(settings_of(ctx), dest)
    console.print(f"Backed up {state_admin.describe(info)} to {dest}")


@app.command("restore")
def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(help="A folder written by `lotsen state backup`.")],
    user: AsAdmin = None,
) -> None:
    """Replace the data directory by a verified backup; the current one is moved aside."""
    actor = world_of(ctx).user(user, "admin")
    info, aside = state_admin.restore(settings_of(ctx), src, actor)
    console.print(f"Restored {state_admin.describe(info)}; the previous contents are in {aside}")


@app.command("init")
def init(
    ctx: typer.Context,
    store: Annotated[Path, typer.Option(help="The lost or broken store (see `state check`).")],
    user: AsAdmin = None,
) -> None:
    """Start a lost or broken store anew (empty); what is left of it is moved aside."""
    actor = world_of(ctx).user(user, "admin")
    aside = state_admin.init_store(settings_of(ctx), store, actor)
    console.print(
        f"{store} will be created empty by the next command that needs it"
        + (f"; its remains are in {aside}" if aside != store else "")
    )
