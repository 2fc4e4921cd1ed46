"""The retrainer's decision table: an incident becomes one action from a closed set."""

from enum import StrEnum

from pydantic import BaseModel, Field

from agents.remediation.correlate import correlate
from tools.domain.events import ChangeEvent
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
    REVERT_CHANGE = "revert_change"
    """Trouble right after a serving change of the same version: undo that change."""


EXPIRED = "expired_request"
"""Resume payload key (`{EXPIRED: request_id}`): the run's request expired; propose anew."""

MUTATING = {Action.RETRAIN, Action.RETRAIN_WITH_REVIEW, Action.ROLLBACK, Action.REVERT_CHANGE}


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
    cause_event: ChangeEvent | None = None
    """The change the incident closely follows (the plan undoes it), when there is one."""


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
    "estimated_performance_drop": (
        Action.WATCH,
        "performance was only estimated to drop (prediction scores, labels delayed): "
        "watch and have a human check; retrain, roll back or promote once labels confirm it",
    ),
}


ADMISSIBLE: dict[str, frozenset[Action]] = {
    "data_quality": frozenset({Action.OPEN_DATA_INCIDENT}),
    "covariate_drift": frozenset({Action.WATCH, Action.OPEN_DATA_INCIDENT}),
    "drift_with_performance_drop": frozenset({Action.RETRAIN, Action.RETRAIN_WITH_REVIEW}),
    "concept_drift": frozenset({Action.RETRAIN_WITH_REVIEW}),
    "bad_deploy": frozenset({Action.ROLLBACK}),
    "latency_regression": frozenset({Action.ROLLBACK}),
    "estimated_performance_drop": frozenset({Action.WATCH}),
}
"""What an LLM tier may choose for each incident kind; anything else falls back to tier 0.

The rule: the LLM may pick an action that is at least as cautious as the table's and
still fixes what needs fixing; never a more invasive one, never one that leaves a needed
fix undone.

- data_quality: only a data incident. Watching leaves the pipeline owner uninformed and
  the break in place; a retrain bakes the broken data into the model; a rollback does not
  touch the inputs that broke.
- covariate_drift (performance healthy): watch, or a data incident. Neither changes a
  model or what is served; a data incident escalates to the pipeline owner, the cautious
  reading of a drift that looks like an upstream change. A retrain or rollback would
  change a model whose performance is fine.
- drift_with_performance_drop: retrain, with or without review. Review only adds a human
  before the same fix. Watching or a data incident would leave the degraded model serving
  (the needed retrain never happens); a rollback serves an older model trained on even
  older data.
- concept_drift: retrain with review only. A plain retrain skips the human the table
  requires for a cause the evidence cannot confirm.
- bad_deploy, latency_regression: rollback only. Anything else leaves the bad version
  serving.
- estimated_performance_drop: watch only. The drop is an estimate from prediction scores
  while labels are delayed; changing a model on it (retrain, rollback) acts on evidence
  that labels have not confirmed.
- a kind missing here (a new kind added to `TABLE` only): the tier-0 action only.
"""


def admissible(kind: str) -> frozenset[Action]:
    """The actions an LLM may choose for an incident of `kind` (see `ADMISSIBLE`)."""
    return ADMISSIBLE.get(kind) or frozenset({TABLE[kind][0]})


def tier0_plan(incident: Incident, events: list[ChangeEvent] | None = None) -> RemediationPlan:
    """The deterministic decision for an incident, given the changes recorded around it.

    A regression that closely follows a change is answered by undoing that change (see
    `agents.remediation.correlate`), even when drift is also present.
    """
    action, reason = TABLE[incident.kind]
    found = correlate(incident, events or [])
    if found is not None:
        action = Action.REVERT_CHANGE if found.undo == "revert_change" else Action.ROLLBACK
        reason = found.explain(incident.kind)
    return RemediationPlan(
        incident_id=incident.id,
        incident_kind=incident.kind,
        action=action,
        models=incident.models,
        reason=reason,
        decided_by="tier0",
        cause_event=found.event if found is not None else None,
    )


def allowed_for(plan: RemediationPlan) -> frozenset[Action]:
    """What an LLM may choose for a plan.

    The incident kind's admissible set; when the incident follows a recorded change, only
    undoing that change.
    """
    if plan.cause_event is not None:
        return frozenset({plan.action})
    return admissible(plan.incident_kind)


THREAD_PREFIX = "rem-"
"""Remediation runs' graph threads (`rem-<incident hash>`)."""


def approval_key(thread: str) -> str:
    """The approval queue's idempotency key of a remediation run (its graph thread)."""
    return f"remediation:{thread}"
