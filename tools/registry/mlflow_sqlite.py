"""Reading MLflow's model registry straight from its SQLite file, without importing MLflow.

Importing MLflow and building its SQLAlchemy stores costs seconds; a question such as
"who owns fraud-0001?" needs a few rows. `SqliteRegistryReader` answers the registry's
reads (models, versions, aliases, tags, a run's latest metrics) with plain `sqlite3` on a
file whose schema it was checked against (`KNOWN_REVISIONS`, MLflow's alembic revision)
and hands back rows shaped like MLflow's entities, which the same converters turn into
Lotsen's types, so an answer does not depend on which path read it. Anything it does not
model (another schema revision, MLflow prompts, workspaces other than the default one, an
empty name, a run row that is missing) is left to MLflow: `open_reader` returns None, or a
read raises `UnsupportedRead` and the caller asks MLflow instead. Writes always go through
MLflow.
"""

import posixpath
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

KNOWN_REVISIONS = frozenset({"dc11669786a5"})
"""MLflow schema revisions (alembic) whose registry tables this reader was checked against
(MLflow 3.17; `tests/test_registry_sqlite_reader.py` compares it with MLflow on one)."""
DEFAULT_WORKSPACE = "default"
"""The only workspace of MLflow's single-tenant store (the one Lotsen uses)."""
PROMPT_TAG = "mlflow.prompt.is_prompt"
"""MLflow's marker of a prompt stored as a registered model (MLflow filters those out)."""
DELETED_STAGE = "Deleted_Internal"
"""`current_stage` of a version MLflow deleted softly (never shown)."""


V = TypeVar("V")


class UnsupportedRead(Exception):
    """This read needs MLflow itself (a case the reader does not model)."""


@dataclass(frozen=True)
class ModelRow:
    """A registered model as MLflow's `RegisteredModel` entity exposes it."""

    name: str
    description: str | None
    tags: dict[str, str]
    """Tag key -> value, in MLflow's order (as the tags were first set)."""
    aliases: dict[str, int]
    """Alias -> version, in MLflow's order (by alias)."""


@dataclass(frozen=True)
class VersionRow:
    """A model version as MLflow's `ModelVersion` entity exposes it."""

    name: str
    version: int
    creation_timestamp: int
    """Milliseconds since the epoch."""
    description: str | None
    run_id: str | None
    tags: dict[str, str]
    aliases: list[str]
    """Filled by `get_version` only, as MLflow's search leaves them empty."""


def open_reader(path: Path) -> "SqliteRegistryReader | None":
    """A reader of the registry in `path`, or None when MLflow must read it itself."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    reader = SqliteRegistryReader(path)
    try:
        with reader.connection() as conn:
            revisions = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
            if not revisions or not revisions <= KNOWN_REVISIONS:
                return None
            if _has_foreign_rows(conn):
                return None
    except sqlite3.Error:
        return None
    return reader


def _has_foreign_rows(conn: sqlite3.Connection) -> bool:
    """Rows the reader does not model: prompts, workspaces other than the default one."""
    for table in ("registered_models", "model_versions"):
        if conn.execute(
            f"SELECT 1 FROM {table} WHERE workspace != ? LIMIT 1",
            (DEFAULT_WORKSPACE,),
        ).fetchone():
            return True
    for table in ("registered_model_tags", "model_version_tags"):
        if conn.execute(
            f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1",
            (PROMPT_TAG,),
        ).fetchone():
            return True
    return False


class SqliteRegistryReader:
    """Read-only queries over MLflow's registry tables (one short connection per read)."""

    def __init__(self, path: Path) -> None:
        """Read the MLflow SQLite file at `path` (opened read-only on each read)."""
        self.path = path

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection inside one read transaction (a consistent snapshot)."""
        uri = f"file:{self.path.resolve()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    # --- registered models ----------------------------------------------------------------
    def list_models(self) -> list[ModelRow]:
        """Every registered model, sorted by name (MLflow's `name ASC`)."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT name, description FROM registered_models WHERE workspace = ? ORDER BY name",
                (DEFAULT_WORKSPACE,),
            ).fetchall()
            tags = _grouped(
                conn.execute(
                    "SELECT name, key, value FROM registered_model_tags WHERE workspace = ? "
                    "ORDER BY rowid",
                    (DEFAULT_WORKSPACE,),
                )
            )
            aliases = _grouped(
                conn.execute(
                    "SELECT name, alias, version FROM registered_model_aliases "
                    "WHERE workspace = ? ORDER BY name, alias",
                    (DEFAULT_WORKSPACE,),
                )
            )
        return [
            ModelRow(name, description, tags.get(name, {}), aliases.get(name, {}))
            for name, description in rows
        ]

    def get_model(self, name: str) -> ModelRow | None:
        """One registered model, or None if there is none of that name."""
        _check_name(name)
        with self.connection() as conn:
            return _model(conn, name)

    # --- model versions -------------------------------------------------------------------
    def get_version(self, name: str, version: int) -> tuple[VersionRow, dict[str, float]] | None:
        """One version with its aliases and its run's latest metrics; None if it does not exist."""
        _check_name(name)
        with self.connection() as conn:
            found = _versions(conn, name, version)
            model = _model(conn, name)
            if not found or model is None:
                return None
            row = found[0]
            aliases = [alias for alias, v in model.aliases.items() if v == row.version]
            row = VersionRow(**{**row.__dict__, "aliases": aliases})
            return row, _metrics(conn, row.run_id)

    def list_versions(self, name: str) -> list[tuple[VersionRow, dict[str, float]]] | None:
        """Every version of a model with its run's metrics; None if the model does not exist."""
        _check_name(name)
        with self.connection() as conn:
            if _model(conn, name) is None:
                return None
            return [(row, _metrics(conn, row.run_id)) for row in _versions(conn, name)]

    def all_versions(self, model: str | None = None) -> list[VersionRow]:
        """Every version (of one model, or of all), tags only (no aliases, no metrics)."""
        if model is not None:
            _check_name(model)
        with self.connection() as conn:
            return _versions(conn, model)


