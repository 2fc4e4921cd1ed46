"""The `Trainer` and `Scorer` seams of a retrain, and what passes through them.

A trainer runs the model team's own training (a Kubernetes Job, a local command, or the
synthetic demo trainer) and waits for it; the training registers a version in MLflow and
tags its run with the run tag, by which the workflow finds it. A scorer then scores the
champion and that challenger on the same held-out window, in the same run.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel

from tools.domain import RegisteredModel

RUN_TAG = "lotsen.idempotency_key"
"""The run (and version) tag whose value is the retrain's idempotency key."""


class TrainingRequest(BaseModel):
    """One retrain, as the training job sees it (`env()`)."""

    model: str
    parent_version: int | None
    """The champion the challenger is trained to replace."""
    run_tag: str
    """Idempotency key: the training tags its MLflow run `lotsen.idempotency_key=<run_tag>`."""
    window_start: datetime
    window_end: datetime
    """The data window to train on."""
    namespace: str
    """Where a cluster job runs (the model's training namespace)."""
    timeout: timedelta
    """Longest wait for the job; past it the retrain is a recorded failure."""

    def env(self) -> dict[str, str]:
        """The environment variables every trainer's job gets."""
        return {
            "LOTSEN_MODEL": self.model,
            "LOTSEN_PARENT_VERSION": ""
            if self.parent_version is None
            else str(self.parent_version),
            "LOTSEN_RUN_TAG_KEY": RUN_TAG,
            "LOTSEN_RUN_TAG": self.run_tag,
            "LOTSEN_WINDOW_START": self.window_start.isoformat(),
            "LOTSEN_WINDOW_END": self.window_end.isoformat(),
        }


class TrainingOutcome(BaseModel):
    """How a training job ended."""

    status: Literal["succeeded", "failed", "timed_out"]
    job: str
    """What ran: a cluster job id, or the local command."""
    detail: str = ""
    """Why it failed (exit code, last output lines, the job's reason)."""


class Trainer(Protocol):
    """Runs a model's training for a request and waits until it ends."""

    kind: str
    """`synthetic`, `local` or `kubernetes` (recorded with the result)."""

    def run(self, request: TrainingRequest) -> TrainingOutcome:
        """Start the training (idempotent by `request.run_tag`) and wait for its end."""
        ...


class Comparison(BaseModel):
    """Champion and challenger scored on the same held-out rows in the same run."""

    metric: str
    champion: float | None
    """None: there was no champion to score."""
    challenger: float
    holdout_rows: int
    holdout: str
    """Where the held-out rows came from."""


class Scorer(Protocol):
    """Scores two versions of a model on one held-out window."""

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """Score both versions, freshly, on the same rows."""
        ...


RunTagLookup = Callable[[str, str], list[int]]
"""(model, run tag value) -> versions whose MLflow run carries `lotsen.idempotency_key`."""


@dataclass(frozen=True)
class TrainerChoice:
    """What retrains one model: its trainer, its scorer and the training window."""

    trainer: Trainer
    scorer: Scorer
    window: timedelta = timedelta(days=30)
    """How far back from the incident's window the training data reaches."""
    timeout: timedelta = timedelta(hours=6)
    lookup: RunTagLookup | None = None
    """Finds versions by their MLflow run's tag (None: the version tag is enough)."""


TrainerFor = Callable[[RegisteredModel], TrainerChoice]
"""The trainer configured for a model; raises ConfigError when there is none."""
