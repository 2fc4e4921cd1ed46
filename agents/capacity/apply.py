"""Applying a capacity plan: every action through the compliance gate, prod only approved.

For each action: already done (audited under its idempotency key) -> skip; gate says deny ->
never run, reported; needs_approval -> an approval request (four eyes, `lotsen approvals
approve ID --as someone-else`), run at once when approved there (or on a later `apply`);
allow -> run. Every
executed action is audited once under `capacity:<plan id>:<n>`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel

from agents.capacity.plan import AGENT, CapacityPlan, PlannedAction
from memory.approvals import ApprovalQueue, ApprovalRequest, NewRequest
from memory.audit import AuditLog
from tools.cluster.protocol import Cluster
from tools.errors import LotsenError
from tools.policy.action import ActionKind, GateDecision, ProposedAction

Status = Literal[
    "executed", "already_done", "waiting_approval", "denied", "rejected", "expired", "failed"
]


class Gate(Protocol):
    """What apply needs of the compliance gate."""

    def review(self, action: ProposedAction) -> GateDecision:
        """Allow, ask for a human, or deny."""
        ...


@dataclass
class ApplyWorld:
    """The capacity planner's port on the world: what applying may act on."""

    cluster: Cluster
    audit: AuditLog
    approvals: ApprovalQueue
    gate: Gate
    """The world's compliance gate (its policies, its clock)."""
    clock: Callable[[], datetime]
    approval_ttl: timedelta = timedelta(hours=24)


class ApprovedAction(BaseModel):
    """The resume handle of a capacity approval request: the exact planned action."""

    plan_id: str
    planned: PlannedAction


class ActionOutcome(BaseModel):
    """Where one action stands after `apply`."""

    n: int
    kind: str
    target: str
    status: Status
    detail: str = ""
    approval_id: str | None = None


def idempotency_key(plan: CapacityPlan, action: PlannedAction) -> str:
    """The key an executed action is audited (and queued for approval) under."""
    return capacity_key(plan.id, action.n)


def apply_plan(plan: CapacityPlan, world: ApplyWorld) -> list[ActionOutcome]:
    """Run every action the gate allows or a human approved; request approval for the rest."""
    return [_apply_one(plan, a, world) for a in plan.actions]


def execute_approved(request: ApprovalRequest, world: ApplyWorld) -> ActionOutcome:
    """Execute the exact action a human approved (once; a repeat reports it as done)."""
    handle = ApprovedAction.model_validate_json(request.handle)
    planned = handle.planned
    out = ActionOutcome(
        n=planned.n,
        kind=planned.action.kind.value,
        target=_target(planned),
        status=request.status if request.status != "approved" else "failed",
        approval_id=request.id,
    )
    if request.status != "approved":
        return out
    if not request.intact():
        detail = "void: the stored action changed after it was approved; nothing was done"
        return out.model_copy(update={"status": "failed", "detail": detail})
    if world.audit.find(capacity_key(handle.plan_id, planned.n)) is not None:
        return out.model_copy(update={"status": "already_done", "detail": "executed before"})
    return _run(handle.plan_id, planned, world, out, request.decided_by)


def capacity_key(plan_id: str, n: int) -> str:
    """The key of a plan's n-th action (audit record and approval request)."""
    return f"capacity:{plan_id}:{n}"


def _apply_one(plan: CapacityPlan, planned: PlannedAction, world: ApplyWorld) -> ActionOutcome:
    action = planned.action
    key = idempotency_key(plan, planned)
    target = _target(planned)
    out = ActionOutcome(n=planned.n, kind=action.kind.value, target=target, status="failed")
    if world.audit.find(key) is not None:
        return out.model_copy(update={"status": "already_done", "detail": "executed before"})
    decision = world.gate.review(action)
    world.audit.append(
        "gate",
        actor="compliance-gate",
        model=action.model,
        incident=f"capacity-{plan.id}",
        idempotency_key=f"{key}:gate",
        data={"verdict": decision.verdict, "reasons": decision.reasons, "action": action.detail},
    )
    approver = None
    if decision.verdict == "deny":
        return out.model_copy(update={"status": "denied", "detail": "; ".join(decision.reasons)})
    if decision.verdict == "needs_approval":
        request = world.approvals.submit(
            NewRequest(
                key=key,
                agent="capacity",
                action=f"capacity {action.kind.value}",
                actions=[action],
                models=[action.model or target],
                reasons=[*decision.reasons, f"{target}: {action.detail}"],
                verdict=decision.verdict,
                proposer=action.proposer,
                incident_id=f"capacity-{plan.id}",
                handle=ApprovedAction(plan_id=plan.id, planned=planned).model_dump_json(),
            ),
            world.clock(),
            world.approval_ttl,
        )
        if request.status == "pending":
            world.audit.append(
                "approval_requested",
                actor=AGENT,
                model=action.model,
                incident=f"capacity-{plan.id}",
                idempotency_key=f"{key}:approval",
                data={"approval": request.id, "action": action.detail},
            )
            return out.model_copy(
                update={
                    "status": "waiting_approval",
                    "approval_id": request.id,
                    "detail": "; ".join(decision.reasons),
                }
            )
        if request.status != "approved":
            return out.model_copy(update={"status": request.status, "approval_id": request.id})
        if request.handle and ApprovedAction.model_validate_json(request.handle).planned != planned:
            return out.model_copy(
                update={
                    "status": "denied",
                    "approval_id": request.id,
                    "detail": f"the saved plan's action differs from what {request.id} approved; "
                    "nothing run (run `lotsen capacity plan` again for a new approval)",
                }
            )
        approver = request.decided_by
    return _run(plan.id, planned, world, out, approver)


