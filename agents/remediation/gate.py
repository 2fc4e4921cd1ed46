"""The remediation plan's pass through the compliance gate, one proposed action per model.

Concept-drift retrains are always reviewed by a human (the evidence is indirect); everything
else is the compliance reviewer's call (see agents/compliance/gate.py). The gate never
promotes anything; a retrain outside a model's change plan may train, but its promotion is
blocked.
"""

from pydantic import BaseModel, Field

from agents.remediation.plan import MUTATING, Action, RemediationPlan
from tools.policy.action import ActionKind, ProposedAction, Verdict
from tools.policy.gate import ComplianceGate

_KIND = {
    Action.RETRAIN: ActionKind.RETRAIN,
    Action.RETRAIN_WITH_REVIEW: ActionKind.RETRAIN,
    Action.ROLLBACK: ActionKind.ROLLBACK,
    Action.REVERT_CHANGE: ActionKind.ROLLBACK,  # undoing a serving change: a rollback
}
_RANK: dict[Verdict, int] = {"allow": 0, "needs_approval": 1, "deny": 2}


class GateResult(BaseModel):
    """The gate's answer for a plan."""

    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    promotion_blocked: list[str] = Field(default_factory=list)
    """Models whose retrain is a substantial modification: no promotion."""


def proposed_actions(plan: RemediationPlan, proposer: str) -> list[ProposedAction]:
    """The plan as the gate sees it: one action per model (none for watch / data incident)."""
    if plan.action not in MUTATING:
        return []
    return [
        ProposedAction(
            kind=_KIND[plan.action],
            proposer=proposer,
            model=model,
            detail=f"{plan.action.value} for {plan.incident_id}",
        )
        for model in plan.models
    ]


def review(plan: RemediationPlan, gate: ComplianceGate, proposer: str) -> GateResult:
    """Review every model's action of a plan; the strictest verdict wins."""
    if plan.action not in MUTATING:
        return GateResult(verdict="allow", reasons=["changes no model or deployment"])
    verdict: Verdict = "allow"
    reasons: list[str] = []
    blocked: list[str] = []
    if plan.action is Action.RETRAIN_WITH_REVIEW:
        verdict = "needs_approval"
        reasons.append("concept-drift retrains are reviewed by a human")
    for action in proposed_actions(plan, proposer):
        model = str(action.model)
        decision = gate.review(action)
        if _RANK[decision.verdict] > _RANK[verdict]:
            verdict = decision.verdict
        if decision.verdict != "allow":
            reasons += [f"{model}: {reason}" for reason in decision.reasons]
        if decision.promotion_blocked:
            blocked.append(model)
    return GateResult(
        verdict=verdict,
        reasons=reasons or ["no policy requires a human"],
        promotion_blocked=blocked,
    )
