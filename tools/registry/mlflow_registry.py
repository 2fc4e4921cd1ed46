"""`ModelRegistry` on MLflow's own model registry (SQLite file or tracking server).

On a local SQLite file the reads go through `SqliteRegistryReader` (no MLflow import, which
costs seconds per command); writes, and every read the reader leaves to MLflow, go through
an `MlflowClient` created on first use.
"""

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import Any

from tools.domain import AliasChange, ModelVersion, NewModel, NewVersion, RegisteredModel
from tools.errors import BackendUnavailableError, ConflictError, NotFoundError, StateError
from tools.registry.alias_history import AliasHistory
from tools.registry.mlflow_sqlite import UnsupportedRead, open_reader
from tools.registry.mlflow_tags import (
    lineage_tags,
    model_tags,
    to_model_version,
    to_registered_model,
)
from tools.state_db import is_sqlite
from tools.state_manifest import RESTORE_HINT, expect_store, record_store, refuse_emptied

logger = logging.getLogger(__name__)
MLFLOW_KIND = "mlflow"
"""Manifest kind of an embedded MLflow SQLite registry."""

TRAINING_EXPERIMENT = "lotsen-training"
_MLFLOW_TABLES = {"registered_models", "model_versions", "alembic_version"}


def sqlite_uri(path: Path) -> str:
    """MLflow tracking URI of a local SQLite file."""
    return f"sqlite:///{path.resolve()}"