def _run(
    plan_id: str,
    planned: PlannedAction,
    world: ApplyWorld,
    out: ActionOutcome,
    approver: str | None,
) -> ActionOutcome:
    """Execute one action (dry-run first) and audit it under its idempotency key."""
    action, target = planned.action, _target(planned)
    try:
        result = _execute(planned, world.cluster)
    except LotsenError as exc:
        world.audit.append(
            "action_failed",
            actor=AGENT,
            model=action.model,
            incident=f"capacity-{plan_id}",
            data={"action": action.detail, "error": str(exc)},
        )
        return out.model_copy(update={"status": "failed", "detail": str(exc)})
    world.audit.append(
        "action",
        actor=AGENT,
        model=action.model or target,
        incident=f"capacity-{plan_id}",
        idempotency_key=capacity_key(plan_id, planned.n),
        data={
            "action": action.kind.value,
            "target": target,
            "detail": action.detail,
            "approver": approver,
            "result": result,
            "saving": planned.saving,
        },
    )
    return out.model_copy(update={"status": "executed", "detail": result})


def _execute(planned: PlannedAction, cluster: Cluster) -> str:
    a = planned.action
    match a.kind:
        case ActionKind.SCALE:
            assert a.namespace and a.deployment and planned.replicas is not None
            cluster.scale(a.namespace, a.deployment, planned.replicas, dry_run=True)
            dep = cluster.scale(a.namespace, a.deployment, planned.replicas)
            return f"{dep.namespace}/{dep.name} scaled to {dep.replicas}"
        case ActionKind.RESIZE:
            assert a.namespace and a.deployment and planned.gpu is not None
            cluster.resize(a.namespace, a.deployment, planned.gpu, dry_run=True)
            dep = cluster.resize(a.namespace, a.deployment, planned.gpu)
            return f"{dep.namespace}/{dep.name} now on {dep.gpu.slot_label()}"
        case ActionKind.MOVE:
            for m in planned.moves:
                cluster.move_replica(
                    m.namespace, m.name, m.replica, m.to_node, m.to_gpu, dry_run=True
                )
                cluster.move_replica(m.namespace, m.name, m.replica, m.to_node, m.to_gpu)
            return f"moved {len(planned.moves)} replica(s)"
        case ActionKind.SUBMIT_JOB:
            assert planned.job_id is not None
            cluster.defer_job(planned.job_id, planned.not_before, dry_run=True)
            job = cluster.defer_job(planned.job_id, planned.not_before)
            return f"{job.id} held until {planned.not_before:%Y-%m-%d %H:%M}"
        case ActionKind.PATCH_QUEUE:
            assert planned.cluster_queue is not None and planned.queue_patch is not None
            cluster.patch_cluster_queue(planned.cluster_queue, planned.queue_patch, dry_run=True)
            cq = cluster.patch_cluster_queue(planned.cluster_queue, planned.queue_patch)
            return f"ClusterQueue {cq.name}: {planned.queue_patch.describe()}"
        case _:
            raise AssertionError(f"the capacity planner does not propose {a.kind}")


def _target(planned: PlannedAction) -> str:
    a = planned.action
    if planned.cluster_queue:
        return f"ClusterQueue/{planned.cluster_queue}"
    if planned.job_id:
        return f"{a.namespace}/{planned.job_id}"
    return f"{a.namespace}/{a.deployment}"
