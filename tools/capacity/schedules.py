"""Scheduled work: when CronJobs run next, what they hold, and which deployments they need.

Cron expressions are evaluated with croniter against the cluster's clock (the twin's
virtual clock), in the CronJob's `timeZone` when it has one (UTC otherwise), as the
Kubernetes CronJob controller does. A suspended CronJob runs nothing.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel

from tools.capacity.rightsizing import slot_equivalents
from tools.domain.queues import CronSchedule
from tools.errors import ConfigError

MAX_RUNS = 1000
"""Runs listed per schedule and horizon at most (a `* * * * *` job over a week is 10,080)."""


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


def check_schedule(expression: str) -> None:
    """Raise ConfigError with one line if `expression` is not a 5-field cron expression."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ConfigError(
            f"not a cron schedule: {expression!r} (five fields: minute hour day month weekday)"
        )


def runs_between(schedule: CronSchedule, start: datetime, end: datetime) -> list[datetime]:
    """Start times (UTC) of the runs in [start, end); none while suspended."""
    if schedule.suspend or end <= start:
        return []
    check_schedule(schedule.schedule)
    zone = _zone(schedule.time_zone)
    it = croniter(schedule.schedule, (start - timedelta(seconds=1)).astimezone(zone))
    out: list[datetime] = []
    while len(out) < MAX_RUNS:
        at = it.get_next(datetime).astimezone(UTC)
        if at >= end:
            break
        if at >= start:
            out.append(at)
    return out


def running_at(schedule: CronSchedule, now: datetime) -> bool:
    """True if a run started within its duration before `now` is still in progress."""
    return bool(runs_between(schedule, now - timedelta(seconds=schedule.duration_s), now))


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


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} in a CronJob's timeZone") from None
