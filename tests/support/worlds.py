"""Seeded worlds for tests: built once, used through private copies."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.fleet.generate import generate_fleet
from world.monitoring import simulate_telemetry
from world.seeding import build_world
from world.settings import Settings
from world.world import World


def seed_with_telemetry(data: Path, models: int, seed: int) -> Path:
    """Seed a world into `data` and simulate two windows of telemetry with the demo faults."""
    settings = Settings(data_dir=data)
    build_world(settings, generate_fleet(models, seed=seed), force=False)
    with World(settings) as world:
        simulate_telemetry(world, seed=seed, windows=2, rows=3000, faults=True)
    return data


@contextmanager
def opened_copy(seeded: Path, tmp_path: Path) -> Iterator[World]:
    """The World of a private copy of a seeded data dir (closed afterwards)."""
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    with World(Settings(data_dir=copy)) as world:
        yield world


def full_world_with_pending_approval(data: Path) -> Path:
    """A 24-model world where every store exists; `bob` proposed a retrain awaiting approval."""
    from agents.remediation.runner import remediate
    from world.monitoring import scan_fleet
    from world.remediation import open_workflow

    seed_with_telemetry(data, 24, seed=5)
    with World(Settings(data_dir=data)) as world, open_workflow(world, "bob") as wf:
        incidents = scan_fleet(world).incidents
        for incident in incidents:
            if incident.kind == "drift_with_performance_drop":
                for name in incident.models:  # high-risk: the retrain waits for a human
                    world.registry.set_model_tag(name, "ai_act_risk", "high")
        remediate(incidents, wf.world, wf.graph, wf.proposer)
        if not world.approvals.requests(world.clock(), "pending"):
            raise AssertionError("the seeded faults no longer leave a retrain for a human")
    return data
