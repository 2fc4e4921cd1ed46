"""The compliance gate before every mutating action (built-in minimal policy).

Prod models and models tagged `ai_act_risk=high` always need a human approval; concept-drift
retrains always do; a retrain outside a model's pre-determined change plan is a "substantial
modification": it may train, but its promotion is blocked. The gate never promotes anything.
"""

from typing import Literal

from pydantic import BaseModel, Field

from agents.remediation.plan import MUTATING, Action, RemediationPlan
from tools.domain import AiActRisk, ChangeKind, Environment
from tools.registry import ModelRegistry

Verdict = Literal["allow", "needs_approval", "deny"]


class GateResult(BaseModel):
    """The gate's answer for a plan."""

    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    promotion_blocked: list[str] = Field(default_factory=list)
    """Models whose retrain is a substantial modification: no promotion."""


def review(plan: RemediationPlan, registry: ModelRegistry) -> GateResult:
    """Check a plan against the built-in policy."""
    if plan.action not in MUTATING:
        return GateResult(verdict="allow", reasons=["changes no model or deployment"])
    reasons: list[str] = []
    blocked: list[str] = []
    if plan.action is Action.RETRAIN_WITH_REVIEW:
        reasons.append("concept-drift retrains are reviewed by a human")
    for name in plan.models:
        model = registry.get_model(name)
        if model.env is Environment.PROD:
            reasons.append(f"{name} serves in prod")
        if model.ai_act_risk is AiActRisk.HIGH:
            reasons.append(f"{name} is high-risk under the EU AI Act")
        plan_allows = (
            model.change_plan is None
            or ChangeKind.RETRAIN_SAME_FEATURES in model.change_plan.allowed
        )
        if plan.action in (Action.RETRAIN, Action.RETRAIN_WITH_REVIEW) and not plan_allows:
            blocked.append(name)
            reasons.append(
                f"{name}: retraining is outside its change plan (substantial modification)"
            )
    verdict: Verdict = "needs_approval" if reasons else "allow"
    return GateResult(
        verdict=verdict, reasons=reasons or ["no rule requires a human"], promotion_blocked=blocked
    )
