"""The synthetic demo trainer: for the embedded demo world and tests only.

A real scikit-learn training run on data drawn for the model (its label relation changed
since the champion was trained), so the demo's challenger gate compares two real models on
the same held-out rows. The "champion" it scores is a stand-in trained on the old relation
(the demo's registered versions carry no model files), scored afresh in every comparison.
On the twin the training is a job on the twin's virtual clock, waited for like a real one.
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from agents.remediation.trainers.protocol import (
    RUN_TAG,
    Comparison,
    TrainingOutcome,
    TrainingRequest,
)
from tools.cluster.protocol import Cluster
from tools.domain import (
    ChangeKind,
    Environment,
    JobSpec,
    JobStatus,
    Lineage,
    NewVersion,
    RegisteredModel,
)
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT
from tools.policy import tags
from tools.registry import ModelRegistry

JOB_DURATION_S = 3600.0
"""Virtual run time of a synthetic training job on the twin."""
Advance = Callable[[timedelta], object]
"""Moves the twin's virtual clock (jobs finish, queued jobs start)."""


class SyntheticTrainer:
    """Trains a logistic regression on seeded synthetic data and registers it."""

    kind = "synthetic"

    def __init__(
        self,
        registry: ModelRegistry,
        cluster: Cluster | None = None,
        advance: Advance | None = None,
        *,
        seed: int = 7,
        rows: int = 4000,
    ) -> None:
        """Same seed, same data, same result.

        Args:
            registry: Where the challenger is registered.
            cluster: The twin: the training runs as its job (None: in-process only).
            advance: The twin's clock, moved until the job ends.
            seed: Data seed.
            rows: Rows per window.
        """
        self._registry, self._cluster, self._advance = registry, cluster, advance
        self._data = SyntheticData(seed, rows)

    def run(self, request: TrainingRequest) -> TrainingOutcome:
        """The twin's job (waited for on its clock), then the training, registered once."""
        job = "in-process"
        if self._cluster is not None and self._advance is not None:
            ended = _twin_job(self._cluster, self._advance, request)
            if ended.status != "succeeded":
                return ended
            job = ended.job
        model = self._registry.get_model(request.model)
        if not any(
            v.tags.get(RUN_TAG) == request.run_tag for v in self._registry.all_versions(model.name)
        ):
            self._register(model, request)
        return TrainingOutcome(status="succeeded", job=job)

    def _register(self, model: RegisteredModel, request: TrainingRequest) -> None:
        challenger, _, rows = self._data.fit(model)
        hold_x, hold_y = self._data.holdout(model)
        auc = round(float(roc_auc_score(hold_y, challenger.predict_proba(hold_x)[:, 1])), 4)
        self._registry.create_version(
            model.name,
            NewVersion(
                metrics={"auc": auc},
                tags={
                    RUN_TAG: request.run_tag,
                    tags.DATA_CHECKS: "passed",
                    tags.CHANGE_KIND: ChangeKind.RETRAIN_SAME_FEATURES.value,
                },
                lineage=Lineage(
                    training_data=f"synthetic recent window ({rows} rows)",
                    parent_version=request.parent_version,
                    code_version="synthetic-trainer",
                    promoted_from=Environment.TEST if model.env is Environment.PROD else None,
                ),
                description=f"challenger trained by Lotsen ({request.run_tag})",
            ),
        )


class SyntheticScorer:
    """Scores the synthetic challenger and the champion stand-in on the same held-out rows."""

    def __init__(self, seed: int = 7, rows: int = 4000) -> None:
        """The same data as the `SyntheticTrainer` with this seed."""
        self._data = SyntheticData(seed, rows)

    def compare(self, model: RegisteredModel, champion: int | None, challenger: int) -> Comparison:
        """Both models fitted and scored now (deterministic: the same data every time)."""
        fitted, stand_in, _ = self._data.fit(model)
        hold_x, hold_y = self._data.holdout(model)
        return Comparison(
            metric="auc",
            champion=_auc(stand_in, hold_x, hold_y) if champion is not None else None,
            challenger=_auc(fitted, hold_x, hold_y),
            holdout_rows=len(hold_y),
            holdout="synthetic recent window (demo)",
        )


class SyntheticData:
    """The seeded data of one model: the champion's old relation and the recent window."""

    def __init__(self, seed: int, rows: int) -> None:
        """Same seed, same data."""
        self._seed, self._rows = seed, rows

    def _draws(self, model: RegisteredModel) -> tuple[np.ndarray, ...]:
        rng = np.random.default_rng(
            int.from_bytes(
                hashlib.sha256(f"{self._seed}:{model.name}".encode()).digest()[:8], "little"
            )
        )
        n_features = len(model.tags.get("features", "").split(","))
        d = max(2, min(8, n_features))
        w_old = rng.normal(size=d) * 1.5
        w_new = 0.3 * w_old + rng.normal(size=d) * 1.2
        x_old, y_old = _draw(rng, w_old, self._rows)
        x_new, y_new = _draw(rng, w_new, self._rows)
        return x_old, y_old, x_new, y_new

    def fit(self, model: RegisteredModel) -> tuple[LogisticRegression, LogisticRegression, int]:
        """(challenger on the recent window, champion stand-in on the old data, train rows)."""
        x_old, y_old, x_new, y_new = self._draws(model)
        split = int(self._rows * 0.7)
        challenger = LogisticRegression().fit(x_new[:split], y_new[:split])
        return challenger, LogisticRegression().fit(x_old, y_old), split

    def holdout(self, model: RegisteredModel) -> tuple[np.ndarray, np.ndarray]:
        """The held-out tail of the recent window."""
        _, _, x_new, y_new = self._draws(model)
        split = int(self._rows * 0.7)
        return x_new[split:], y_new[split:]


def _twin_job(cluster: Cluster, advance: Advance, request: TrainingRequest) -> TrainingOutcome:
    """Submit the training job to the twin and move its clock until the job ends."""
    job = cluster.submit_job(
        JobSpec(
            namespace=request.namespace,
            model=request.model,
            gpu=TRAINING_REQUEST,
            duration_s=JOB_DURATION_S,
            idempotency_key=request.run_tag,
            tolerations=[ENV_TAINT, TRAINING_TAINT],
        )
    )
    deadline = cluster.now() + request.timeout
    while job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        now = cluster.now()
        if now >= deadline:
            return TrainingOutcome(
                status="timed_out",
                job=job.id,
                detail=f"still {job.status.value} after {request.timeout} "
                f"({job.reason or 'no reason given'})",
            )
        due = timedelta(minutes=15)
        if job.status is JobStatus.RUNNING and job.started_at is not None:
            due = job.started_at + timedelta(seconds=job.spec.duration_s) - now
        advance(max(min(due, deadline - now), timedelta(seconds=1)))
        job = cluster.job(job.id)
    if job.status is JobStatus.FAILED:
        return TrainingOutcome(status="failed", job=job.id, detail=job.reason or "the job failed")
    return TrainingOutcome(status="succeeded", job=job.id)


def _auc(model: LogisticRegression, x: np.ndarray, y: np.ndarray) -> float:
    return round(float(roc_auc_score(y, model.predict_proba(x)[:, 1])), 4)


def _draw(
    rng: np.random.Generator, weights: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(rows, len(weights)))
    y = rng.random(rows) < 1 / (1 + np.exp(-(x @ weights)))
    return x, y.astype(int)
