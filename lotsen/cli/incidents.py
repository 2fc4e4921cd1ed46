"""`lotsen incidents ...`: the incidents scans found, their status; acknowledge, close."""

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, world_of
from tools.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from memory.incidents import IncidentRecord, IncidentStatus

app = typer.Typer(help="Incidents from scans: list, show, acknowledge, close.")
AsUser = Annotated[
    str | None, typer.Option("--as", help="Who you are (default LOTSEN_USER / OS user).")
]


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="open, acknowledged, remediating, resolved or closed."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Incidents, most recently seen first (each recurrence is its own occurrence)."""
    from world.incidents import incident_store

    wanted = _status(status)
    store = incident_store(world_of(ctx))
    found = store.occurrences(wanted) if store is not None else []
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} incident(s)")
    for column in ("id", "kind", "models", "status", "by", "last seen", "probable cause"):
        table.add_column(column)
    for i in found:
        table.add_row(
            i.id,
            i.kind,
            str(len(i.models)),
            i.status,
            i.changed_by,
            f"{i.last_seen:%Y-%m-%d %H:%M}",
            i.probable_cause,
        )
    console.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="ID", help="Incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One incident: what was seen, in which windows, and every change of its status."""
    from world.incidents import incident_store

    wanted = checks.name("ID", incident_id)
    store = incident_store(world_of(ctx))
    if store is None:
        raise NotFoundError(f"unknown incident {wanted!r}: no scan has recorded incidents")
    record = store.get(wanted)
    history = store.history(record.id)
    if as_json:
        shown = record.model_dump(mode="json")
        shown["history"] = [e.model_dump(mode="json") for e in history]
        typer.echo(json.dumps(shown, indent=2))
        return
    _print(record)
    for event in history:
        note = f": {event.note}" if event.note else ""
        console.print(f"  {event.at:%Y-%m-%d %H:%M} {event.status} by {event.actor}{note}")


@app.command("ack")
def ack_cmd(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="ID", help="Incident id.")],
    user: AsUser = None,
    note: Annotated[str | None, typer.Option(help="What you are doing about it.")] = None,
) -> None:
    """Acknowledge an open incident (audited)."""
    from world.incidents import acknowledge

    world = world_of(ctx)
    record = acknowledge(
        world, checks.name("ID", incident_id), user, checks.name_or_none("--note", note)
    )
    console.print(f"{record.id}: acknowledged by {record.changed_by}")


@app.command("close")
def close_cmd(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="ID", help="Incident id.")],
    note: Annotated[str, typer.Option(help="Why it is closed (required).")],
    user: AsUser = None,
) -> None:
    """Close an incident for good (audited); if the problem comes back it is a new one."""
    from world.incidents import close

    world = world_of(ctx)
    record = close(world, checks.name("ID", incident_id), user, checks.name("--note", note))
    console.print(f"{record.id}: closed by {record.changed_by}")


def _status(value: str | None) -> "IncidentStatus | None":
    from memory.incidents import STATUSES

    if value is None:
        return None
    for status in STATUSES:
        if value.strip().lower() == status:
            return status
    raise ConfigError(f"--status must be one of {', '.join(STATUSES)}, not {value!r}")


def _print(r: "IncidentRecord") -> None:
    windows = ", ".join(f"{w:%Y-%m-%d %H:%M}" for w in r.windows)
    console.print(f"[bold]{r.id}[/bold] {r.kind} (occurrence {r.occurrence}): {r.status}")
    console.print(f"  {r.probable_cause}")
    console.print(f"  models ({len(r.models)}): {', '.join(r.models[:10])}")
    if r.pipeline or r.features:
        console.print(f"  pipeline {r.pipeline or '-'}; features {', '.join(r.features) or '-'}")
    console.print(
        f"  first seen {r.first_seen:%Y-%m-%d %H:%M}, last seen {r.last_seen:%Y-%m-%d %H:%M}; "
        f"windows {windows}"
    )
    if r.acknowledged_by and r.acknowledged_at:
        console.print(
            f"  acknowledged by {r.acknowledged_by} at {r.acknowledged_at:%Y-%m-%d %H:%M}"
        )
    for line in r.evidence:
        console.print(f"  - {line}")
