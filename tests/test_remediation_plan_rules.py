"""The decision table's rules, one at a time, without a world: what tier 0 decides for an
incident, what an LLM tier may choose instead, and the keys a remediation run is known by."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.remediation.plan import (
    ADMISSIBLE,
    TABLE,
    Action,
    admissible,
    allowed_for,
    approval_key,
    tier0_plan,
)
from tools.domain.events import ChangeEvent, EventKind
from tools.drift.incidents import Incident

WINDOW = datetime(2026, 11, 1, 6, tzinfo=UTC)


def incident(kind: str, models: tuple[str, ...] = ("churn-0004", "churn-0005")) -> Incident:
    return Incident(
        id=f"inc-{kind}",
        kind=kind,
        models=list(models),
        probable_cause="test",
        window_start=WINDOW,
    )


def change(kind: EventKind, model: str = "churn-0004") -> ChangeEvent:
    """A change of `model` three hours before the incident's window."""
    return ChangeEvent(
        id=f"evt-{kind.value}",
        kind=kind,
        subject=f"serve-prod/{model}",
        model=model,
        version=3,
        at=WINDOW - timedelta(hours=3),
        actor="carol",
        before={"version": 2},
        after={"version": 3},
    )


@pytest.mark.parametrize("kind", list(TABLE))
def test_without_events_tier0_decides_the_table_row(kind: str) -> None:
    plan = tier0_plan(incident(kind))
    action, reason = TABLE[kind]
    assert plan.model_dump() == {
        "incident_id": f"inc-{kind}",
        "incident_kind": kind,
        "action": action,
        "models": ["churn-0004", "churn-0005"],
        "reason": reason,
        "decided_by": "tier0",
        "prompt_sha256": "",
        "cause_event": None,
    }


def test_a_deploy_before_a_regression_is_rolled_back_and_named_as_the_cause() -> None:
    deploy = change(EventKind.DEPLOY)
    plan = tier0_plan(incident("concept_drift"), [deploy])
    assert plan.action is Action.ROLLBACK
    assert plan.cause_event == deploy
    assert plan.decided_by == "tier0"
    assert plan.reason == (
        f"the concept drift follows {deploy.describe()} (3.0 h before the window); "
        "roll the champion back to the version before it"
    )


def test_a_serving_change_before_a_regression_is_reverted() -> None:
    runtime = change(EventKind.RUNTIME_CHANGE)
    plan = tier0_plan(incident("bad_deploy"), [runtime])
    assert plan.action is Action.REVERT_CHANGE
    assert plan.cause_event == runtime
    assert plan.reason.endswith("same model version v3: revert that change")


def test_an_unrelated_change_leaves_the_table_row() -> None:
    scale = change(EventKind.SCALE)
    plan = tier0_plan(incident("concept_drift"), [scale])
    assert (plan.action, plan.cause_event) == (Action.RETRAIN_WITH_REVIEW, None)
    assert plan.reason == TABLE["concept_drift"][1]


@pytest.mark.parametrize("kind", list(ADMISSIBLE))
def test_an_uncaused_plan_allows_the_kinds_admissible_set(kind: str) -> None:
    assert allowed_for(tier0_plan(incident(kind))) == ADMISSIBLE[kind]


def test_a_caused_plan_allows_only_undoing_the_change() -> None:
    plan = tier0_plan(incident("drift_with_performance_drop"), [change(EventKind.DEPLOY)])
    assert allowed_for(plan) == frozenset({Action.ROLLBACK})
    # without the cause, the same kind admits both retrains
    assert allowed_for(tier0_plan(incident("drift_with_performance_drop"))) == frozenset(
        {Action.RETRAIN, Action.RETRAIN_WITH_REVIEW}
    )


def test_a_kind_in_the_table_only_admits_its_tier0_action(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(TABLE, "new_kind", (Action.WATCH, "a new kind: watch"))
    assert admissible("new_kind") == frozenset({Action.WATCH})
    # a listed kind keeps its own set (not the tier-0 action alone)
    assert admissible("covariate_drift") == frozenset({Action.WATCH, Action.OPEN_DATA_INCIDENT})


def test_the_approval_key_names_the_run_thread() -> None:
    assert approval_key("rem-abc123") == "remediation:rem-abc123"
