"""`lotsen fleet ...`: seed and inspect the fleet."""

import time
from typing import Annotated

import typer

from lotsen.cli.context import console, print_json, progress_bar, settings_of, world_of
from lotsen.cli.render import status_tables
from tools.fleet.generate import generate_fleet
from tools.fleet.status import FleetStatus, fleet_status
from world.layout import current_world
from world.seeding import build_world
from world.settings import Settings
from world.world import World

app = typer.Typer(help="Seed and inspect the fleet of models and the cluster they run on.")


@app.command("init")
def init(
    ctx: typer.Context,
    models: Annotated[int, typer.Option(help="Number of models to create.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same fleet.")] = 7,
    force: Annotated[
        bool, typer.Option(help="Replace an existing fleet (audit, approvals, memory are kept).")
    ] = False,
    expire_pending: Annotated[
        bool, typer.Option(help="With --force: expire pending approval requests.")
    ] = False,
    seed_into_external_registry: Annotated[
        bool,
        typer.Option(
            help="Register the synthetic fleet into the MLflow of LOTSEN_MLFLOW_URI "
            "(refused without it: that registry is not Lotsen's)."
        ),
    ] = False,
) -> None:
    """Build a realistic demo fleet in the embedded registry and the cluster twin (atomic)."""
    settings = settings_of(ctx)
    seconds = seed_world(
        settings,
        models,
        seed,
        force=force,
        expire_pending=expire_pending,
        into_external_registry=seed_into_external_registry,
    )
    size = sum(
        f.stat().st_size for f in current_world(settings).root.resolve().rglob("*") if f.is_file()
    )
    console.print(
        f"Seeded {models} models (seed {seed}) in {seconds:.1f} s; "
        f"world {size / 1e6:.1f} MB in {settings.data_dir}/world"
    )
    if force:
        console.print(
            f"Kept in {settings.data_dir}/state: the audit log, the approval queue and the "
            "incident memory."
        )


def seed_world(
    settings: Settings,
    models: int,
    seed: int,
    *,
    force: bool,
    expire_pending: bool = False,
    into_external_registry: bool = False,
) -> float:
    """Generate and seed a fleet with a progress bar; return the seconds it took."""
    start = time.perf_counter()
    spec = generate_fleet(models, seed)
    with progress_bar() as bar:
        task = bar.add_task("registering models", total=models)
        build_world(
            settings,
            spec,
            force=force,
            expire_pending=expire_pending,
            into_external_registry=into_external_registry,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    return time.perf_counter() - start


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Models per environment, GPU allocation versus use, deployments and jobs."""
    summary = load_status(world_of(ctx))
    if as_json:
        print_json(summary)
        return
    for table in status_tables(summary):
        console.print(table)


def load_status(world: World) -> FleetStatus:
    """Fleet status from the world's registry and cluster."""
    return fleet_status(world.registry, world.cluster, world.capacity)
