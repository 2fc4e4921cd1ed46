"""Running the workflow for a scan's incidents, approving, rejecting and resuming."""

from typing import Any

from langgraph.types import Command
from pydantic import BaseModel

from agents.remediation.executor import ACTOR, RemediationWorld
from agents.remediation.gate import review
from agents.remediation.plan import RemediationPlan, tier0_plan
from memory.remediation import ApprovalRequest, RunStatus
from tools.drift.incidents import Incident


class RunOutcome(BaseModel):
    """Where one incident's remediation stands."""

    incident_id: str
    kind: str
    action: str
    status: RunStatus | str
    summary: str = ""
    approval_id: str | None = None


THREAD_PREFIX = "rem-"
"""Remediation threads; approval requests of other agents (e.g. `capacity-...`) have their own."""


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
                None if state.next else {"incident": incident.model_dump(mode="json")},
                _config(thread),
            )
        outcomes.append(outcome(world, graph, thread))
    return outcomes


def resume(world: RemediationWorld, graph: Any) -> list[RunOutcome]:
    """Finish runs a crash left half-way (status still `running`)."""
    outcomes = []
    for run in world.store.runs("running"):
        if not graph.get_state(_config(run.thread_id)).next:
            continue  # killed before its first step: the next `remediate` starts it afresh
        graph.invoke(None, _config(run.thread_id))
        outcomes.append(outcome(world, graph, run.thread_id))
    for request in world.store.approvals(world.clock()):
        if not request.thread_id.startswith(THREAD_PREFIX):
            continue  # another agent's request: that agent acts on the decision itself
        run = world.store.run(request.thread_id)
        if request.status in ("approved", "rejected") and run.status == "waiting_approval":
            # killed between recording the decision and the workflow taking it: deliver it again
            decision = {
                "approved": request.status == "approved",
                "approver": request.decided_by,
                "note": request.note,
            }
            graph.invoke(Command(resume=decision), _config(request.thread_id))
            outcomes.append(outcome(world, graph, request.thread_id))
    return outcomes


def decide_approval(
    request_id: str,
    approver: str,
    approved: bool,
    note: str | None,
    world: RemediationWorld,
    graph: Any,
) -> RunOutcome:
    """Approve or reject a waiting plan (four eyes, expiry), then let the workflow continue."""
    request: ApprovalRequest = world.store.decide(
        request_id, approver, approved, world.clock(), note
    )
    if not request.thread_id.startswith(THREAD_PREFIX):
        return RunOutcome(
            incident_id=request.incident_id,
            kind=request.action,
            action=request.action,
            status=request.status,
            summary="decision recorded; the proposing agent acts on it on its next run "
            "(capacity: `lotsen capacity apply`)",
            approval_id=request.id,
        )
    graph.invoke(
        Command(resume={"approved": approved, "approver": approver, "note": note}),
        _config(request.thread_id),
    )
    return outcome(world, graph, request.thread_id)


def outcome(world: RemediationWorld, graph: Any, thread: str) -> RunOutcome:
    """The run's current status as the store and the checkpoint see it."""
    run = world.store.run(thread)
    values = graph.get_state(_config(thread)).values
    plan = values.get("plan") or {}
    approval = next(
        (a.id for a in world.store.approvals(world.clock()) if a.thread_id == thread), None
    )
    return RunOutcome(
        incident_id=run.incident_id,
        kind=run.kind,
        action=plan.get("action", "-"),
        status=run.status,
        summary=run.summary or "",
        approval_id=approval,
    )


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}
