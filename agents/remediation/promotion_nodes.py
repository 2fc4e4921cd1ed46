"""The remediation graph's promotion nodes: a winning challenger's own approval, then its move.

Approving a retrain approves training only (see `agents.remediation.promotion`). These
nodes run after `execute` when a challenger won but its promotion needs a human: they
queue a second request (scores, training job, gate reasons), wait for it (`interrupt`),
and promote only what that request approved.
"""

from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from agents.remediation.executor import RemediationWorld, promote
from agents.remediation.plan import EXPIRED, RemediationPlan
from agents.remediation.promotion import (
    PROMOTE_ACTION,
    PendingPromotion,
    promotion_actions,
    promotion_key,
)
from memory.approvals import Decision, NewRequest, action_digest
from tools.errors import StateError
from tools.policy.action import ProposedAction

if TYPE_CHECKING:
    from agents.remediation.graph import RemediationState, StateUpdate, _Nodes

_T = TypeVar("_T")


def decided(value: _T | None, key: str) -> _T:
    """A key an earlier node set (its absence is a broken checkpoint, not a user error)."""
    if value is None:
        raise StateError(f"the remediation checkpoint has no {key!r} at this step")
    return value


def bound(
    world: RemediationWorld,
    decision: Decision,
    plan: RemediationPlan,
    thread: str,
    actions: list[ProposedAction],
    void_kind: str,
) -> Decision:
    """An approval counts only for the exact actions it was given for; else it is void."""
    if not decision.approved or decision.action_sha256 is None:
        return decision
    if decision.action_sha256 == action_digest(actions, thread):
        return decision
    world.audit.append(
        void_kind,
        actor="retrainer",
        incident=plan.incident_id,
        idempotency_key=f"{plan.incident_id}:{void_kind}",
        data={"approval_id": decision.request_id, "approved_by": decision.by},
    )
    note = "void: the run's actions differ from those approved"
    return decision.model_copy(update={"approved": False, "note": note})


def pending_promotions(state: "RemediationState") -> list[PendingPromotion]:
    """Winning challengers whose promotion waits for its own approval."""
    return [r.promotion for r in state.results if r.promotion is not None]


def promotion_approval(
    nodes: "_Nodes", state: "RemediationState", config: RunnableConfig
) -> "StateUpdate":
    """Ask a human to approve the promotion itself (after training ended), and wait."""
    plan, pending = decided(state.plan, "plan"), pending_promotions(state)
    thread = str(config["configurable"]["thread_id"])
    proposals = 0
    request_id, payload = _propose_promotion(nodes, plan, pending, thread, proposals)
    resumed = interrupt(payload)
    while isinstance(resumed, dict) and (
        resumed.get(EXPIRED) or resumed.get("request_id") != request_id
    ):
        # an expired request is proposed anew; a decision on another request (the
        # retrain's, delivered again after a crash) is not this one's: wait on
        if resumed.get(EXPIRED):
            proposals += 1
            request_id, payload = _propose_promotion(nodes, plan, pending, thread, proposals)
        resumed = interrupt(payload)
    decision = Decision.model_validate(resumed)
    actions = promotion_actions(pending, nodes.proposer)
    decision = nodes._bound(decision, plan, thread, actions, "promotion_approval_void")
    nodes.world.audit.append(
        "promotion_approved" if decision.approved else "promotion_rejected",
        actor=decision.by,
        incident=plan.incident_id,
        idempotency_key=f"{plan.incident_id}:promotion_decision_by_human",
        data={
            "approval_id": decision.request_id,
            "proposer": nodes.proposer,
            "note": decision.note,
            "versions": {p.model: p.version for p in pending},
        },
    )
    nodes.world.store.set_run(thread, "running", nodes.world.clock())
    update: StateUpdate = {"promotion_approval": decision}
    if not decision.approved:
        update["status"] = "rejected"
        update["results"] = [
            r.model_copy(
                update={
                    "promotion": None,
                    "summary": f"{r.summary}; promotion rejected by {decision.by}",
                }
            )
            if r.promotion is not None
            else r
            for r in state.results
        ]
    return update


def _propose_promotion(
    nodes: "_Nodes",
    plan: RemediationPlan,
    pending: list[PendingPromotion],
    thread: str,
    earlier: int,
) -> tuple[str, dict[str, Any]]:
    """Queue the promotion request (scores, job, gate reasons) and say so."""
    now = nodes.world.clock()
    reasons = [line for p in pending for line in p.reasons()]
    request = nodes.world.approvals.submit(
        NewRequest(
            key=promotion_key(thread),
            agent="remediation",
            action=PROMOTE_ACTION,
            actions=promotion_actions(pending, nodes.proposer),
            models=[p.model for p in pending],
            reasons=reasons,
            verdict="needs_approval",
            proposer=nodes.proposer,
            incident_id=plan.incident_id,
            handle=thread,
        ),
        now,
        nodes.world.approval_ttl,
    )
    nodes.world.audit.append(
        "promotion_requested",
        actor=nodes.proposer,
        incident=plan.incident_id,
        idempotency_key=f"{plan.incident_id}:promotion_requested"
        + (f":{earlier + 1}" if earlier else ""),
        data={"approval_id": request.id, "reasons": reasons},
    )
    nodes.world.store.set_run(thread, "waiting_approval", now)
    payload = {
        "approval_id": request.id,
        "action": PROMOTE_ACTION,
        "models": request.models,
        "reasons": reasons,
    }
    return request.id, payload


def promote_node(nodes: "_Nodes", state: "RemediationState") -> "StateUpdate":
    """Promote each approved challenger (its job finished, @challenger still it)."""
    plan = decided(state.plan, "plan")
    approval = decided(state.promotion_approval, "promotion_approval")
    results = []
    for r in state.results:
        if r.promotion is None:
            results.append(r)
            continue
        done = promote(r.promotion, plan, nodes.world, approval, state.models)
        results.append(done.model_copy(update={"summary": f"{r.summary}; {done.summary}"}))
    return {"results": results, "status": "done" if all(r.ok for r in results) else "failed"}
