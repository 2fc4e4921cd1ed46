"""`lotsen bench serve`: N chat sessions at tier 0 plus periodic scans against the service."""

from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli import checks
from lotsen.cli.context import console, print_json, settings_of


def serve_bench_cmd(
    ctx: typer.Context,
    sessions: Annotated[int, typer.Option(help="Concurrent chat sessions (tier 0).")] = 50,
    scan_every: Annotated[float, typer.Option(help="Seconds between fleet scans.")] = 10.0,
    duration: Annotated[float, typer.Option(help="Seconds the load runs.")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Load-test the service on loopback (a copy of the world): p50/p95 latency and errors."""
    from lotsen.bench.serve import bench_serve

    sessions = checks.count("--sessions", sessions)
    scan_every = checks.finite("--scan-every", scan_every, ge=0.1, le=3600)
    duration = checks.finite("--duration", duration, ge=0.1, le=3600)
    with console.status(f"{sessions} chat sessions + a scan every {scan_every:g} s ..."):
        result = bench_serve(
            settings_of(ctx), sessions=sessions, scan_every_s=scan_every, duration_s=duration
        )
    if as_json:
        print_json(result)
    else:
        table = Table(title=f"Service load: {sessions} sessions, {duration:g} s on loopback")
        for column in ("request", "count", "errors", "p50 s", "p95 s", "max s"):
            table.add_column(column, justify="left" if column == "request" else "right")
        for name, lat in (("chat answer (SSE)", result.chat), ("fleet scan", result.scans)):
            table.add_row(
                name,
                str(lat.count),
                str(lat.errors),
                f"{lat.p50_s:.3f}",
                f"{lat.p95_s:.3f}",
                f"{lat.max_s:.3f}",
            )
        console.print(table)
        for sample in result.error_samples:
            console.print(f"error: {sample}", markup=False)
    if result.chat.errors or result.scans.errors:
        raise typer.Exit(1)