def _check_name(name: str) -> None:
    """Leave names MLflow refuses or parses specially to MLflow (its own error messages)."""
    odd = not name.strip() or any(c in name for c in "/:'\\") or name.startswith(".")
    if odd or posixpath.normpath(name) != name:
        raise UnsupportedRead(f"model name {name!r}")


def _grouped(rows: Iterable[tuple[str, str, V]]) -> dict[str, dict[str, V]]:
    grouped: dict[str, dict[str, V]] = {}
    for name, key, value in rows:
        grouped.setdefault(name, {})[key] = value
    return grouped


def _model(conn: sqlite3.Connection, name: str) -> ModelRow | None:
    row = conn.execute(
        "SELECT description FROM registered_models WHERE workspace = ? AND name = ?",
        (DEFAULT_WORKSPACE, name),
    ).fetchone()
    if row is None:
        return None
    tags = conn.execute(
        "SELECT key, value FROM registered_model_tags WHERE workspace = ? AND name = ? "
        "ORDER BY rowid",
        (DEFAULT_WORKSPACE, name),
    ).fetchall()
    aliases = conn.execute(
        "SELECT alias, version FROM registered_model_aliases WHERE workspace = ? AND name = ? "
        "ORDER BY alias",
        (DEFAULT_WORKSPACE, name),
    ).fetchall()
    return ModelRow(name, row[0], dict(tags), dict(aliases))


def _versions(
    conn: sqlite3.Connection, name: str | None, version: int | None = None
) -> list[VersionRow]:
    """Versions that MLflow shows (soft-deleted ones left out), by model and version."""
    by_name = " AND name = ?" if name is not None else ""
    by_version = " AND version = ?" if version is not None else ""
    of = [v for v in (name, version) if v is not None]
    rows = conn.execute(
        "SELECT name, version, creation_time, description, run_id FROM model_versions "
        f"WHERE workspace = ? AND current_stage != ?{by_name}{by_version} ORDER BY name, version",
        [DEFAULT_WORKSPACE, DELETED_STAGE, *of],
    ).fetchall()
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for model, number, key, value in conn.execute(
        "SELECT name, version, key, value FROM model_version_tags "
        f"WHERE workspace = ?{by_name}{by_version} ORDER BY rowid",
        [DEFAULT_WORKSPACE, *of],
    ):
        tags.setdefault((model, number), {})[key] = value
    return [
        VersionRow(model, number, created, description, run_id, tags.get((model, number), {}), [])
        for model, number, created, description, run_id in rows
    ]


def _metrics(conn: sqlite3.Connection, run_id: str | None) -> dict[str, float]:
    """A run's latest metrics as MLflow's `get_run(...).data.metrics` has them."""
    if not run_id:
        return {}
    if conn.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)).fetchone() is None:
        raise UnsupportedRead(f"run {run_id} is missing")
    rows = conn.execute(
        "SELECT key, value, is_nan FROM latest_metrics WHERE run_uuid = ? ORDER BY rowid",
        (run_id,),
    ).fetchall()
    return {key: float("nan") if is_nan else value for key, value, is_nan in rows}
