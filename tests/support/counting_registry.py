"""A `ModelRegistry` that counts the reads it passes on, per method and model.

Wraps a real registry (every call goes through); on a remote MLflow server each counted
read is at least one HTTP request, so the counts are what a run costs there.
"""

from collections import Counter

from tools.domain import AliasChange, ModelVersion, NewModel, NewVersion, RegisteredModel
from tools.registry import ModelRegistry

ALL = "*"
"""The model name counted for reads of every model (`list_models`, `all_versions()`)."""


class CountingRegistry:
    """Passes every call to `inner`; counts reads as (method, model) pairs."""

    def __init__(self, inner: ModelRegistry) -> None:
        """Count the reads made of `inner` from now on."""
        self.inner = inner
        self.reads: Counter[tuple[str, str]] = Counter()

    def _read(self, method: str, model: str | None) -> None:
        self.reads[(method, model or ALL)] += 1

    def count(self, method: str | None = None, model: str | None = None) -> int:
        """Reads of `method` (default: every read method) of `model` (default: any)."""
        return sum(
            n
            for (m, name), n in self.reads.items()
            if (method is None or m == method) and (model is None or name == model)
        )

    def reset(self) -> None:
        """Forget what was counted so far."""
        self.reads.clear()

    # --- reads ------------------------------------------------------------------------------
    def list_models(self) -> list[RegisteredModel]:
        """All registered models (counted under `*`)."""
        self._read("list_models", None)
        return self.inner.list_models()

    def get_model(self, name: str) -> RegisteredModel:
        """One model."""
        self._read("get_model", name)
        return self.inner.get_model(name)

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version."""
        self._read("get_version", name)
        return self.inner.get_version(name, version)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, with metrics."""
        self._read("list_versions", name)
        return self.inner.list_versions(name)

    def all_versions(self, model: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or all), without metrics."""
        self._read("all_versions", model)
        return self.inner.all_versions(model)

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points to."""
        self._read("get_alias", name)
        return self.inner.get_alias(name, alias)

    def alias_history(self, name: str | None = None) -> list[AliasChange]:
        """Recorded alias moves."""
        self._read("alias_history", name)
        return self.inner.alias_history(name)

    # --- writes (not counted) ---------------------------------------------------------------
    def register_model(self, spec: NewModel) -> RegisteredModel:
        """Register a new model."""
        return self.inner.register_model(spec)

    def create_version(self, name: str, spec: NewVersion) -> ModelVersion:
        """Log a new version."""
        return self.inner.create_version(name, spec)

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
        """Point an alias at a version."""
        return self.inner.set_alias(
            name, alias, version, actor=actor, reason=reason, idempotency_key=idempotency_key
        )

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str) -> AliasChange:
        """Remove an alias."""
        return self.inner.delete_alias(name, alias, actor=actor, reason=reason)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set one tag on a registered model."""
        self.inner.set_model_tag(name, key, value)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set one tag on a model version."""
        self.inner.set_version_tag(name, version, key, value)
