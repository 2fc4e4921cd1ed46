"""`lotsen run-loop` (the operating loop as a worker without HTTP) and `lotsen loop ...`."""

import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of
from world.world import World

app = typer.Typer(help="The operating loop: its ticks and its notifications.")


def run_loop_cmd(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One tick as leader, then exit.")] = False,
    tick: Annotated[
        float | None, typer.Option(help="Seconds between ticks (default LOTSEN_LOOP_TICK_S).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --once: print JSON.")] = False,
) -> None:
    """Run the operating loop: scheduled scans, remediation, compliance, capacity, notices.

    Replicas may run side by side: one leads (a lease), the others wait and take over when
    it dies. SIGTERM or Ctrl-C stops after the current step.
    """
    from lotsen.loop.runner import OperatingLoop

    settings = settings_of(ctx)
    if tick is not None:
        tick = checks.finite("--tick", tick, ge=0.01, le=86_400)
        settings = settings.model_copy(update={"loop_tick_s": tick})
    with World(settings) as world:  # fail now, in one line: no world, or a loop user who
        world.user(settings.loop_user)  # may not propose (the loop holds the world per tick)
    loop = OperatingLoop(settings)
    if once:
        report = loop.run_once()
        if as_json:
            print_json(report)
        else:
            console.print(f"tick at {report.at:%Y-%m-%d %H:%M} (world clock): {report.summary()}")
        return
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"operating loop {loop.holder}: waiting for the lease ({loop.lease.describe()})")
    loop.run(stop)


@app.command("status")
def status_cmd(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Each replica's last tick (who leads shows as the newest)."""
    from lotsen.loop.runner import loop_state_path
    from memory.loop_state import LoopState

    path = loop_state_path(settings_of(ctx))
    if not path.exists():
        console.print("the operating loop has not ticked here yet (`lotsen run-loop`)")
        return
    state = LoopState(path)
    try:
        ticks = state.ticks()
    finally:
        state.close()
    if as_json:
        print_json(ticks)
        return
    table = Table(title="Operating loop replicas")
    for column in ("holder", "ticks", "last tick (UTC)", "world clock", "last summary"):
        table.add_column(column)
    for t in ticks:
        table.add_row(
            t.holder,
            str(t.ticks),
            f"{t.last_at:%Y-%m-%d %H:%M:%S}",
            f"{t.world_at:%Y-%m-%d %H:%M}",
            t.summary,
        )
    console.print(table)


@app.command("notifications")
def notifications_cmd(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed deliveries.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Notifications queued, delivered and failed (newest first)."""
    from lotsen.loop.runner import outbox_path
    from memory.notifications import NotificationOutbox

    path = outbox_path(settings_of(ctx))
    if not path.exists():
        console.print("no notifications yet (set LOTSEN_NOTIFY_WEBHOOK_URL / _SLACK_URL)")
        return
    outbox = NotificationOutbox(path)
    try:
        found = outbox.deliveries("failed" if failed else None)
    finally:
        outbox.close()
    if as_json:
        print_json(found)
        return
    table = Table(title=f"{len(found)} notification(s)")
    for column in ("event", "channel", "status", "attempts", "queued (UTC)", "last error"):
        table.add_column(column)
    for d in found:
        table.add_row(
            d.event,
            d.channel,
            d.status,
            str(d.attempts),
            f"{d.created_at:%Y-%m-%d %H:%M:%S}",
            d.last_error or "",
        )
    console.print(table)
