"""The remediation graph's checkpointed state: typed values that survive the checkpointer."""

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from agents.remediation.executor import ActionResult
from agents.remediation.gate import GateResult
from agents.remediation.graph import RemediationState, StateUpdate, checkpoint_serde
from agents.remediation.plan import Action, RemediationPlan, tier0_plan
from memory.approvals import Decision
from tools.domain import AiActRisk, ChangeKind, ChangePlan, Environment, RegisteredModel
from tools.drift.incidents import Incident
from tools.policy.action import ActionKind, ProposedAction

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
INCIDENT = Incident(
    id="inc-1",
    kind="drift_with_performance_drop",
    probable_cause="f03 drifted and AUC fell",
    pipeline="growth-features-00",
    models=["churn-0001"],
    features=["f03"],
    window_start=AT,
)


def full_state() -> RemediationState:
    """A state with every key set, every nested type present."""
    model = RegisteredModel(
        name="churn-0001",
        owner="growth",
        env=Environment.PROD,
        pipeline="growth-features-00",
        ai_act_risk=AiActRisk.HIGH,
        change_plan=ChangePlan(allowed=(ChangeKind.RETRAIN_SAME_FEATURES,)),
        tags={"features": "f01,f02"},
        aliases={"champion": 3},
    )
    return RemediationState(
        incident=INCIDENT,
        plan=tier0_plan(INCIDENT),
        models={model.name: model},
        champions={model.name: 3},
        gate=GateResult(verdict="needs_approval", reasons=["[AIA-06] high-risk"]),
        approval=Decision(request_id="apr-1", approved=True, by="alice", at=AT, note="ok"),
        results=[ActionResult(model=model.name, ok=True, summary="promoted")],
        status="done",
    )


@pytest.fixture
def serde_events() -> Iterator[list[SerdeEvent]]:
    """Types the checkpointer met but does not know (every time, unlike its log)."""
    events: list[SerdeEvent] = []
    unregister = register_serde_event_listener(events.append)
    yield events
    unregister()


def test_every_state_value_survives_the_checkpointer(serde_events: list[SerdeEvent]) -> None:
    serde = checkpoint_serde()
    state = full_state()
    for key in RemediationState.model_fields:
        value = getattr(state, key)
        revived = serde.loads_typed(serde.dumps_typed(value))
        assert revived == value, key
        assert type(revived) is type(value), key
    assert serde_events == [], "a state type the checkpointer does not know"


def test_the_checkpointer_revives_no_other_types(serde_events: list[SerdeEvent]) -> None:
    serde = checkpoint_serde()
    assert serde.loads_typed(serde.dumps_typed(Path("/etc"))) == Path("/etc")  # a safe type
    stranger = ProposedAction(kind=ActionKind.SCALE, proposer="x")
    revived = serde.loads_typed(serde.dumps_typed(stranger))
    assert not isinstance(revived, ProposedAction), "only its fields, as data"
    assert ("msgpack_blocked", "tools.policy.action", "ProposedAction") in {
        (e["kind"], e["module"], e["name"]) for e in serde_events
    }


def _two_steps(path: Path, first: Any) -> Any:
    graph = StateGraph(RemediationState)
    graph.add_node("first", first)
    graph.add_node("second", lambda state: {"status": _seen(state)})
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False), serde=checkpoint_serde())
    return graph.compile(checkpointer=saver, interrupt_before=["second"])


def _seen(state: RemediationState) -> str:
    assert isinstance(state.plan, RemediationPlan) and state.plan.action is Action.RETRAIN
    assert isinstance(state.gate, GateResult) and state.gate.verdict == "allow"
    return "done"


def test_a_checkpoint_of_plain_dicts_resumes_with_typed_state(tmp_path: Path) -> None:
    """Checkpoints written before the state was typed held JSON dicts; they still load."""

    def old_lotsen(state: RemediationState) -> dict[str, Any]:
        return {
            "plan": tier0_plan(state.incident).model_dump(mode="json"),
            "gate": {"verdict": "allow", "reasons": ["no policy requires a human"]},
            "champions": {"churn-0001": 3},
        }

    config: Any = {"configurable": {"thread_id": "rem-1"}}
    _two_steps(tmp_path / "c.db", old_lotsen).invoke({"incident": INCIDENT}, config)

    def never(state: RemediationState) -> StateUpdate:
        raise AssertionError("the first step ran twice")

    resumed = _two_steps(tmp_path / "c.db", never)  # a new graph on the same file
    resumed.invoke(None, config)
    assert resumed.get_state(config).values["status"] == "done"
