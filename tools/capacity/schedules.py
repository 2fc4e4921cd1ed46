"""Scheduled work: when CronJobs run next, what they hold, and which deployments they need.

Runs come from `tools.cluster.cron` (croniter against the cluster's clock, in the
CronJob's time zone); a suspended CronJob runs nothing and so protects nothing.
"""

from datetime import datetime, timedelta

from pydantic import BaseModel

from tools.capacity.rightsizing import slot_equivalents
from tools.cluster.cron import check_schedule, running_at, runs_between
from tools.domain.queues import CronSchedule

__all__ = [
    "Reservation",
    "check_schedule",
    "needed_deployments",
    "reservations",
    "running_at",
    "runs_between",
]


class Reservation(BaseModel):
    """GPU capacity one CronJob holds while it runs, over the planning horizon."""

    namespace: str
    name: str
    schedule: str
    next_run: datetime | None
    runs: int
    """Runs that start within the horizon."""
    gpus: int
    slot: str
    """Slot kind each pod holds (`whole`, `mig-2g.20gb`, `shared`), or `cpu`."""
    gpu_equivalents: float
    """GPU-equivalents held while one run is in progress."""
    gpu_hours: float
    """GPU-equivalent hours the runs within the horizon hold."""
    uses: list[str]


def needed_deployments(
    schedules: list[CronSchedule], now: datetime, horizon: timedelta
) -> dict[str, tuple[str, datetime]]:
    """Deployments that a CronJob run within the horizon (or one in progress) calls.

    Returns:
        `namespace/deployment` -> (`namespace/cronjob`, its next run or now if running).
    """
    out: dict[str, tuple[str, datetime]] = {}
    for s in schedules:
        runs = runs_between(s, now, now + horizon)
        when = now if running_at(s, now) else (runs[0] if runs else None)
        if when is None:
            continue
        for dep in s.uses:
            if dep not in out or when < out[dep][1]:
                out[dep] = (f"{s.namespace}/{s.name}", when)
    return out


def reservations(
    schedules: list[CronSchedule], now: datetime, horizon: timedelta
) -> list[Reservation]:
    """What each CronJob holds over the horizon (suspended ones hold nothing)."""
    out = []
    for s in schedules:
        runs = runs_between(s, now, now + horizon)
        per_run = slot_equivalents(s.gpu) * s.gpus if s.gpu is not None else 0.0
        out.append(
            Reservation(
                namespace=s.namespace,
                name=s.name,
                schedule=s.schedule + (" (suspended)" if s.suspend else ""),
                next_run=runs[0] if runs else None,
                runs=len(runs),
                gpus=s.gpus if s.gpu is not None else 0,
                slot=s.gpu.slot_label() if s.gpu is not None else "cpu",
                gpu_equivalents=per_run,
                gpu_hours=per_run * len(runs) * s.duration_s / 3600,
                uses=list(s.uses),
            )
        )
    return out
