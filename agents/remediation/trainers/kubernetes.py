"""The Kubernetes Job trainer: the model's own training image as a batch/v1 Job.

The Job gets the request's environment (`LOTSEN_MODEL`, `LOTSEN_RUN_TAG`, the data window,
...) plus the configured one; it is named after the run tag, so a retry after a crash finds
the same Job instead of starting a second. The trainer watches the Job's status until it
succeeds or fails, or the timeout passes (then it is a recorded failure; the Job's own
`activeDeadlineSeconds` stops it on the cluster).
"""

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from agents.remediation.trainers.protocol import TrainingOutcome, TrainingRequest
from tools.cluster.kubernetes import TrainingContainer
from tools.domain import Job, JobSpec, JobStatus
from tools.fleet.layout import ENV_TAINT, TRAINING_REQUEST, TRAINING_TAINT

POLL_S = 10.0
"""Seconds between two reads of the Job's status."""


class TrainingJobs(Protocol):
    """The part of `KubernetesCluster` the trainer uses."""

    def submit_training_job(
        self, spec: JobSpec, container: TrainingContainer | None, *, dry_run: bool = False
    ) -> Job:
        """Create the Job (idempotent by the spec's key)."""
        ...

    def job(self, job_id: str) -> Job:
        """The Job as it is now."""
        ...


class KubernetesJobTrainer:
    """Creates the training Job and watches it to its end."""

    kind = "kubernetes"

    def __init__(
        self,
        cluster: TrainingJobs,
        *,
        image: str,
        command: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        poll_s: float = POLL_S,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """The model's image and command, run on `cluster`.

        Args:
            cluster: The live cluster.
            image: The model team's training image.
            command: Its command (empty: the image's entrypoint).
            env: Extra environment variables (e.g. `MLFLOW_TRACKING_URI`).
            poll_s: Seconds between status reads.
            sleep: Waits between reads (tests pass their own).
            monotonic: The clock the timeout is measured on.
        """
        self._cluster = cluster
        self._container = TrainingContainer(image=image, command=list(command), env=dict(env or {}))
        self._poll_s, self._sleep, self._monotonic = poll_s, sleep, monotonic

    def run(self, request: TrainingRequest) -> TrainingOutcome:
        """Create (or find) the Job, then read its status until it ends or the timeout."""
        container = TrainingContainer(
            image=self._container.image,
            command=self._container.command,
            env={**self._container.env, **request.env()},
        )
        job = self._cluster.submit_training_job(
            JobSpec(
                namespace=request.namespace,
                model=request.model,
                gpu=TRAINING_REQUEST,
                duration_s=request.timeout.total_seconds(),
                idempotency_key=request.run_tag,
                tolerations=[ENV_TAINT, TRAINING_TAINT],
            ),
            container,
        )
        deadline = self._monotonic() + request.timeout.total_seconds()
        while job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            if self._monotonic() >= deadline:
                return TrainingOutcome(
                    status="timed_out",
                    job=job.id,
                    detail=f"still {job.status.value} after {request.timeout}",
                )
            self._sleep(self._poll_s)
            job = self._cluster.job(job.id)
        if job.status is JobStatus.FAILED:
            return TrainingOutcome(status="failed", job=job.id, detail=job.reason or "Job failed")
        return TrainingOutcome(status="succeeded", job=job.id)
