"""Remediation plans for tests that drive the executor directly."""

from agents.remediation.plan import Action, RemediationPlan


def plan(model: str, action: Action = Action.RETRAIN) -> RemediationPlan:
    """A tier-0 plan for one model of a drift-with-drop incident."""
    return RemediationPlan(
        incident_id=f"inc-{model}",
        incident_kind="drift_with_performance_drop",
        action=action,
        models=[model],
        reason="test",
        decided_by="tier0",
    )
