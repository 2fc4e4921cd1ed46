"""Running the workflow for a scan's incidents, approving, rejecting and resuming."""

from typing import Any, Literal

from langgraph.types import Command
from pydantic import BaseModel

from agents.remediation.correlate import events_around
from agents.remediation.executor import ACTOR, RemediationWorld
from agents.remediation.gate import review
from agents.remediation.plan import (
    EXPIRED,
    MUTATING,
    THREAD_PREFIX,
    RemediationPlan,
    approval_key,
    tier0_plan,
)
from agents.remediation.promotion import promotion_key
from memory.approvals import ApprovalRequest, Decision
from memory.remediation import Run, RunStatus
from tools.drift.incidents import Incident
from tools.errors import NotFoundError

DONE_AS = {
    "rollback": "rolled back",
    "revert_change": "reverted the change",
    "retrain": "retrained",
    "retrain_with_review": "retrained after review",
    "watch": "put on the watch list",
    "open_data_incident": "reported to the pipeline owner",
}
"""How a finished action reads in 'already <done> at ... by ...'."""


class RunOutcome(BaseModel):
    """Where one incident's remediation stands."""

    incident_id: str
    kind: str
    action: str
    status: RunStatus | str
    summary: str = ""
    approval_id: str | None = None
    skipped: str = ""
    """Why nothing was done now: the occurrence was remediated or closed before."""


def thread_id(incident: Incident) -> str:
    """The graph thread of an incident's occurrence (stable across scans of the problem)."""
    return f"{THREAD_PREFIX}{incident.id.removeprefix('inc-')}"


def remediated(incidents: list[Incident], world: RemediationWorld) -> dict[str, str]:
    """Incident id -> why it needs no plan ("already rolled back at ... by ...").

    An occurrence that is resolved or closed, or whose run finished, was remediated; one
    that recurred in a later window is a new occurrence with a new id (planned again).
    """
    said = {}
    for incident in incidents:
        record = world.store.incidents.find(incident.id)
        if record is not None and record.status == "closed":
            note = f": {record.note}" if record.note else ""
            said[incident.id] = (
                f"closed at {record.changed_at:%Y-%m-%d %H:%M} by {record.changed_by}{note}"
            )
        elif record is not None and record.status == "resolved":
            done = DONE_AS.get(record.action or "", "remediated")
            said[incident.id] = (
                f"already {done} at {record.changed_at:%Y-%m-%d %H:%M} by {record.changed_by}"
            )
        elif (run := _finished_run(world, incident)) is not None:
            done = DONE_AS.get(record.action or "", "remediated") if record else "remediated"
            said[incident.id] = (
                f"already {done} at {run.updated_at:%Y-%m-%d %H:%M} by {run.proposer}"
                if run.status == "done"
                else f"run {run.thread_id} {run.status} at {run.updated_at:%Y-%m-%d %H:%M}"
            )
    return said


def _finished_run(world: RemediationWorld, incident: Incident) -> Run | None:
    try:
        run = world.store.run(thread_id(incident))
    except NotFoundError:
        return None
    return None if run.status in ("running", "waiting_approval") else run


def plan_only(
    incidents: list[Incident], world: RemediationWorld
) -> list[tuple[RemediationPlan, str]]:
    """The tier-0 plans and gate verdicts, executing nothing (`lotsen remediate` without --auto).

    Incidents already remediated (`remediated`) get no plan.
    """
    gate = world.compliance_gate()
    done = remediated(incidents, world)
    todo = [i for i in incidents if i.id not in done]
    plans = [tier0_plan(i, events_around(i, world.events)) for i in todo]
    return [(plan, review(plan, gate, ACTOR).verdict) for plan in plans]


def remediate(
    incidents: list[Incident], world: RemediationWorld, graph: Any, proposer: str
) -> list[RunOutcome]:
    """Run (or continue) the workflow for every incident; finished runs are not repeated.

    An incident already remediated or closed (`remediated`) starts nothing: its outcome
    says why.
    """
    outcomes = []
    done = remediated(incidents, world)
    for incident in incidents:
        thread = thread_id(incident)
        if incident.id in done:
            outcomes.append(_skipped(world, graph, incident, done[incident.id]))
            continue
        run = world.store.start_run(thread, incident.id, incident.kind, proposer, world.clock())
        if run.status == "running":
            state = graph.get_state(_config(thread))
            graph.invoke(
                None if state.next else {"incident": incident},
                _config(thread),
            )
        elif run.status == "waiting_approval":
            _propose_again_if_expired(world, graph, thread)
        outcomes.append(_tracked(world, graph, thread))
    return outcomes


