"""The one rollback rule: champion goes back to the version it pointed at before its last move.

The alias history knows that version; version numbers do not (a champion moved
v1 -> v3 -> v2 rolls back to v3, not v1). Only when the history has no record of an earlier
champion (a seeded alias, a move made outside Lotsen) does the rule fall back to the newest
version numbered below the champion, and the result says so.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tools.domain import AliasChange
from tools.registry.protocol import CHAMPION, ModelRegistry


class RollbackSource(StrEnum):
    """Where a rollback target came from."""

    ALIAS_HISTORY = "alias_history"
    """The recorded move that made the champion: its previous version."""
    VERSION_NUMBERS = "version_numbers"
    """No recorded earlier champion: the newest version numbered below the champion."""


class RollbackTarget(BaseModel):
    """Where a model's champion goes when it is rolled back."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    model: str
    from_version: int
    """The champion being rolled back."""
    version: int
    """The version champion goes back to."""
    source: RollbackSource
    change_seq: int | None = None
    """The alias-history record the target comes from (None for version numbers)."""

    def describe(self) -> str:
        """One line: the move and why this target."""
        why = (
            f"champion before its last move, alias history #{self.change_seq}"
            if self.source is RollbackSource.ALIAS_HISTORY
            else "no earlier champion recorded; newest lower version number"
        )
        return f"v{self.from_version} -> v{self.version} ({why})"


def rollback_target(
    registry: ModelRegistry, model: str, champion: int | None = None
) -> RollbackTarget | None:
    """The version a rollback of `model`'s champion goes to, or None when there is none.

    Args:
        registry: The model registry (its alias history and versions).
        model: The registered model.
        champion: The champion to roll back (default: the current one). Pass the champion
            a plan was made for, so that a re-run after the rollback finds the same target.

    Returns:
        From the alias history, the version champion pointed at before the latest move
        that made `champion` champion; without such a record, the newest version numbered
        below `champion`. None when the model has no champion or nothing to go back to.
    """
    if champion is None:
        champion = registry.get_model(model).aliases.get(CHAMPION)
        if champion is None:
            return None
    made = _latest_move_to(registry.alias_history(model), champion)
    if made is not None and made.old_version is not None:
        return RollbackTarget(
            model=model,
            from_version=champion,
            version=made.old_version,
            source=RollbackSource.ALIAS_HISTORY,
            change_seq=made.seq,
        )
    earlier = [v.version for v in registry.list_versions(model) if v.version < champion]
    if not earlier:
        return None
    return RollbackTarget(
        model=model,
        from_version=champion,
        version=max(earlier),
        source=RollbackSource.VERSION_NUMBERS,
    )


def _latest_move_to(history: list[AliasChange], version: int) -> AliasChange | None:
    """The latest recorded move of champion onto `version` from elsewhere."""
    moves = [
        c
        for c in history
        if c.alias == CHAMPION and c.new_version == version and c.old_version != version
    ]
    return max(moves, key=lambda c: c.seq, default=None)
