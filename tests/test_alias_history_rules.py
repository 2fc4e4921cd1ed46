"""The alias history's rules on its own: what a record holds, once per idempotency key,
reads in order (all or one model), its own schema name, UTC times, and closing."""

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tools.domain import AliasChange
from tools.errors import StateError
from tools.registry import CHALLENGER, CHAMPION, AliasHistory
from tools.registry.alias_history import _MIGRATIONS
from tools.state_db import open_state_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class _Clock:
    """A clock that moves one minute per reading."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        return T0 + timedelta(minutes=self.readings - 1)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[AliasHistory]:
    opened = AliasHistory(tmp_path / "h.db", clock=_Clock())
    yield opened
    opened.close()


def test_a_record_returns_every_field_as_stored_and_read_back(history: AliasHistory) -> None:
    change = history.record("m", CHAMPION, 1, 2, actor="ci", reason="deploy v2")
    assert change == AliasChange(
        seq=1,
        at=T0,
        model="m",
        alias=CHAMPION,
        old_version=1,
        new_version=2,
        actor="ci",
        reason="deploy v2",
    )
    assert history.changes() == [change]
    assert history.changes("m") == [change]


def test_an_unset_and_a_deleted_alias_are_recorded_as_none(history: AliasHistory) -> None:
    first = history.record("m", CHAMPION, None, 1, actor="ci", reason="first")
    gone = history.record("m", CHAMPION, 1, None, actor="ci", reason="retired")
    assert (first.old_version, first.new_version) == (None, 1)
    assert (gone.old_version, gone.new_version) == (1, None)
    assert [(c.old_version, c.new_version) for c in history.changes("m")] == [(None, 1), (1, None)]


def test_changes_come_in_order_for_all_models_or_one(history: AliasHistory) -> None:
    a1 = history.record("a", CHAMPION, None, 1, actor="ci", reason="r1")
    b1 = history.record("b", CHALLENGER, None, 4, actor="lotsen", reason="r2")
    a2 = history.record("a", CHAMPION, 1, 2, actor="ci", reason="r3")
    assert [c.seq for c in (a1, b1, a2)] == [1, 2, 3]
    assert [c.at for c in (a1, b1, a2)] == [
        T0,
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=2),
    ]
    assert history.changes() == [a1, b1, a2]
    assert history.changes("a") == [a1, a2]
    assert history.changes("b") == [b1]
    assert history.changes("c") == []


def test_a_key_records_the_move_once_and_returns_the_first_record(tmp_path: Path) -> None:
    clock = _Clock()
    history = AliasHistory(tmp_path / "h.db", clock=clock)
    first = history.record("m", CHAMPION, 1, 2, actor="ci", reason="deploy", idempotency_key="k1")
    again = history.record("m", CHAMPION, 2, 3, actor="other", reason="retry", idempotency_key="k1")
    assert again == first
    assert history.changes() == [first]
    assert clock.readings == 1, "a repeated key takes no new time stamp"
    assert history.find("k1") == first
    assert history.find("k2") is None
    history.close()


def test_different_keys_and_no_key_each_record(history: AliasHistory) -> None:
    history.record("m", CHAMPION, None, 1, actor="ci", reason="r", idempotency_key="k1")
    history.record("m", CHAMPION, 1, 2, actor="ci", reason="r", idempotency_key="k2")
    history.record("m", CHAMPION, 2, 1, actor="ci", reason="r")
    history.record("m", CHAMPION, 1, 2, actor="ci", reason="r")
    assert [c.new_version for c in history.changes()] == [1, 2, 1, 2]
    assert history.find("k2") == history.changes()[1]


def test_keys_and_records_survive_reopening(tmp_path: Path) -> None:
    history = AliasHistory(tmp_path / "h.db", clock=_Clock())
    first = history.record("m", CHAMPION, None, 1, actor="ci", reason="r", idempotency_key="k")
    history.close()
    reopened = AliasHistory(tmp_path / "h.db", clock=_Clock())
    assert reopened.changes() == [first]
    assert reopened.record("m", CHAMPION, 5, 6, actor="x", reason="y", idempotency_key="k") == first
    assert reopened.changes() == [first]
    reopened.close()


def test_the_default_clock_stamps_utc_now(tmp_path: Path) -> None:
    history = AliasHistory(tmp_path / "h.db")
    before = datetime.now(UTC)
    change = history.record("m", CHAMPION, None, 1, actor="ci", reason="r")
    after = datetime.now(UTC)
    assert change.at.utcoffset() == timedelta(0)
    assert before <= change.at <= after
    assert history.changes()[0].at == change.at
    history.close()


def test_the_file_carries_the_alias_history_schema(tmp_path: Path) -> None:
    AliasHistory(tmp_path / "h.db").close()
    conn = open_state_db(tmp_path / "h.db", "lotsen.alias_history", _MIGRATIONS)
    assert dict(conn.execute("SELECT key, value FROM lotsen_meta").fetchall()) == {
        "schema": "lotsen.alias_history",
        "version": "2",
    }
    conn.close()
    with pytest.raises(StateError, match=r"holds 'lotsen.alias_history', expected 'lotsen.other'"):
        open_state_db(tmp_path / "h.db", "lotsen.other", ("CREATE TABLE t (x);",))


def test_a_closed_history_refuses_further_use(tmp_path: Path) -> None:
    history = AliasHistory(tmp_path / "h.db")
    history.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        history.changes()
