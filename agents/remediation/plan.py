"""The retrainer's decision table: an incident becomes one action from a closed set."""

from enum import StrEnum

from pydantic import BaseModel, Field

from tools.drift.incidents import Incident


class Action(StrEnum):
    """Everything the remediation workflow may do."""

    OPEN_DATA_INCIDENT = "open_data_incident"
    """Data-quality failure: do not retrain; notify the pipeline owner, quarantine the window."""
    WATCH = "watch"
    """Drift with healthy performance: raise scan frequency, change nothing."""
    RETRAIN = "retrain"
    """Drift and a performance drop: retrain a challenger, promote only if it wins."""
    RETRAIN_WITH_REVIEW = "retrain_with_review"
    """Performance drop without drift (concept drift): retrain, a human reviews first."""
    ROLLBACK = "rollback"
    """Trouble right after a deploy: point `champion` back at the previous version."""


MUTATING = {Action.RETRAIN, Action.RETRAIN_WITH_REVIEW, Action.ROLLBACK}


class PlanChoice(BaseModel):
    """What the LLM tier may choose (validated; tier 0 decides when it cannot)."""

    action: Action
    reason: str = Field(max_length=600, description="One or two sentences of evidence.")


class RemediationPlan(BaseModel):
    """A decided action for one incident."""

    incident_id: str
    incident_kind: str
    action: Action
    models: list[str]
    reason: str
    decided_by: str
    """`tier0` or the LLM tier's name."""
    prompt_sha256: str = ""


TABLE: dict[str, tuple[Action, str]] = {
    "data_quality": (
        Action.OPEN_DATA_INCIDENT,
        "data-quality failure upstream: retraining on broken data would "
        "bake the break into the model; open a data incident for the pipeline owner",
    ),
    "covariate_drift": (
        Action.WATCH,
        "inputs drifted but performance is healthy: watch closely, change nothing",
    ),
    "drift_with_performance_drop": (
        Action.RETRAIN,
        "inputs drifted and performance dropped: retrain a challenger "
        "on recent data and promote it only if it beats the champion",
    ),
    "concept_drift": (
        Action.RETRAIN_WITH_REVIEW,
        "performance dropped while inputs did not drift (concept drift): "
        "retrain on recent labelled data after human review",
    ),
    "bad_deploy": (
        Action.ROLLBACK,
        "performance dropped right after a deploy: roll the champion back",
    ),
    "latency_regression": (
        Action.ROLLBACK,
        "latency regressed right after a deploy: roll the champion back",
    ),
}


def tier0_plan(incident: Incident) -> RemediationPlan:
    """The deterministic decision for an incident."""
    action, reason = TABLE[incident.kind]
    return RemediationPlan(
        incident_id=incident.id,
        incident_kind=incident.kind,
        action=action,
        models=incident.models,
        reason=reason,
        decided_by="tier0",
    )


THREAD_PREFIX = "rem-"
"""Remediation runs' graph threads (`rem-<incident hash>`)."""


def approval_key(thread: str) -> str:
    """The approval queue's idempotency key of a remediation run (its graph thread)."""
    return f"remediation:{thread}"
