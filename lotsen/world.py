"""The embedded world on disk, and the wiring of registry and cluster from settings.

Layout: `<data_dir>/world` is a symlink to `<data_dir>/worlds/<id>/`, which holds the
MLflow SQLite registry, the twin, the alias history and the fleet catalogue. `fleet init`
builds a new world beside the old one and swaps the symlink atomically, so a crash or
Ctrl-C mid-seeding leaves the previous world (or none) exactly as it was.
"""

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from lotsen.settings import Settings
from tools.cluster.protocol import Cluster
from tools.cluster.sim import SimCluster
from tools.errors import ConfigError, NotFoundError, StateError
from tools.fleet.catalog import FleetCatalog
from tools.fleet.seed import Progress, seed_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri

logger = logging.getLogger(__name__)

MLFLOW_ENV_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


@dataclass(frozen=True)
class WorldFiles:
    """Files of one world directory."""

    root: Path

    @property
    def mlflow_db(self) -> Path:
        """MLflow's SQLite registry."""
        return self.root / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        """MLflow artifact root."""
        return self.root / "artifacts"

    @property
    def cluster_db(self) -> Path:
        """The twin."""
        return self.root / "cluster.db"

    @property
    def alias_history_db(self) -> Path:
        """Append-only alias history."""
        return self.root / "alias_history.db"

    @property
    def telemetry_db(self) -> Path:
        """DuckDB telemetry (histograms and window facts)."""
        return self.root / "telemetry.duckdb"

    @property
    def audit_db(self) -> Path:
        """The hash-chained audit log."""
        return self.root / "audit.db"

    @property
    def remediation_db(self) -> Path:
        """Remediation runs, approvals, data incidents, watch list."""
        return self.root / "remediation.db"

    @property
    def checkpoints_db(self) -> Path:
        """LangGraph checkpoints of the remediation workflow."""
        return self.root / "checkpoints.db"

    @property
    def fleet_db(self) -> Path:
        """Feature pipelines and seeding facts."""
        return self.root / "fleet.db"


def configure_mlflow_env() -> None:
    """MLflow reads its options from the environment only: no telemetry, fail fast."""
    for key, value in MLFLOW_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def current_world(settings: Settings) -> WorldFiles:
    """The world in use; NotFoundError if none was seeded yet."""
    link = settings.data_dir / "world"
    if not link.exists():
        raise NotFoundError(
            f"no fleet in {settings.data_dir}; run `lotsen fleet init` (or set LOTSEN_DATA_DIR)"
        )
    return WorldFiles(link)


def open_registry(settings: Settings, world: WorldFiles) -> MlflowRegistry:
    """The model registry: MLflow server if configured, else the world's SQLite file."""
    configure_mlflow_env()
    uri = settings.mlflow_uri or sqlite_uri(world.mlflow_db)
    return MlflowRegistry(uri, AliasHistory(world.alias_history_db), world.artifacts)


def open_twin(settings: Settings) -> SimCluster:
    """The embedded twin of the current world."""
    return SimCluster(current_world(settings).cluster_db)


def open_cluster(settings: Settings) -> Cluster:
    """The cluster the settings point at."""
    if settings.cluster == "kubernetes":
        from lotsen.kube import kubernetes_cluster

        return kubernetes_cluster(settings)
    return open_twin(settings)


def build_world(
    settings: Settings, spec: FleetSpec, *, force: bool, progress: Progress | None = None
) -> WorldFiles:
    """Seed a new world and make it current atomically.

    Raises:
        ConfigError: a world exists and `force` is not set.
    """
    data_dir = settings.data_dir
    link = data_dir / "world"
    if link.is_symlink() or link.exists():
        if not link.is_symlink():
            raise StateError(f"{link} is not a Lotsen world link; move it away")
        if not force:
            raise ConfigError(f"a fleet already exists in {data_dir}; add --force to replace it")
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


def _seed_into(
    settings: Settings, spec: FleetSpec, files: WorldFiles, progress: Progress | None
) -> None:
    registry = open_registry(settings, files)
    catalog = FleetCatalog(files.fleet_db)
    try:
        twin = seed_fleet(spec, registry, files.cluster_db, catalog, progress)
        twin.close()
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