def _skipped(world: RemediationWorld, graph: Any, incident: Incident, said: str) -> RunOutcome:
    try:
        found = outcome(world, graph, thread_id(incident))
    except NotFoundError:  # closed before any run
        found = RunOutcome(incident_id=incident.id, kind=incident.kind, action="-", status="-")
    return found.model_copy(update={"skipped": said})


def _current_request(world: RemediationWorld, thread: str) -> ApprovalRequest | None:
    """The run's latest request: its promotion request once there is one, else its plan's."""
    return world.approvals.by_key(promotion_key(thread)) or world.approvals.by_key(
        approval_key(thread)
    )


def _waiting_on(graph: Any, thread: str) -> str | None:
    """The request id the run's graph is paused on (None: not paused at a request)."""
    for pending in graph.get_state(_config(thread)).interrupts:
        value = pending.value
        if isinstance(value, dict) and value.get("approval_id"):
            return str(value["approval_id"])
    return None


def _propose_again_if_expired(world: RemediationWorld, graph: Any, thread: str) -> None:
    """A run whose request expired unanswered proposes its plan anew (a new request)."""
    request = _current_request(world, thread)
    if request is None:
        return
    lapsed = request.status == "pending" and world.clock() > request.expires_at
    if (request.status == "expired" or lapsed) and graph.get_state(_config(thread)).interrupts:
        graph.invoke(Command(resume={EXPIRED: request.id}), _config(thread))


def resume(world: RemediationWorld, graph: Any) -> list[RunOutcome]:
    """Finish runs a crash left half-way (status still `running`)."""
    outcomes = []
    waiting = {r.thread_id for r in world.store.runs("waiting_approval")}
    for run in world.store.runs("running"):
        if not graph.get_state(_config(run.thread_id)).next:
            continue  # killed before its first step: the next `remediate` starts it afresh
        graph.invoke(None, _config(run.thread_id))
        outcomes.append(_tracked(world, graph, run.thread_id))
    for request in world.approvals.requests(world.clock(), agent="remediation"):
        decision = request.decision()
        if decision is None or request.handle not in waiting:
            continue
        paused_on = _waiting_on(graph, request.handle)
        if paused_on is not None and paused_on != request.id:
            continue  # an earlier request of the run (its retrain's), already taken
        # killed between recording the decision and the workflow taking it: deliver it again
        outcomes.append(continue_with(decision, request.handle, world, graph))
    return outcomes


def continue_with(
    decision: Decision, thread: str, world: RemediationWorld, graph: Any
) -> RunOutcome:
    """Deliver a human decision to the waiting run, which continues at once."""
    state = graph.get_state(_config(thread))
    if state.next and not state.interrupts:
        # killed after the run was marked waiting but before the graph paused: reach the
        # pause first (every step of the approval node is idempotent), then resume it
        graph.invoke(None, _config(thread))
    graph.invoke(Command(resume=decision.model_dump(mode="json")), _config(thread))
    return _tracked(world, graph, thread)


def _tracked(world: RemediationWorld, graph: Any, thread: str) -> RunOutcome:
    """The run's outcome, with its incident moved along.

    Remediating while the run runs or waits; resolved when a mutating action finished; else
    back to open (a watch, a data incident for the owner, a rejection or a failure).
    """
    found = outcome(world, graph, thread)
    run = world.store.run(thread)
    if run.status in ("running", "waiting_approval"):
        status: Literal["remediating", "resolved", "open"] = "remediating"
    elif run.status == "done" and found.action in {a.value for a in MUTATING}:
        status = "resolved"
    else:
        status = "open"
    world.store.incidents.follow_run(
        run.incident_id, status, run.proposer, world.clock(), found.action, run.summary
    )
    return found


def outcome(world: RemediationWorld, graph: Any, thread: str) -> RunOutcome:
    """The run's current status as the store and the checkpoint see it."""
    run = world.store.run(thread)
    plan = graph.get_state(_config(thread)).values.get("plan")  # as stored: not validated
    request = _current_request(world, thread)
    return RunOutcome(
        incident_id=run.incident_id,
        kind=run.kind,
        action=RemediationPlan.model_validate(plan).action.value if plan else "-",
        status=run.status,
        summary=run.summary or "",
        approval_id=request.id if request is not None else None,
    )


def checkpointed(graph: Any, thread: str) -> bool:
    """Whether the run's graph state is in the checkpointer (a lost one cannot resume)."""
    return bool(graph.get_state(_config(thread)).values)


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}
