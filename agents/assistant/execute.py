"""Executing a chat proposal a human approved: the exact action, once, after a fresh review.

Chat never executes anything itself. A proposal is queued for approval (four eyes); once
approved, this runs exactly the stored action. The gate reviews it again first: state may
have changed since it was proposed, and a denial now stops it (an ask is covered by the
approval). Every execution is audited under the request's key, so a repeat is a no-op.
"""

from dataclasses import dataclass

from memory.approvals import ApprovalRequest
from memory.audit import AuditLog
from tools.cluster.protocol import Cluster
from tools.cluster.serving import serve_version
from tools.errors import ConflictError
from tools.policy.action import ActionKind, ProposedAction
from tools.policy.gate import ComplianceGate
from tools.registry import CHAMPION, ModelRegistry

ACTOR = "lotsen-assistant"
EXECUTABLE = {ActionKind.SET_ALIAS, ActionKind.ROLLBACK, ActionKind.SCALE}
"""Chat proposals that can be queued and executed once approved; retrains and moves go
through the remediation workflow and the capacity planner."""


@dataclass
class ChatPort:
    """What an approved chat proposal may change."""

    registry: ModelRegistry
    cluster: Cluster
    audit: AuditLog
    gate: ComplianceGate


def execution_key(request: ApprovalRequest, n: int) -> str:
    """The audit key of the request's n-th action."""
    return f"chat:{request.id}:{n}"


def execute_approved(request: ApprovalRequest, port: ChatPort) -> str:
    """Run every action of an approved chat request once; say what was done.

    Raises:
        ConflictError: the request is not approved, or the gate now denies an action.
    """
    decision = request.decision()
    if decision is None or not decision.approved:
        raise ConflictError(f"{request.id} is {request.status}; only approved requests run")
    if not request.intact():
        raise ConflictError(
            f"{request.id} is void: its stored actions changed after they were approved; "
            "nothing was done"
        )
    done = []
    for n, action in enumerate(request.actions):
        key = execution_key(request, n)
        if (record := port.audit.find(key)) is not None:
            done.append(str(record.data.get("result", "executed before")))
            continue
        verdict = port.gate.review(action)
        if verdict.verdict == "deny":
            raise ConflictError(
                f"the gate now denies '{action.detail}': " + "; ".join(verdict.reasons)
            )
        result = _run(action, port, f"{request.id} by {decision.by}", key)
        port.audit.append(
            "action",
            actor=ACTOR,
            model=action.model,
            incident=request.incident_id,
            idempotency_key=key,
            data={
                "action": action.kind.value,
                "detail": action.detail,
                "approval_id": request.id,
                "approver": decision.by,
                "proposer": request.proposer,
                "result": result,
            },
        )
        done.append(result)
    return "; ".join(done)


def _run(action: ProposedAction, port: ChatPort, why: str, key: str) -> str:
    match action.kind:
        case ActionKind.SET_ALIAS | ActionKind.ROLLBACK:
            assert action.model and action.version is not None
            alias = action.alias or CHAMPION
            port.registry.set_alias(
                action.model,
                alias,
                action.version,
                actor=ACTOR,
                reason=f"approved chat proposal {why}",
                idempotency_key=key,
            )
            if alias == CHAMPION:
                serve_version(port.cluster, port.registry.get_model(action.model), action.version)
            return f"{action.model}@{alias} -> v{action.version}"
        case ActionKind.SCALE:
            assert action.namespace and action.deployment and action.replicas is not None
            port.cluster.scale(action.namespace, action.deployment, action.replicas, dry_run=True)
            dep = port.cluster.scale(action.namespace, action.deployment, action.replicas)
            return f"{dep.namespace}/{dep.name} scaled to {dep.replicas}"
        case _:
            raise ConflictError(
                f"{action.kind.value} is not executed from chat; use `lotsen remediate` "
                "or `lotsen capacity apply`"
            )