class MlflowRegistry:
    """Model registry backed by MLflow; alias moves are also kept in an `AliasHistory`."""

    def __init__(self, tracking_uri: str, history: AliasHistory, artifact_root: Path) -> None:
        """Connect to MLflow at `tracking_uri` (checked now; MLflow is imported on first use).

        Args:
            tracking_uri: `sqlite:///...` for the embedded default, or an http(s) server URL.
            history: Where alias moves are recorded.
            artifact_root: Artifact location for the training experiment Lotsen creates.
        """
        _check_reachable(tracking_uri)
        self._uri = tracking_uri
        self._reader = (
            open_reader(Path(tracking_uri.removeprefix("sqlite:///")))
            if tracking_uri.startswith("sqlite:///")
            else None
        )
        self._history = history
        self._artifact_root = artifact_root
        self._experiment_id: str | None = None

    @cached_property
    def _client(self) -> Any:
        """The MlflowClient (imports MLflow: only writes and reads the reader leaves need it)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self._uri, registry_uri=self._uri)

    def list_models(self) -> list[RegisteredModel]:
        """All registered models, sorted by name."""
        if self._reader is not None:
            return [to_registered_model(rm) for rm in self._reader.list_models()]
        models: list[RegisteredModel] = []
        token: str | None = None
        with self._errors():
            while True:
                page = self._client.search_registered_models(
                    max_results=1000, page_token=token, order_by=["name ASC"]
                )
                models.extend(to_registered_model(rm) for rm in page)
                token = page.token
                if not token:
                    return models

    def get_model(self, name: str) -> RegisteredModel:
        """One model; NotFoundError if unknown."""
        if self._reader is not None:
            with suppress(UnsupportedRead):
                found = self._reader.get_model(name)
                if found is None:
                    raise _not_found(name, None)
                return to_registered_model(found)
        with self._errors(model=name):
            return to_registered_model(self._client.get_registered_model(name))

    def register_model(self, spec: NewModel) -> RegisteredModel:
        """Register a model with its Lotsen metadata as tags."""
        with self._errors(model=spec.name):
            rm = self._client.create_registered_model(
                spec.name, tags=model_tags(spec), description=spec.description
            )
        return to_registered_model(rm)

    def create_version(self, name: str, spec: NewVersion) -> ModelVersion:
        """Log a training run with the metrics, then register a version pointing at it."""
        from mlflow.entities import Metric

        with self._errors(model=name):
            self._client.get_registered_model(name)
            run = self._client.create_run(
                self._training_experiment(), run_name=f"{name}-train", tags={"model": name}
            )
            run_id = run.info.run_id
            now_ms = int(time.time() * 1000)
            metrics = [Metric(k, v, now_ms, 0) for k, v in sorted(spec.metrics.items())]
            self._client.log_batch(run_id, metrics=metrics)
            self._client.set_terminated(run_id)
            lineage = spec.lineage.model_copy(update={"run_id": run_id})
            mv = self._client.create_model_version(
                name,
                source=f"runs:/{run_id}/model",
                run_id=run_id,
                tags={**spec.tags, **lineage_tags(lineage)},
                description=spec.description,
            )
        return to_model_version(mv, dict(spec.metrics))

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version with its run's metrics."""
        if self._reader is not None:
            with suppress(UnsupportedRead):
                found = self._reader.get_version(name, version)
                if found is None:
                    raise _not_found(name, version)
                return to_model_version(*found)
        with self._errors(model=name, version=version):
            mv = self._client.get_model_version(name, str(version))
            return to_model_version(mv, self._run_metrics(mv.run_id))

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        if self._reader is not None:
            with suppress(UnsupportedRead):
                rows = self._reader.list_versions(name)
                if rows is None:
                    raise _not_found(name, None)
                return [to_model_version(mv, metrics) for mv, metrics in rows]
        with self._errors(model=name):
            self._client.get_registered_model(name)
            found = self._client.search_model_versions(f"name = '{_quote(name)}'")
            versions = sorted(found, key=lambda mv: int(mv.version))
            return [to_model_version(mv, self._run_metrics(mv.run_id)) for mv in versions]

    def all_versions(self, model: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or all), tags and lineage only: metrics left empty."""
        if self._reader is not None:
            with suppress(UnsupportedRead):
                return [to_model_version(mv, {}) for mv in self._reader.all_versions(model)]
        found: list[ModelVersion] = []
        token = None
        where = f"name = '{_quote(model)}'" if model is not None else None
        with self._errors(model=model):
            while True:
                page = self._client.search_model_versions(
                    where, max_results=10000, page_token=token
                )
                found.extend(to_model_version(mv, {}) for mv in page)
                token = page.token
                if not token:
                    return sorted(found, key=lambda v: (v.model, v.version))

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points to."""
        model = self.get_model(name)
        if alias not in model.aliases:
            have = ", ".join(sorted(model.aliases)) or "none"
            raise NotFoundError(f"model {name!r} has no alias {alias!r} (aliases: {have})")
        return self.get_version(name, model.aliases[alias])

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> AliasChange:
        """Move an alias to a version and append the move to the history.

        With an idempotency key, a repeated call (e.g. a workflow step re-run after a crash)
        records the move once, even if the crash fell between MLflow and the history.
        """
        if idempotency_key is not None:
            done = self._history.find(idempotency_key)
            if done is not None:
                return done
        old = self.get_model(name).aliases.get(alias)
        with self._errors(model=name, version=version):
            self._client.get_model_version(name, str(version))
            self._client.set_registered_model_alias(name, alias, str(version))
        logger.info("alias %s@%s: %s -> %s by %s", name, alias, old, version, actor)
        if old == version and idempotency_key is not None:
            old = self._previous_target(name, alias, version)
        return self._history.record(
            name, alias, old, version, actor=actor, reason=reason, idempotency_key=idempotency_key
        )

    def _previous_target(self, name: str, alias: str, version: int) -> int | None:
        """Where the alias pointed before `version`, from the history (crash recovery)."""
        earlier = [c for c in self._history.changes(name) if c.alias == alias]
        return earlier[-1].new_version if earlier and earlier[-1].new_version != version else None

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str) -> AliasChange:
        """Remove an alias and append the removal to the history."""
        old = self.get_alias(name, alias).version
        with self._errors(model=name):
            self._client.delete_registered_model_alias(name, alias)
        return self._history.record(name, alias, old, None, actor=actor, reason=reason)

    def alias_history(self, name: str | None = None) -> list[AliasChange]:
        """Recorded alias moves, oldest first."""
        if name is not None:
            self.get_model(name)
        return self._history.changes(name)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set one tag on a registered model."""
        with self._errors(model=name):
            self._client.set_registered_model_tag(name, key, value)

    @property
    def client(self) -> Any:
        """The underlying MlflowClient: out-of-band changes (fault injection), nothing else."""
        return self._client

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set one tag on a model version (e.g. its recorded approval)."""
        with self._errors(model=name, version=version):
            self._client.set_model_version_tag(name, str(version), key, value)

    def _training_experiment(self) -> str:
        if self._experiment_id is None:
            found = self._client.get_experiment_by_name(TRAINING_EXPERIMENT)
            if found is not None:
                self._experiment_id = str(found.experiment_id)
            else:
                location = self._artifact_root.resolve().as_uri()
                self._experiment_id = self._client.create_experiment(
                    TRAINING_EXPERIMENT, artifact_location=location
                )
        return self._experiment_id

    def _run_metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        return dict(self._client.get_run(run_id).data.metrics)

    @contextmanager
    def _errors(self, model: str | None = None, version: int | None = None) -> Iterator[None]:
        """Turn MLflow's exceptions into Lotsen's, naming the object involved."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            raise _translate(exc, self._uri, model, version) from exc


def _translate(
    exc: Any, uri: str, model: str | None, version: int | None
) -> BackendUnavailableError | ConflictError | NotFoundError | StateError:
    code = getattr(exc, "error_code", "")
    if code == "RESOURCE_DOES_NOT_EXIST":
        return _not_found(model, version)
    if code == "RESOURCE_ALREADY_EXISTS":
        return ConflictError(f"model {model!r} already exists in the registry")
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if uri.startswith("http"):
        return BackendUnavailableError(f"MLflow at {uri} failed: {message}")
    return StateError(f"MLflow registry at {uri} failed: {message}")


def _not_found(model: str | None, version: int | None) -> NotFoundError:
    if version is not None:
        return NotFoundError(f"model {model!r} has no version {version}")
    return NotFoundError(f"unknown model {model!r}; `lotsen models list` shows the registered ones")


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def _check_reachable(uri: str) -> None:
    """Fail fast, with a clear message, on a dead server or a file that is not MLflow's."""
    if uri.startswith(("http://", "https://")):
        _check_server(uri)
    elif uri.startswith("sqlite:///"):
        _check_sqlite(Path(uri.removeprefix("sqlite:///")))


def _check_server(uri: str) -> None:
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5):
            return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackendUnavailableError(
            f"cannot reach MLflow at {uri} ({reason}); start the server or unset LOTSEN_MLFLOW_URI"
        ) from exc


def _check_sqlite(path: Path) -> None:
    listed = expect_store(path, MLFLOW_KIND)
    if not path.exists() or path.stat().st_size == 0:
        return
    if not is_sqlite(path):
        raise StateError(f"{path} is not a SQLite database (corrupt?); {RESTORE_HINT}")
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{path} is not a usable SQLite database ({exc}); {RESTORE_HINT}"
            ) from exc
    tables = {row[0] for row in rows}
    refuse_emptied(path, "MLflow", listed=listed, has_tables=bool(tables))
    if not _MLFLOW_TABLES <= tables:
        raise StateError(f"{path} is a SQLite database but not an MLflow registry; move it away")
    if not listed:
        record_store(path, MLFLOW_KIND)
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path} is not a usable SQLite database ({exc})") from exc
    if not _MLFLOW_TABLES <= {row[0] for row in rows}:
        raise StateError(f"{path} is a SQLite database but not an MLflow registry; move it away")
