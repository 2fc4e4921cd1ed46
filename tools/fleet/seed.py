"""Write a planned fleet into a registry, a twin and the fleet catalogue."""

import logging
from collections.abc import Callable
from pathlib import Path

from tools.cluster.sim import SimCluster
from tools.errors import ConflictError
from tools.fleet.catalog import FleetCatalog
from tools.fleet.spec import FleetSpec, ModelPlan
from tools.registry import CHALLENGER, CHAMPION, ModelRegistry

logger = logging.getLogger(__name__)

SEED_TAG = "lotsen.seed"
SEED_ACTOR = "lotsen-fleet-init"

Progress = Callable[[int, int], None]
"""Called with (models done, models total)."""


def seed_fleet(
    spec: FleetSpec,
    registry: ModelRegistry,
    cluster_path: Path,
    catalog: FleetCatalog,
    progress: Progress | None = None,
) -> SimCluster:
    """Register every model, build the twin and store the pipelines.

    Resumable: a model already registered by the same seed is skipped, so re-running after
    a crash finishes the job without duplicates.

    Raises:
        ConflictError: a model of the same name exists and was not seeded with this seed.
    """
    total = len(spec.models)
    for done, plan in enumerate(spec.models, start=1):
        _seed_model(plan, registry, spec.seed)
        if progress is not None:
            progress(done, total)
    twin = SimCluster.create(cluster_path, spec.cluster)
    catalog.add_pipelines(list(spec.pipelines))
    catalog.record_seed(spec.seed, total)
    return twin


def _seed_model(plan: ModelPlan, registry: ModelRegistry, seed: int) -> None:
    name = plan.model.name
    tagged = plan.model.model_copy(update={"tags": {**plan.model.tags, SEED_TAG: str(seed)}})
    try:
        registry.register_model(tagged)
        have = 0
    except ConflictError:
        existing = registry.get_model(name)
        if existing.tags.get(SEED_TAG) != str(seed):
            raise ConflictError(
                f"model {name!r} already exists in the registry and was not created by "
                f"`fleet init --seed {seed}`; use an empty registry"
            ) from None
        if CHAMPION in existing.aliases:
            return
        logger.info("resuming half-seeded model %s", name)
        have = len(registry.list_versions(name))
    for version in plan.versions[have:]:
        registry.create_version(name, version)
    if plan.challenger is not None:
        registry.set_alias(name, CHALLENGER, plan.challenger, actor=SEED_ACTOR, reason="seeded")
    registry.set_alias(name, CHAMPION, plan.champion, actor=SEED_ACTOR, reason="seeded")
