"""`lotsen cluster ...`: read the cluster (twin or Kubernetes)."""

from typing import Annotated

import typer

from lotsen.cli.context import console, print_json, world_of
from lotsen.cli.render import deployments_table, jobs_table, namespaces_table, nodes_table
from tools.domain import Environment

app = typer.Typer(help="Read the cluster: nodes, namespaces, deployments, jobs.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("nodes")
def nodes(
    ctx: typer.Context,
    env: Annotated[Environment | None, typer.Option(help="Only this environment.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """GPU nodes with their pools, taints and slot use."""
    found = world_of(ctx).cluster.nodes(env)
    print_json(found) if as_json else console.print(nodes_table(found))


@app.command("namespaces")
def namespaces(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Namespaces with owner, environment and GPU quota."""
    found = world_of(ctx).cluster.namespaces()
    print_json(found) if as_json else console.print(namespaces_table(found))


@app.command("deployments")
def deployments(
    ctx: typer.Context,
    namespace: Annotated[str | None, typer.Option(help="Only this namespace.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Model deployments: version, GPU profile, replicas, traffic, latency."""
    found = world_of(ctx).cluster.deployments(namespace)
    print_json(found) if as_json else console.print(deployments_table(found))


@app.command("jobs")
def jobs(
    ctx: typer.Context,
    namespace: Annotated[str | None, typer.Option(help="Only this namespace.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Jobs (retraining) and where they run or why they wait."""
    found = world_of(ctx).cluster.jobs(namespace)
    print_json(found) if as_json else console.print(jobs_table(found))
