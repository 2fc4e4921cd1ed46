"""The local command trainer: the team's training script as a subprocess.

For teams without a cluster. The script gets the request's environment (`LOTSEN_MODEL`,
`LOTSEN_RUN_TAG`, the data window, ...) and `MLFLOW_TRACKING_URI`, trains, logs an MLflow
run tagged `lotsen.idempotency_key=$LOTSEN_RUN_TAG` and registers a version from it. Its exit
ends the job: 0 is success, anything else (or the timeout) a recorded failure.
"""

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from agents.remediation.trainers.protocol import TrainingOutcome, TrainingRequest

TAIL_LINES = 5
"""Lines of the script's output kept in a failure's record."""


class LocalCommandTrainer:
    """Runs a training command on this machine and waits for it to exit."""

    kind = "local"

    def __init__(
        self,
        command: Sequence[str],
        *,
        tracking_uri: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """A command (argv list, no shell) run with the request's environment.

        Args:
            command: The training command, e.g. `["python", "train.py"]`.
            tracking_uri: The MLflow registry the script registers its version in.
            env: Extra environment variables (from the trainers config).
            cwd: Working directory (default: the current one).
        """
        self._command, self._uri = list(command), tracking_uri
        self._env, self._cwd = dict(env or {}), cwd

    def run(self, request: TrainingRequest) -> TrainingOutcome:
        """Run the command to its end, bounded by the request's timeout."""
        env = {
            **os.environ,
            **self._env,
            **request.env(),
            "MLFLOW_TRACKING_URI": self._uri,
            "MLFLOW_REGISTRY_URI": self._uri,
        }
        job = " ".join(self._command)
        try:
            done = subprocess.run(
                self._command,
                env=env,
                cwd=self._cwd,
                capture_output=True,
                text=True,
                timeout=request.timeout.total_seconds(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return TrainingOutcome(
                status="timed_out", job=job, detail=f"still running after {request.timeout}"
            )
        except OSError as exc:
            return TrainingOutcome(status="failed", job=job, detail=f"cannot start: {exc}")
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-TAIL_LINES:])
            return TrainingOutcome(
                status="failed", job=job, detail=f"exit code {done.returncode}: {tail}"
            )
        return TrainingOutcome(status="succeeded", job=job)
