"""Deciding approval requests, whichever agent proposed them, and queueing chat proposals.

One path for every agent: the queue records the decision atomically (four eyes, expiry),
then the proposing agent continues. Remediation resumes its graph from the request's
handle; capacity and chat requests execute their exact stored action here, without
LangGraph, the LLM or the incident memory.
"""

import hashlib

from pydantic import BaseModel

from agents.assistant.types import AssistantAnswer
from memory.approvals import ApprovalRequest, NewRequest
from tools.errors import StateError
from tools.policy.action import ProposedAction
from world.world import World


class DecisionOutcome(BaseModel):
    """What deciding a request led to."""

    approval_id: str
    agent: str
    action: str
    status: str
    """The request's status, or the resumed run's."""
    summary: str = ""


def decide(
    world: World, request_id: str, approver: str, approved: bool, note: str | None
) -> DecisionOutcome:
    """Record a decision, then let the proposing agent act on it at once."""
    pending = world.approvals.get(request_id)
    if pending.agent == "remediation":
        return _decide_remediation(world, pending, approver, approved, note)
    request = world.approvals.decide(request_id, approver, approved, world.clock(), note)
    if not approved:
        return _outcome(request, "rejected: nothing is done")
    if request.agent == "capacity" and not request.handle:  # adopted from an older release
        return _outcome(request, "recorded; runs on the next `lotsen capacity apply`")
    if request.agent == "capacity":
        from agents.capacity.apply import execute_approved
        from world.capacity import apply_port

        result = execute_approved(request, apply_port(world))
        world.approvals.mark_executed(request.id, world.clock(), result.detail)
        return _outcome(request, f"{result.target}: {result.status} {result.detail}".strip())
    from agents.assistant.execute import ChatPort
    from agents.assistant.execute import execute_approved as execute_chat

    port = ChatPort(world.registry, world.cluster, world.audit, world.gate())
    done = execute_chat(request, port)
    world.approvals.mark_executed(request.id, world.clock(), done)
    return _outcome(request, f"executed: {done}")


def queue_chat_proposals(
    world: World, reply: AssistantAnswer, proposer: str
) -> list[ApprovalRequest]:
    """Queue the answer's executable proposals that the gate does not deny (four eyes)."""
    from agents.assistant.execute import EXECUTABLE

    gate = world.gate()
    queued = []
    for action in reply.proposals:
        if action.kind not in EXECUTABLE:
            continue
        decision = gate.review(action)
        if decision.verdict == "deny":
            continue
        new = NewRequest(
            key=_chat_key(action),
            agent="assistant",
            action=f"chat {action.kind.value}",
            actions=[action],
            models=[action.model or f"{action.namespace}/{action.deployment}"],
            reasons=decision.reasons,
            verdict=decision.verdict,
            proposer=proposer,
        )
        queued.append(world.approvals.submit(new, world.clock(), world.approval_ttl))
    return queued


def _chat_key(action: ProposedAction) -> str:
    """One live request per exact action, whoever asks for it again."""
    canonical = action.model_dump_json(exclude={"proposer", "detail"})
    return "chat:" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _decide_remediation(
    world: World, pending: ApprovalRequest, approver: str, approved: bool, note: str | None
) -> DecisionOutcome:
    """Open the waiting run's checkpoint first: a decision it cannot deliver is not recorded."""
    from agents.remediation.runner import checkpointed, continue_with
    from world.remediation import open_workflow

    request_id = pending.id
    with open_workflow(world, recorded_proposer=pending.proposer) as wf:
        lost = pending.status == "pending" and not checkpointed(wf.graph, pending.handle)
        if lost and not approved:
            return _reject_lost_run(world, request_id, approver, note)
        if lost:
            raise StateError(
                f"the run waiting on {request_id} has no checkpoint (thread {pending.handle}) "
                f"in {world.files.checkpoints_db}: nothing was recorded. Restore the "
                "checkpoints from a backup (`lotsen state restore BACKUP`), or reject the "
                "request (the run then ends) and re-run `lotsen remediate` to plan anew"
            )
        request = world.approvals.decide(request_id, approver, approved, world.clock(), note)
        decision = request.decision()
        assert decision is not None
        run = continue_with(decision, request.handle, wf.world, wf.graph)
    return DecisionOutcome(
        approval_id=request.id,
        agent=request.agent,
        action=request.action,
        status=str(run.status),
        summary=run.summary,
    )


def _reject_lost_run(
    world: World, request_id: str, approver: str, note: str | None
) -> DecisionOutcome:
    """A rejection needs no checkpoint: record it and end the run that can never resume."""
    request = world.approvals.decide(request_id, approver, False, world.clock(), note)
    summary = "rejected; its checkpoint was lost, so the run ends here"
    world.runs.set_run(request.handle, "rejected", world.clock(), summary)
    world.audit.append(
        "rejected",
        actor=approver,
        incident=request.incident_id,
        data={"approval": request.id, "note": note or "", "checkpoint": "lost"},
    )
    return _outcome(request, summary)


def _outcome(request: ApprovalRequest, summary: str) -> DecisionOutcome:
    return DecisionOutcome(
        approval_id=request.id,
        agent=request.agent,
        action=request.action,
        status=request.status,
        summary=summary,
    )
