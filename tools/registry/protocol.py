"""The `ModelRegistry` seam: what agents may ask of a model registry."""

from typing import Protocol

from tools.domain import AliasChange, ModelVersion, NewModel, NewVersion, RegisteredModel

CHAMPION = "champion"
CHALLENGER = "challenger"


class ModelRegistry(Protocol):
    """A model registry with aliases, tags, version metrics, lineage and alias history."""

    def list_models(self) -> list[RegisteredModel]:
        """All registered models."""
        ...

    def get_model(self, name: str) -> RegisteredModel:
        """One model; raises NotFoundError if unknown."""
        ...

    def register_model(self, spec: NewModel) -> RegisteredModel:
        """Register a new model; raises ConflictError if the name is taken."""
        ...

    def create_version(self, name: str, spec: NewVersion) -> ModelVersion:
        """Log a new version with its metrics and lineage."""
        ...

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version; raises NotFoundError if unknown."""
        ...

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, oldest first."""
        ...

    def all_versions(self, model: str | None = None) -> list[ModelVersion]:
        """Every version (of one model, or all) with tags and lineage; metrics left empty."""
        ...

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points to; raises NotFoundError if unset."""
        ...

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
        """Point an alias at a version and record the move (once per idempotency key)."""
        ...

    def delete_alias(self, name: str, alias: str, *, actor: str, reason: str) -> AliasChange:
        """Remove an alias and record it."""
        ...

    def alias_history(self, name: str | None = None) -> list[AliasChange]:
        """Recorded alias moves, oldest first."""
        ...

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set one tag on a registered model."""
        ...

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set one tag on a model version."""
        ...
