from pathlib import Path

import pytest

from tools.cluster.sim import SimCluster
from tools.domain import AiActRisk, Environment
from tools.errors import ConfigError, ConflictError, NotFoundError
from tools.fleet.catalog import FleetCatalog
from tools.fleet.generate import generate_fleet
from tools.fleet.seed import SEED_ACTOR, seed_fleet
from tools.fleet.spec import FleetSpec
from tools.fleet.status import fleet_status
from tools.registry import CHAMPION, MlflowRegistry
from world.layout import current_world
from world.seeding import build_world
from world.settings import Settings
from world.world import World


class Crash(Exception):
    pass


def crash_after(models: int):  # type: ignore[no-untyped-def]
    def progress(done: int, total: int) -> None:
        if done == models:
            raise Crash

    return progress


def test_same_seed_same_fleet_other_seed_other_fleet() -> None:
    assert generate_fleet(40, seed=5) == generate_fleet(40, seed=5)
    assert generate_fleet(40, seed=5) != generate_fleet(40, seed=6)


@pytest.mark.parametrize("models", [0, -3])
def test_fleet_size_must_be_positive(models: int) -> None:
    with pytest.raises(ConfigError, match="positive number of models"):
        generate_fleet(models, seed=1)


def test_generated_fleet_is_realistic() -> None:
    fleet = generate_fleet(300, seed=11)
    envs = {m.model.env for m in fleet.models}
    assert envs == set(Environment)
    high = [m for m in fleet.models if m.model.ai_act_risk is AiActRisk.HIGH]
    assert high and all(m.model.change_plan is not None for m in high)
    assert len({m.model.owner for m in fleet.models}) >= 6
    assert len({m.model.pipeline for m in fleet.models}) == len(fleet.pipelines)
    for plan in fleet.models:
        assert 1 <= plan.champion <= len(plan.versions)
        assert plan.challenger in (None, len(plan.versions))
    prod_pools = [p.pool for p in fleet.cluster.pools if p.pool.env is Environment.PROD]
    assert prod_pools and all(p.taints for p in prod_pools)


def test_seeded_twin_places_every_replica_within_quota(tmp_path: Path) -> None:
    fleet = generate_fleet(300, seed=11)
    twin = SimCluster.create(tmp_path / "c.db", fleet.cluster)
    deployments = twin.deployments()
    assert len(deployments) == 300
    assert all(d.ready_replicas == d.replicas for d in deployments)
    assert all(ns.gpu_quota is not None and ns.gpu_used <= ns.gpu_quota for ns in twin.namespaces())
    idle = [d for d in deployments if d.requests_per_s == 0]
    assert idle, "a realistic fleet has scale-to-zero candidates"


def test_seed_fleet_fills_registry_and_twin(
    registry: MlflowRegistry, small_fleet: FleetSpec, tmp_path: Path
) -> None:
    catalog = FleetCatalog(tmp_path / "fleet.db")
    twin = seed_fleet(small_fleet, registry, tmp_path / "cluster.db", catalog)
    models = registry.list_models()
    assert len(models) == 24
    assert all(CHAMPION in m.aliases for m in models)
    plan = small_fleet.models[0]
    assert len(registry.list_versions(plan.model.name)) == len(plan.versions)
    assert {c.actor for c in registry.alias_history()} == {SEED_ACTOR}
    assert len(catalog.pipelines()) == len(small_fleet.pipelines)
    assert catalog.seeding() == {"seed": 3, "models": 24}

    status = fleet_status(registry, twin)
    assert sum(e.models for e in status.envs) == 24
    assert sum(e.deployments for e in status.envs) == 24
    assert sum(e.replicas_ready for e in status.envs) == sum(
        e.replicas_desired for e in status.envs
    )
    assert status.namespaces_over_quota == 0
    assert sum(p.allocated for p in status.pools) > 0


def test_seeding_resumes_after_a_crash_without_duplicates(
    registry: MlflowRegistry, small_fleet: FleetSpec, tmp_path: Path
) -> None:
    catalog = FleetCatalog(tmp_path / "fleet.db")
    with pytest.raises(Crash):
        seed_fleet(small_fleet, registry, tmp_path / "c.db", catalog, progress=crash_after(10))
    assert len(registry.list_models()) == 10
    seed_fleet(small_fleet, registry, tmp_path / "c.db", catalog)
    assert len(registry.list_models()) == 24
    for plan in small_fleet.models:
        assert len(registry.list_versions(plan.model.name)) == len(plan.versions)
    assert len(registry.alias_history()) == sum(
        1 + (p.challenger is not None) for p in small_fleet.models
    )


def test_seeding_refuses_a_registry_it_did_not_create(
    registry: MlflowRegistry, small_fleet: FleetSpec, tmp_path: Path
) -> None:
    seed_fleet(small_fleet, registry, tmp_path / "c.db", FleetCatalog(tmp_path / "f.db"))
    other = generate_fleet(24, seed=4)
    clash = other.model_copy(update={"models": small_fleet.models[:1]})
    with pytest.raises(ConflictError, match="not created by `fleet init --seed 4`"):
        seed_fleet(clash, registry, tmp_path / "c2.db", FleetCatalog(tmp_path / "f2.db"))


@pytest.mark.slow
def test_world_swap_is_atomic(tmp_path: Path, small_fleet: FleetSpec) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(Crash):
        build_world(settings, small_fleet, force=False, progress=crash_after(5))
    with pytest.raises(NotFoundError, match="no fleet"):
        current_world(settings)

    build_world(settings, small_fleet, force=False)
    assert len(list((tmp_path / "data" / "worlds").iterdir())) == 1  # the crashed one is gone
    with pytest.raises(ConfigError, match="add --force"):
        build_world(settings, small_fleet, force=False)

    bigger = generate_fleet(30, seed=9)
    with pytest.raises(Crash):
        build_world(settings, bigger, force=True, progress=crash_after(3))
    world = World(settings)
    registry = world.registry
    assert len(registry.list_models()) == 24  # the old world is untouched
    assert len(world.cluster.deployments()) == 24
    world.close()
