"""`lotsen remediate`, `lotsen approvals ...`."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lotsen.cli.context import console, print_json, world_of

if TYPE_CHECKING:  # the remediation agent imports LangGraph, scikit-learn, Chroma: not at start
    from agents.remediation.runner import RunOutcome

approvals_app = typer.Typer(help="Plans waiting for a human: list, approve, reject (four eyes).")
AsUser = Annotated[
    str | None, typer.Option("--as", help="Who you are (default LOTSEN_USER / OS user).")
]


def remediate_cmd(
    ctx: typer.Context,
    auto: Annotated[
        bool, typer.Option(help="Execute: allowed actions run, others wait for approval.")
    ] = False,
    resume_runs: Annotated[
        bool, typer.Option("--resume", help="Finish runs a crash interrupted.")
    ] = False,
    user: AsUser = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Scan the fleet and remediate each incident (without --auto: show the plans only)."""
    from agents.remediation.runner import plan_only, remediate, remediated, resume
    from world.monitoring import scan_fleet
    from world.remediation import open_workflow

    world = world_of(ctx)
    with open_workflow(world, user) as wf:
        if resume_runs:
            show_outcomes(resume(wf.world, wf.graph), as_json, "Resumed runs")
            return
        incidents = scan_fleet(world).incidents
        if not auto:
            table = Table(title=f"{len(incidents)} incident(s): planned actions (nothing executed)")
            for column in ("incident", "kind", "models", "action", "gate"):
                table.add_column(column)
            for plan, verdict in plan_only(incidents, wf.world):
                table.add_row(
                    plan.incident_id,
                    plan.incident_kind,
                    str(len(plan.models)),
                    plan.action.value,
                    verdict,
                )
            console.print(table)
            for incident_id, said in remediated(incidents, wf.world).items():
                console.print(f"{incident_id}: not planned again, {said}")
            console.print(
                "Run `lotsen remediate --auto` to execute; plans that need a human wait in "
                "`lotsen approvals list`."
            )
            return
        show_outcomes(remediate(incidents, wf.world, wf.graph, wf.proposer), as_json, "Remediation")


def show_outcomes(outcomes: "list[RunOutcome]", as_json: bool, title: str) -> None:
    """Print run outcomes as a table (or JSON)."""
    if as_json:
        print_json(outcomes)
        return
    table = Table(title=title)
    for column in ("incident", "kind", "action", "status", "result"):
        table.add_column(column)
    for o in outcomes:
        status = (
            o.status if o.status != "waiting_approval" else f"waiting approval ({o.approval_id})"
        )
        result = f"not run again, {o.skipped}" if o.skipped else o.summary
        table.add_row(o.incident_id, o.kind, o.action, status, result)
    console.print(table)


@approvals_app.command("list")
def approvals_list(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include decided and expired requests.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Approval requests (pending by default)."""
    from lotsen.cli.context import settings_of
    from lotsen.service.client import server_client

    remote = server_client(settings_of(ctx))
    if remote is not None:
        try:
            found = remote.approvals(None if show_all else "pending")
        finally:
            remote.close()
    else:
        world = world_of(ctx)
        found = world.approvals.requests(world.clock(), None if show_all else "pending")
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} approval request(s)")
    for column in (
        "id",
        "agent",
        "action",
        "models",
        "why a human",
        "proposer",
        "expires",
        "status",
    ):
        table.add_column(column)
    for a in found:
        models = ", ".join(a.models[:3]) + (f" +{len(a.models) - 3}" if len(a.models) > 3 else "")
        table.add_row(
            a.id,
            a.agent,
            a.action,
            models,
            "; ".join(a.reasons),
            a.proposer,
            f"{a.expires_at:%m-%d %H:%M}",
            a.status if not a.decided_by else f"{a.status} by {a.decided_by}",
        )
    console.print(table)


def _decide(
    ctx: typer.Context, request_id: str, user: str | None, approved: bool, note: str | None
) -> None:
    from lotsen.cli.context import settings_of
    from lotsen.service.client import server_client
    from world.approvals import decide

    remote = server_client(settings_of(ctx), user)
    if remote is not None:
        try:
            result = remote.decide(request_id, approved, note)
        finally:
            remote.close()
    else:
        world = world_of(ctx)
        result = decide(world, request_id, world.user(user, "approver"), approved, note)
    table = Table(title="Approved" if approved else "Rejected")
    for column in ("request", "agent", "action", "status", "result"):
        table.add_column(column)
    table.add_row(result.approval_id, result.agent, result.action, result.status, result.summary)
    console.print(table)


@approvals_app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: str,
    user: AsUser = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Approve a request; the proposing agent carries it out at once."""
    _decide(ctx, request_id, user, True, note)


@approvals_app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: str,
    user: AsUser = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
) -> None:
    """Reject a request: recorded, nothing is done."""
    _decide(ctx, request_id, user, False, note)
