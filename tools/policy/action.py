"""What the compliance gate reviews: one proposed mutating action, and its verdict."""

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["allow", "needs_approval", "deny"]


class ActionKind(StrEnum):
    """Mutating actions an agent may propose."""

    SET_ALIAS = "set_alias"
    """Point an alias (champion/challenger) at a version: a promotion when champion."""
    ROLLBACK = "rollback"
    """Point champion back at the previous version."""
    RETRAIN = "retrain"
    """Train a challenger (submits a job; promotion is a separate SET_ALIAS)."""
    SCALE = "scale"
    """Change a deployment's replicas (0 = scale to zero)."""
    RESIZE = "resize"
    """Change a deployment's GPU request (e.g. a smaller MIG profile)."""
    MOVE = "move"
    """Re-place a deployment's replicas on other GPUs."""
    SUBMIT_JOB = "submit_job"
    """Submit (or reschedule) a job on the cluster."""
    PATCH_QUEUE = "patch_queue"
    """Change a Kueue ClusterQueue's preemption policy or borrowing/lending limits."""


class ProposedAction(BaseModel):
    """One mutating action, as proposed by an agent or a person; the gate fills the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    kind: ActionKind
    proposer: str
    """Agent id or user who proposes it."""
    model: str | None = None
    """Registered model it concerns, if any."""
    namespace: str | None = None
    """Cluster namespace it touches, if any."""
    deployment: str | None = None
    version: int | None = None
    """Target model version (SET_ALIAS)."""
    alias: str | None = None
    """Target alias (SET_ALIAS)."""
    replicas: int | None = Field(default=None, ge=0)
    """Target replica count (SCALE)."""
    change_kind: str | None = None
    """For RETRAIN: the change kind (see `ChangeKind`); None = retrain on same features."""
    detail: str = ""
    """One line on what and why, for the approver."""


class GateDecision(BaseModel):
    """The compliance gate's answer: it can block or ask for a human, it never executes."""

    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    """Why; one line each, naming the policy id in brackets."""
    policies: list[str] = Field(default_factory=list)
    """Ids of the policies behind the verdict."""
    promotion_blocked: bool = False
    """A retrain may run, but what it produces must not be promoted (needs sign-off)."""

    @property
    def allowed(self) -> bool:
        """True when the action may run without a human."""
        return self.verdict == "allow"
