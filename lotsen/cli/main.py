"""The `lotsen` command."""

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from lotsen.cli import (
    assistant,
    audit,
    bench,
    capacity,
    cluster,
    compliance,
    evals,
    events,
    fleet,
    incidents,
    llm,
    loop,
    models,
    monitor,
    remediate,
    route,
    serve,
    state,
    twin,
    users,
)
from lotsen.cli.context import load_settings, settings_of
from lotsen.cli.damage import damaged_state, is_storage_error
from tools.errors import LotsenError

app = typer.Typer(
    help="Lotsen: agents that operate a fleet of production ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(fleet.app, name="fleet")
app.add_typer(models.app, name="models")
app.add_typer(cluster.app, name="cluster")
app.add_typer(twin.app, name="twin")
app.add_typer(bench.app, name="bench")
app.add_typer(llm.app, name="llm")
app.add_typer(route.app, name="route")
app.add_typer(monitor.telemetry_app, name="telemetry")
app.command("scan")(monitor.scan_cmd)
app.add_typer(incidents.app, name="incidents")
app.add_typer(events.app, name="events")
app.command("remediate")(remediate.remediate_cmd)
app.add_typer(remediate.approvals_app, name="approvals")
app.add_typer(audit.app, name="audit")
app.add_typer(capacity.app, name="capacity")
app.add_typer(compliance.app, name="compliance")
app.add_typer(evals.app, name="eval")
app.command("ask")(assistant.ask_cmd)
app.command("chat")(assistant.chat_cmd)
app.command("serve")(serve.serve_cmd)
app.add_typer(state.app, name="state")
app.add_typer(users.app, name="users")
app.command("run-loop")(loop.run_loop_cmd)
app.add_typer(loop.app, name="loop")


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default: LOTSEN_DATA_DIR or ./.lotsen).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Lotsen: agents that operate a fleet of production ML models."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if verbose:
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)
    ctx.obj = load_settings(data_dir=data_dir)


@app.command("demo")
def demo(ctx: typer.Context) -> None:
    """Seed a demo fleet (once) and show the registry and the twin at work."""
    from lotsen.cli.demo import run_demo

    run_demo(settings_of(ctx))


def main() -> None:
    """Entry point: user mistakes print one line and exit 2, never a traceback."""
    try:
        app()
    except LotsenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ValidationError as exc:  # a value no option check caught: still one line
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or exc.title
        typer.echo(f"error: invalid {where}: {first['msg']}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if not is_storage_error(exc):
            raise
        typer.echo(f"error: {damaged_state(exc)}", err=True)
        sys.exit(2)
