"""A retrained challenger's promotion: its own approval, after its training job has ended.

Approving a retrain approves the training only. When the winning challenger's promotion
to @champion needs a human (prod, high-risk, unknown tags), the run asks again, in a
second request that shows the gate's reasons and the champion-vs-challenger scores, and
only once the training job has finished; the promotion runs only after that request is
approved (four eyes, bound to its exact actions like every request).
"""

from collections.abc import Callable

from pydantic import BaseModel, Field

from tools.cluster.protocol import Cluster
from tools.domain import JobStatus
from tools.errors import ConfigError, LotsenError, NotFoundError
from tools.policy.action import ActionKind, ProposedAction
from tools.registry import CHALLENGER, CHAMPION

PROMOTE_ACTION = "promote"
"""The `action` of a promotion request in the approval queue."""


class PendingPromotion(BaseModel):
    """A winning challenger whose promotion waits for its own approval."""

    model: str
    version: int
    """The challenger (@challenger while it waits)."""
    champion: int | None
    """The champion it would replace."""
    job: str
    """The training job that produced it (finished when this is created)."""
    key: str
    """The retrain's idempotency key (the promotion's keys derive from it)."""
    metric: str
    challenger_score: float
    champion_score: float | None
    holdout: str
    holdout_rows: int
    gate_reasons: list[str] = Field(default_factory=list)
    """Why the gate asks a human for this promotion."""

    def scores(self) -> str:
        """Champion vs challenger, as the approver sees them."""
        theirs = (
            "no champion"
            if self.champion_score is None
            else f"champion v{self.champion} {self.metric} {self.champion_score:.3f}"
        )
        return (
            f"challenger v{self.version} {self.metric} {self.challenger_score:.3f} vs {theirs} "
            f"on {self.holdout} ({self.holdout_rows} rows)"
        )

    def reasons(self) -> list[str]:
        """What the promotion request shows: the scores, the job, the gate's reasons."""
        return [
            f"{self.model}: {self.scores()}",
            f"{self.model}: training job {self.job} finished; the retrain approval covered "
            "training only",
            *(f"{self.model}: gate: {r}" for r in self.gate_reasons),
        ]


def promotion_key(thread: str) -> str:
    """The approval queue's idempotency key of a run's promotion request."""
    return f"remediation:{thread}:promote"


def promotion_actions(pending: list[PendingPromotion], proposer: str) -> list[ProposedAction]:
    """The exact alias moves a promotion request asks for (what its approval binds)."""
    return [
        ProposedAction(
            kind=ActionKind.SET_ALIAS,
            proposer=proposer,
            model=p.model,
            version=p.version,
            alias=CHAMPION,
            detail=f"promote challenger v{p.version} trained by {p.job} ({p.key})",
        )
        for p in pending
    ]


def job_unfinished(cluster: Cluster, job: str) -> str:
    """Why the training job has not finished, or "" when it has.

    A job the cluster does not know (a local command, an in-process trainer) ended when its
    trainer returned; a cluster job must have succeeded.
    """
    try:
        found = cluster.job(job)
    except (NotFoundError, ConfigError):  # not a cluster job id (local, in-process)
        return ""
    if found.status is JobStatus.SUCCEEDED:
        return ""
    return f"training job {job} is {found.status.value}"


def check_promotable(
    pending: PendingPromotion, cluster: Cluster, challenger_of: Callable[[str], int | None]
) -> None:
    """Refuse a promotion whose job has not finished or whose challenger moved meanwhile.

    Raises:
        LotsenError: the job is queued/running/failed, or @challenger no longer marks it.
    """
    if reason := job_unfinished(cluster, pending.job):
        raise LotsenError(f"{reason}: promotion of v{pending.version} refused")
    current = challenger_of(pending.model)
    if current != pending.version:
        raise LotsenError(
            f"@{CHALLENGER} of {pending.model} is "
            f"{'unset' if current is None else f'v{current}'}, not v{pending.version}: "
            "promotion refused (the approved challenger is no longer the candidate)"
        )
