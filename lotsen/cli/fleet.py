"""`lotsen fleet ...`: seed and inspect the fleet."""

import time
from typing import Annotated

import typer

from lotsen.cli.context import console, print_json, progress_bar, settings_of
from lotsen.cli.render import status_tables
from lotsen.settings import Settings
from lotsen.world import build_world, current_world, open_cluster, open_registry
from tools.fleet.generate import generate_fleet
from tools.fleet.status import FleetStatus, fleet_status

app = typer.Typer(help="Seed and inspect the fleet of models and the cluster they run on.")


@app.command("init")
def init(
    ctx: typer.Context,
    models: Annotated[int, typer.Option(help="Number of models to create.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same fleet.")] = 7,
    force: Annotated[bool, typer.Option(help="Replace an existing fleet.")] = False,
) -> None:
    """Build a realistic fleet in the registry and the cluster twin (atomic)."""
    settings = settings_of(ctx)
    seconds = seed_world(settings, models, seed, force=force)
    size = sum(
        f.stat().st_size for f in current_world(settings).root.resolve().rglob("*") if f.is_file()
    )
    console.print(
        f"Seeded {models} models (seed {seed}) in {seconds:.1f} s; "
        f"world {size / 1e6:.1f} MB in {settings.data_dir}/world"
    )


def seed_world(settings: Settings, models: int, seed: int, *, force: bool) -> float:
    """Generate and seed a fleet with a progress bar; return the seconds it took."""
    start = time.perf_counter()
    spec = generate_fleet(models, seed)
    with progress_bar() as bar:
        task = bar.add_task("registering models", total=models)
        build_world(
            settings,
            spec,
            force=force,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    return time.perf_counter() - start


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Models per environment, GPU allocation versus use, deployments and jobs."""
    summary = load_status(settings_of(ctx))
    if as_json:
        print_json(summary)
        return
    for table in status_tables(summary):
        console.print(table)


def load_status(settings: Settings) -> FleetStatus:
    """Fleet status from the configured registry and cluster."""
    registry = open_registry(settings, current_world(settings))
    return fleet_status(registry, open_cluster(settings))
