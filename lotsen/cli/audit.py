"""`lotsen audit verify | head | show`: the tamper-evident audit log."""

import re
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lotsen.cli.context import console, print_json, world_of
from tools.errors import ConfigError

app = typer.Typer(help="The tamper-evident audit log: verify, head, show.")
_HEAD = re.compile(r"([0-9]+):([0-9a-fA-F]{16,64})")


def parse_head(value: str) -> tuple[int, str]:
    """`COUNT:HASH` (the hash or at least its first 16 hex digits) as (count, hash).

    Raises:
        ConfigError: not of that form.
    """
    match = _HEAD.fullmatch(value.strip())
    if match is None or int(match[1]) < 1:
        raise ConfigError(
            f"--expect-head {value!r}: expected COUNT:HASH, e.g. 42:3f2a9c01d4e5b6a7 (from "
            "`lotsen audit head`)"
        )
    return int(match[1]), match[2].lower()


@app.command("verify")
def verify(
    ctx: typer.Context,
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="COUNT:HASH of a head you kept (`lotsen audit head`): fail unless the log "
            "still has record COUNT with that hash."
        ),
    ] = None,
) -> None:
    """Check chain, signatures and witnesses; exit 1 naming each problem if tampered with."""
    expect = parse_head(expect_head) if expect_head else None
    result = world_of(ctx).audit.verify(expect)
    for warning in result.warnings:
        console.print(f"[yellow]warning[/yellow]: {escape(warning)}")
    if result.ok:
        console.print(
            f"audit log intact: {result.records} records, head {result.head[:16]}, "
            f"signed with key {result.key_id}"
        )
        return
    for problem in result.problems:
        console.print(f"[red]audit log TAMPERED[/red]: {escape(problem)}", soft_wrap=True)
    raise typer.Exit(1)


@app.command("head")
def head(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The log's head (record count and last hash): keep it to check later with --expect-head."""
    audit = world_of(ctx).audit
    current = audit.head()
    if as_json:
        print_json(current)
        return
    console.print(f"{current.records}:{current.head}", soft_wrap=True)
    console.print(
        f"key {current.key_id}; witnesses: " + ", ".join(str(p) for p in audit.witness_files),
        soft_wrap=True,
        style="dim",
    )


@app.command("show")
def show(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option(help="One model's history, alias moves included.")
    ] = None,
    incident: Annotated[str | None, typer.Option(help="One incident.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Audit records, oldest first."""
    world = world_of(ctx)
    records = world.audit.records(model=model, incident=incident)
    moves = world.registry.alias_history(model) if model else []
    if as_json:
        print_json([*records, *moves])
        return
    table = Table(title=f"Audit: {model or incident or 'all'}")
    for column in ("#", "at", "kind", "actor", "model", "detail"):
        table.add_column(column)
    for r in records:
        detail = (
            r.data.get("result")
            or r.data.get("action")
            or r.data.get("verdict")
            or r.data.get("status")
            or ""
        )
        table.add_row(
            str(r.seq), f"{r.at:%m-%d %H:%M:%S}", r.kind, r.actor, r.model or "-", str(detail)
        )
    for m in moves:
        table.add_row(
            "alias",
            f"{m.at:%m-%d %H:%M:%S}",
            f"alias {m.alias}",
            m.actor,
            m.model,
            f"v{m.old_version} -> v{m.new_version}: {m.reason}",
        )
    console.print(table)
