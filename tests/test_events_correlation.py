"""Change events and the decision table: a regression that follows a change undoes it."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agents.remediation.plan import Action, allowed_for, tier0_plan
from tools.domain import Environment
from tools.domain.events import ChangeEvent, EventKind
from tools.drift.incidents import Incident
from tools.events import EventLog, events_between

WINDOW = datetime(2026, 11, 1, 6, tzinfo=UTC)
MODEL = "churn-0004"


def incident(kind: str, models: tuple[str, ...] = (MODEL,)) -> Incident:
    return Incident(
        id=f"inc-{kind}",
        kind=kind,
        models=list(models),
        probable_cause="test",
        window_start=WINDOW,
    )


def event(
    kind: EventKind,
    hours_before: float,
    *,
    model: str = MODEL,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> ChangeEvent:
    return ChangeEvent(
        id=f"evt-{kind.value}-{hours_before:g}",
        kind=kind,
        subject=f"serve-prod/{model}" if kind is not EventKind.ALIAS_MOVE else f"{model}@champion",
        model=model,
        version=3,
        environment=Environment.PROD,
        at=WINDOW - timedelta(hours=hours_before),
        actor="carol",
        before=before or {"max_batch_size": 32},
        after=after or {"max_batch_size": 256},
    )


def test_latency_after_a_config_change_of_the_same_version_reverts_the_change() -> None:
    change = event(EventKind.CONFIG_CHANGE, 3)
    plan = tier0_plan(incident("latency_regression"), [change])
    assert plan.action is Action.REVERT_CHANGE
    assert plan.cause_event == change
    assert change.id in plan.reason and "same model version v3" in plan.reason
    assert "max_batch_size 32 -> 256" in plan.reason and "by carol" in plan.reason
    assert allowed_for(plan) == frozenset({Action.REVERT_CHANGE})


def test_drift_with_a_drop_after_a_promotion_rolls_the_promotion_back() -> None:
    promotion = event(EventKind.ALIAS_MOVE, 5, before={"version": 2}, after={"version": 3})
    plan = tier0_plan(incident("drift_with_performance_drop"), [promotion])
    assert plan.action is Action.ROLLBACK
    assert promotion.id in plan.reason and "drift is also present" in plan.reason
    # without the event, the same incident retrains
    assert tier0_plan(incident("drift_with_performance_drop"), []).action is Action.RETRAIN


CONFIG_2H = event(EventKind.CONFIG_CHANGE, 2)
CONFIG_48H = event(EventKind.CONFIG_CHANGE, 48)
DEPLOY_10H = event(EventKind.DEPLOY, 10, before={"version": 2}, after={"version": 3})
MOVE_BACK = event(EventKind.ALIAS_MOVE, 2, before={"version": 3}, after={"version": 2})
OTHER_MODEL = event(EventKind.CONFIG_CHANGE, 2, model="other-0001")


@pytest.mark.parametrize(
    ("change", "kind", "expected", "caused"),
    [
        (event(EventKind.RUNTIME_CHANGE, 1), "concept_drift", Action.REVERT_CHANGE, True),
        (DEPLOY_10H, "latency_regression", Action.ROLLBACK, True),
        # too long before the window: not 'closely preceding'
        (CONFIG_48H, "latency_regression", Action.ROLLBACK, False),
        (CONFIG_48H, "drift_with_performance_drop", Action.RETRAIN, False),
        # another model's change explains nothing
        (OTHER_MODEL, "concept_drift", Action.RETRAIN_WITH_REVIEW, False),
        # a scale change or a move back of the champion is not a cause to undo
        (event(EventKind.SCALE, 2), "concept_drift", Action.RETRAIN_WITH_REVIEW, False),
        (MOVE_BACK, "drift_with_performance_drop", Action.RETRAIN, False),
        # data quality and healthy drift are never explained by a change
        (CONFIG_2H, "data_quality", Action.OPEN_DATA_INCIDENT, False),
        (CONFIG_2H, "covariate_drift", Action.WATCH, False),
    ],
)
def test_the_table_with_and_without_a_correlated_change(
    change: ChangeEvent, kind: str, expected: Action, caused: bool
) -> None:
    plan = tier0_plan(incident(kind), [change])
    assert plan.action is expected
    assert plan.cause_event == (change if caused else None)


def test_the_latest_preceding_change_is_the_cause() -> None:
    older = event(EventKind.ALIAS_MOVE, 20, before={"version": 2}, after={"version": 3})
    newer = event(EventKind.RUNTIME_CHANGE, 2)
    plan = tier0_plan(incident("latency_regression"), [older, newer])
    assert plan.action is Action.REVERT_CHANGE and plan.cause_event == newer


def test_the_log_records_reads_a_window_and_merges_alias_moves(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.db")
    try:
        first = log.record(
            EventKind.CONFIG_CHANGE,
            "serve-prod/churn-0004",
            WINDOW - timedelta(hours=2),
            actor="carol",
            model=MODEL,
            version=3,
            before={"max_batch_size": 32},
            after={"max_batch_size": 256},
        )
        log.record(EventKind.SCALE, "serve-prod/x", WINDOW, actor="bob", model="x")
        assert first.id == "evt-00001" and first.after == {"max_batch_size": 256}
        found = log.between(WINDOW - timedelta(hours=3), WINDOW, {MODEL})
        assert [e.id for e in found] == ["evt-00001"]
        assert log.latest_config("serve-prod/churn-0004") == {"max_batch_size": 256}
        assert events_between(WINDOW - timedelta(hours=1), WINDOW, {MODEL}, log, None) == []
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            sqlite3.connect(tmp_path / "events.db").execute("DELETE FROM events")
    finally:
        log.close()
