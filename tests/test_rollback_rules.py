"""The rollback rule case by case, on a real alias history and a stand-in for the three
registry reads it makes (the champion alias, the history, the version numbers): which
record decides, which records do not, and the fallback to version numbers."""

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from pydantic import ValidationError

from tools.registry import (
    CHALLENGER,
    CHAMPION,
    AliasHistory,
    ModelRegistry,
    RollbackSource,
    RollbackTarget,
    rollback_target,
)

MODEL = "churn-0001"


class _Registry:
    """The reads `rollback_target` makes, over a real `AliasHistory`."""

    def __init__(self, history: AliasHistory, versions: list[int]) -> None:
        self.history = history
        self.versions = versions
        self.aliases: dict[str, int] = {}

    def move(self, alias: str, old: int | None, new: int, model: str = MODEL) -> int:
        """Record a move (as the registry does) and point the alias; return its seq."""
        if model == MODEL:
            self.aliases[alias] = new
        return self.history.record(model, alias, old, new, actor="ci", reason="deploy").seq

    def get_model(self, name: str) -> SimpleNamespace:
        assert name == MODEL
        return SimpleNamespace(aliases=dict(self.aliases))

    def alias_history(self, name: str | None = None) -> list[object]:
        return list(self.history.changes(name))

    def list_versions(self, name: str) -> list[SimpleNamespace]:
        assert name == MODEL
        return [SimpleNamespace(version=v) for v in self.versions]


@pytest.fixture
def history(tmp_path: Path) -> Iterator[AliasHistory]:
    opened = AliasHistory(tmp_path / "h.db")
    yield opened
    opened.close()


def _target(registry: _Registry, champion: int | None = None) -> RollbackTarget | None:
    return rollback_target(cast(ModelRegistry, registry), MODEL, champion)


def _from_history(champion: int, version: int, seq: int) -> RollbackTarget:
    return RollbackTarget(
        model=MODEL,
        from_version=champion,
        version=version,
        source=RollbackSource.ALIAS_HISTORY,
        change_seq=seq,
    )


def _from_numbers(champion: int, version: int) -> RollbackTarget:
    return RollbackTarget(
        model=MODEL, from_version=champion, version=version, source=RollbackSource.VERSION_NUMBERS
    )


# --- which record decides -----------------------------------------------------------------


def test_the_latest_move_onto_the_champion_decides(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHAMPION, None, 1)
    registry.move(CHAMPION, 1, 2)  # an older move onto 2, from 1
    registry.move(CHAMPION, 2, 3)
    latest = registry.move(CHAMPION, 3, 2)
    assert _target(registry) == _from_history(2, 3, latest)


def test_the_current_champion_is_read_when_none_is_given(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    seq = registry.move(CHAMPION, 1, 3)
    registry.move(CHALLENGER, None, 2)
    assert _target(registry) == _from_history(3, 1, seq)


def test_a_given_champion_is_used_instead_of_the_current_one(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHAMPION, 1, 2)
    made_3 = registry.move(CHAMPION, 2, 3)
    assert _target(registry, champion=3) == _from_history(3, 2, made_3)
    assert _target(registry, champion=2) == _from_history(2, 1, 1)


def test_no_champion_alias_means_no_target(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHALLENGER, 2, 3)
    assert _target(registry) is None


# --- which records do not decide ----------------------------------------------------------


def test_a_first_champion_with_no_previous_version_falls_back_to_numbers(
    history: AliasHistory,
) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHAMPION, None, 2)
    assert _target(registry) == _from_numbers(2, 1)


def test_moves_of_other_aliases_onto_the_champion_version_do_not_count(
    history: AliasHistory,
) -> None:
    registry = _Registry(history, [1, 2, 3, 4])
    registry.move(CHALLENGER, 1, 3)
    registry.move(CHAMPION, None, 3)
    assert _target(registry) == _from_numbers(3, 2)


def test_moves_of_another_models_champion_do_not_count(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHAMPION, None, 3)
    registry.move(CHAMPION, 1, 3, model="fraud-0007")  # later, and onto the same number
    assert _target(registry) == _from_numbers(3, 2)


def test_champion_moves_onto_other_versions_do_not_count(history: AliasHistory) -> None:
    registry = _Registry(history, [1, 2, 3])
    registry.move(CHAMPION, None, 1)
    registry.move(CHAMPION, 1, 2)
    assert _target(registry, champion=3) == _from_numbers(3, 2)


def test_setting_the_champion_again_to_the_same_version_is_not_a_move(
    history: AliasHistory,
) -> None:
    registry = _Registry(history, [1, 2, 3])
    made = registry.move(CHAMPION, 1, 3)
    registry.move(CHAMPION, 3, 3)  # a re-deploy of the same version
    assert _target(registry) == _from_history(3, 1, made)


# --- the version-number fallback ----------------------------------------------------------


def test_numbers_pick_the_newest_version_below_the_champion(history: AliasHistory) -> None:
    registry = _Registry(history, [2, 5, 1, 3, 4])
    registry.aliases[CHAMPION] = 4  # set outside Lotsen: no record
    assert _target(registry) == _from_numbers(4, 3)


def test_numbers_give_nothing_when_the_champion_is_the_lowest_version(
    history: AliasHistory,
) -> None:
    registry = _Registry(history, [1, 2])
    registry.aliases[CHAMPION] = 1
    assert _target(registry) is None


# --- the target itself --------------------------------------------------------------------


def test_describe_says_the_move_and_why() -> None:
    assert _from_history(2, 3, 7).describe() == (
        "v2 -> v3 (champion before its last move, alias history #7)"
    )
    assert _from_numbers(3, 2).describe() == (
        "v3 -> v2 (no earlier champion recorded; newest lower version number)"
    )


def test_a_target_is_frozen_documented_and_serialises_its_source_by_name() -> None:
    target = _from_numbers(3, 2)
    assert target.change_seq is None
    with pytest.raises(ValidationError, match="frozen"):
        target.version = 1  # type: ignore[misc]
    assert target.model_dump(mode="json")["source"] == "version_numbers"
    assert _from_history(2, 1, 1).model_dump(mode="json")["source"] == "alias_history"
    fields = RollbackTarget.model_fields
    assert fields["version"].description == "The version champion goes back to."
    assert fields["from_version"].description == "The champion being rolled back."
