"""The data directory on disk: the re-seedable world and the state that outlives it.

Layout: `<data_dir>/world` is a symlink to `<data_dir>/worlds/<id>/`, which holds the
MLflow SQLite registry, the twin, the alias history, telemetry, remediation runs and the
fleet catalogue. `fleet init` builds a new world beside the old one and swaps the symlink
atomically, so a crash or Ctrl-C mid-seeding leaves the previous world (or none) exactly as
it was. `<data_dir>/state/` holds what a re-seed never deletes: the audit log, the approval
queue and the incident memory.

Attach mode: with `LOTSEN_MLFLOW_URI` set and no seeded world, the registry is the user's
own and `<data_dir>/attached/` (created on first use) holds Lotsen's stores beside it:
alias history, telemetry, remediation runs, checkpoints and, with the `sim` cluster, an
empty twin (no nodes, namespaces or deployments).
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tools.errors import NotFoundError
from world.settings import Settings

logger = logging.getLogger(__name__)

MLFLOW_ENV_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


ATTACHED_DIR = "attached"
"""Directory of attach mode's own stores in the data dir."""


@dataclass(frozen=True)
class WorldFiles:
    """Files of one world directory."""

    root: Path
    attached: bool = False
    """True for attach mode: the registry is an existing MLflow, not a seeded one."""

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
    def legacy_audit_db(self) -> Path:
        """Where the audit log lived before it moved to the state directory."""
        return self.root / "audit.db"

    @property
    def remediation_db(self) -> Path:
        """Remediation runs, data incidents, quarantine, watch list."""
        return self.root / "remediation.db"

    @property
    def checkpoints_db(self) -> Path:
        """LangGraph checkpoints of the remediation workflow."""
        return self.root / "checkpoints.db"

    @property
    def fleet_db(self) -> Path:
        """Feature pipelines and seeding facts."""
        return self.root / "fleet.db"


@dataclass(frozen=True)
class StateFiles:
    """What outlives a re-seed: the audit log, approvals and the incident memory."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path, world: "WorldFiles | None" = None) -> "StateFiles":
        """The state directory of a data dir, moving state out of an older world layout."""
        state = cls(data_dir / "state")
        state.root.mkdir(parents=True, exist_ok=True)
        if world is not None:
            state.adopt_legacy(world)
        return state

    @property
    def audit_db(self) -> Path:
        """The hash-chained audit log."""
        return self.root / "audit.db"

    @property
    def approvals_db(self) -> Path:
        """The approval queue of every agent."""
        return self.root / "approvals.db"

    @property
    def incident_memory(self) -> Path:
        """Chroma's directory of past incidents and runbooks."""
        return self.root / "incident_memory"

    def adopt_legacy(self, world: "WorldFiles") -> None:
        """Move the audit log and incident memory out of a world of the older layout."""
        moves = [
            (world.legacy_audit_db, self.audit_db),
            (world.root / "incident_memory", self.incident_memory),
        ]
        for old, new in moves:
            if old.exists() and not new.exists():
                logger.info("moving %s to %s (state outlives re-seeding)", old, new)
                for suffix in ("", "-wal", "-shm"):
                    side = old.with_name(old.name + suffix)
                    if side.exists():
                        os.replace(side, new.with_name(new.name + suffix))


def configure_mlflow_env() -> None:
    """MLflow reads its options from the environment only: no telemetry, fail fast."""
    for key, value in MLFLOW_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)


def current_world(settings: Settings) -> WorldFiles:
    """The world in use: the seeded one, else attach mode when an MLflow URI is set.

    Raises:
        NotFoundError: no fleet was seeded and no registry to attach to is configured.
    """
    link = settings.data_dir / "world"
    if link.exists():
        return WorldFiles(link)
    if settings.mlflow_uri is not None:
        return attached_world(settings)
    raise NotFoundError(
        f"no fleet in {settings.data_dir}; run `lotsen fleet init` for the embedded demo "
        "fleet, or set LOTSEN_MLFLOW_URI to attach to your MLflow registry"
    )


def attached_world(settings: Settings) -> WorldFiles:
    """Lotsen's own stores beside an attached registry, `<data_dir>/attached/` (created)."""
    files = WorldFiles(settings.data_dir / ATTACHED_DIR, attached=True)
    files.artifacts.mkdir(parents=True, exist_ok=True)
    return files
