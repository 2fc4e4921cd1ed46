"""`lotsen models ...`: read the model registry."""

from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli.context import console, print_json, world_of
from lotsen.cli.render import models_table
from tools.domain import Environment
from tools.registry import MlflowRegistry
from tools.registry.tag_contract import env_label, lint_models, risk_label

app = typer.Typer(help="Read the model registry (versions, aliases, alias history).")


def _registry(ctx: typer.Context) -> MlflowRegistry:
    return world_of(ctx).registry


@app.command("list")
def list_models(
    ctx: typer.Context,
    env: Annotated[Environment | None, typer.Option(help="Only this environment.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered models."""
    models = [m for m in _registry(ctx).list_models() if env is None or m.env == env]
    if as_json:
        print_json(models)
    else:
        console.print(models_table(models))


@app.command("lint")
def lint(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check every model against the tag contract; exit 1 on any finding (for CI)."""
    models = _registry(ctx).list_models()
    problems = lint_models(models)
    if as_json:
        print_json(problems)
    else:
        table = Table(title=f"Tag contract: {len(models)} models")
        for column in ("model", "tag", "problem", "what it causes"):
            table.add_column(column)
        for p in problems:
            table.add_row(p.model, p.key, p.problem, p.effect)
        console.print(table if problems else f"{len(models)} models carry the tag contract.")
    if problems:
        raise typer.Exit(1)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str | None, typer.Option(help="Show the version behind this alias.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a model and its versions (or the version behind an alias)."""
    registry = _registry(ctx)
    versions = [registry.get_alias(name, alias)] if alias else registry.list_versions(name)
    model = registry.get_model(name)
    if as_json:
        print_json([model, *versions])
        return
    console.print(
        f"[bold]{model.name}[/bold]: {model.description} (owner {model.owner}, "
        f"env {env_label(model.env)}, risk {risk_label(model.ai_act_risk)}, "
        f"pipeline {model.pipeline})"
    )
    table = Table()
    for column in ("version", "aliases", "metrics", "trained on", "run"):
        table.add_column(column)
    for v in versions:
        metrics = ", ".join(f"{k}={val:g}" for k, val in sorted(v.metrics.items()))
        table.add_row(
            f"v{v.version}",
            ", ".join(v.aliases),
            metrics,
            v.lineage.training_data,
            v.lineage.run_id or "-",
        )
    console.print(table)


@app.command("history")
def history(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Model name; all models if omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the recorded alias moves."""
    changes = _registry(ctx).alias_history(name)
    if as_json:
        print_json(changes)
        return
    table = Table(title=f"{len(changes)} alias changes")
    for column in ("#", "at", "model", "alias", "from", "to", "actor", "reason"):
        table.add_column(column)
    for c in changes:
        table.add_row(
            str(c.seq),
            f"{c.at:%Y-%m-%d %H:%M:%S}",
            c.model,
            c.alias,
            f"v{c.old_version}" if c.old_version else "-",
            f"v{c.new_version}" if c.new_version else "-",
            c.actor,
            c.reason,
        )
    console.print(table)
