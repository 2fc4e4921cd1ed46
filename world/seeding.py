"""Seeding the embedded demo world: built beside the current one, swapped in atomically."""

import logging
import os
import shutil
import time
from pathlib import Path

from tools.dir_lock import exclusive
from tools.errors import ConfigError, StateError
from tools.fleet.catalog import FleetCatalog
from tools.fleet.seed import Progress, seed_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri
from tools.registry.mlflow_registry import MLFLOW_KIND
from tools.state_manifest import record_store
from world.layout import WorldFiles, configure_mlflow_env
from world.settings import Settings

logger = logging.getLogger(__name__)


def build_world(
    settings: Settings,
    spec: FleetSpec,
    *,
    force: bool,
    expire_pending: bool = False,
    into_external_registry: bool = False,
    progress: Progress | None = None,
) -> WorldFiles:
    """Seed a new world and make it current atomically.

    The audit log, the approval queue and the incident memory live outside the world and
    are kept; re-seeding is recorded in the audit log.

    Raises:
        ConfigError: a world exists and `force` is not set, approvals are pending and
            `expire_pending` is not set, or LOTSEN_MLFLOW_URI names a registry Lotsen does
            not own and `into_external_registry` is not set.
    """
    if settings.mlflow_uri is not None and not into_external_registry:
        raise ConfigError(
            f"LOTSEN_MLFLOW_URI points at {settings.mlflow_uri}, a registry Lotsen does not "
            f"own: `fleet init` would register {len(spec.models)} synthetic models into it. "
            "Lotsen works on your models without it (attach mode); unset LOTSEN_MLFLOW_URI "
            "for the embedded demo fleet, or add --seed-into-external-registry to seed it anyway"
        )
    with exclusive(settings.data_dir, "re-seed the fleet", settings.lock_wait_s):
        return _build(settings, spec, force=force, expire_pending=expire_pending, progress=progress)


def _build(
    settings: Settings,
    spec: FleetSpec,
    *,
    force: bool,
    expire_pending: bool,
    progress: Progress | None,
) -> WorldFiles:
    data_dir = settings.data_dir
    link = data_dir / "world"
    if link.is_symlink() or link.exists():
        if not link.is_symlink():
            raise StateError(f"{link} is not a Lotsen world link; move it away")
        if not force:
            raise ConfigError(f"a fleet already exists in {data_dir}; add --force to replace it")
        _retire(settings, expire_pending=expire_pending)
    worlds = data_dir / "worlds"
    _remove_stale(worlds, link)
    staging = worlds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    staging.mkdir(parents=True)
    files = WorldFiles(staging)
    files.artifacts.mkdir()
    _seed_into(settings, spec, files, progress)
    _swap(link, staging)
    _remove_stale(worlds, link)
    return WorldFiles(link)


def _retire(settings: Settings, *, expire_pending: bool) -> None:
    """Before a re-seed: refuse (or expire) pending approvals, record the re-seed."""
    from world.world import World

    with World(settings) as world:
        now = world.clock()
        pending = world.approvals.requests(now, "pending")
        if pending and not expire_pending:
            ids = ", ".join(r.id for r in pending[:5]) + (" ..." if len(pending) > 5 else "")
            raise ConfigError(
                f"{len(pending)} approval request(s) are pending ({ids}); decide them first "
                "(`lotsen approvals list`), or add --expire-pending to expire them with the re-seed"
            )
        expired = world.approvals.expire([r.id for r in pending], now)
        world.audit.append(
            "fleet_reseeded",
            actor=world.user(role="admin"),
            data={"old_world": str(world.files.root.resolve().name), "expired": expired},
        )


def _seed_into(
    settings: Settings, spec: FleetSpec, files: WorldFiles, progress: Progress | None
) -> None:
    configure_mlflow_env()
    uri = settings.mlflow_uri or sqlite_uri(files.mlflow_db)
    registry = MlflowRegistry(uri, AliasHistory(files.alias_history_db), files.artifacts)
    catalog = FleetCatalog(files.fleet_db)
    try:
        twin = seed_fleet(spec, registry, files.cluster_db, catalog, progress)
        twin.close()
        if settings.mlflow_uri is None:
            record_store(files.mlflow_db, MLFLOW_KIND)
    finally:
        catalog.close()


def _swap(link: Path, target: Path) -> None:
    tmp = link.with_name(".world-new")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(target.relative_to(link.parent))
    os.replace(tmp, link)


def _remove_stale(worlds: Path, link: Path) -> None:
    """Delete worlds the link does not point at (old ones, or crashed seedings)."""
    if not worlds.is_dir():
        return
    keep = link.resolve() if link.is_symlink() else None
    for child in worlds.iterdir():
        if child.resolve() != keep:
            logger.info("removing stale world %s", child)
            shutil.rmtree(child, ignore_errors=True)
