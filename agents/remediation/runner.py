"""Running the workflow for a scan's incidents, approving, rejecting and resuming."""

from typing import Any

from langgraph.types import Command
from pydantic import BaseModel

from agents.remediation.executor import ACTOR, RemediationWorld
from agents.remediation.gate import review
from agents.remediation.plan import (
    EXPIRED,
    THREAD_PREFIX,
    RemediationPlan,
    approval_key,
    tier0_plan,
)
from memory.approvals import Decision
from memory.remediation import RunStatus
from tools.drift.incidents import Incident


class RunOutcome(BaseModel):
    """Where one incident's remediation stands."""

    incident_id: str
    kind: str
    action: str
    status: RunStatus | str
    summary: str = ""
    approval_id: str | None = None


def thread_id(incident: Incident) -> str:
    """The graph thread of an incident (stable across scans of the same window)."""
    return f"{THREAD_PREFIX}{incident.id.removeprefix('inc-')}"


def plan_only(
    incidents: list[Incident], world: RemediationWorld
) -> list[tuple[RemediationPlan, str]]:
    """The tier-0 plans and gate verdicts, executing nothing (`lotsen remediate` without --auto)."""
    gate = world.compliance_gate()
    return [(plan, review(plan, gate, ACTOR).verdict) for plan in map(tier0_plan, incidents)]


def remediate(
    incidents: list[Incident], world: RemediationWorld, graph: Any, proposer: str
) -> list[RunOutcome]:
    """Run (or continue) the workflow for every incident; finished runs are not repeated."""
    outcomes = []
    for incident in incidents:
        thread = thread_id(incident)
        run = world.store.start_run(thread, incident.id, incident.kind, proposer, world.clock())
        if run.status == "running":
            state = graph.get_state(_config(thread))
            graph.invoke(
                None if state.next else {"incident": incident},
                _config(thread),
            )
        elif run.status == "waiting_approval":
            _propose_again_if_expired(world, graph, thread)
        outcomes.append(outcome(world, graph, thread))
    return outcomes


def _propose_again_if_expired(world: RemediationWorld, graph: Any, thread: str) -> None:
    """A run whose request expired unanswered proposes its plan anew (a new request)."""
    request = world.approvals.by_key(approval_key(thread))
    if request is None:
        return
    if request.status == "pending":
        world.approvals.requests(world.clock(), "pending", "remediation")  # marks expiry
        request = world.approvals.get(request.id)
    if request.status == "expired" and graph.get_state(_config(thread)).interrupts:
        graph.invoke(Command(resume={EXPIRED: request.id}), _config(thread))


def resume(world: RemediationWorld, graph: Any) -> list[RunOutcome]:
    """Finish runs a crash left half-way (status still `running`)."""
    outcomes = []
    waiting = {r.thread_id for r in world.store.runs("waiting_approval")}
    for run in world.store.runs("running"):
        if not graph.get_state(_config(run.thread_id)).next:
            continue  # killed before its first step: the next `remediate` starts it afresh
        graph.invoke(None, _config(run.thread_id))
        outcomes.append(outcome(world, graph, run.thread_id))
    for request in world.approvals.requests(world.clock(), agent="remediation"):
        decision = request.decision()
        if decision is None or request.handle not in waiting:
            continue
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
    return outcome(world, graph, thread)


def outcome(world: RemediationWorld, graph: Any, thread: str) -> RunOutcome:
    """The run's current status as the store and the checkpoint see it."""
    run = world.store.run(thread)
    plan = graph.get_state(_config(thread)).values.get("plan")  # as stored: not validated
    request = world.approvals.by_key(approval_key(thread))
    return RunOutcome(
        incident_id=run.incident_id,
        kind=run.kind,
        action=RemediationPlan.model_validate(plan).action.value if plan else "-",
        status=run.status,
        summary=run.summary or "",
        approval_id=request.id if request is not None else None,
    )


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}
