"""Cron schedules of CronJobs evaluated against a cluster clock.

croniter reads the five-field expression in the CronJob's `timeZone` (UTC when unset), as
the Kubernetes CronJob controller does; times come back in UTC. A suspended CronJob runs
nothing.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from tools.domain.queues import CronSchedule
from tools.errors import ConfigError

MAX_RUNS = 1000
"""Runs listed per schedule and window at most (a `* * * * *` job over a week is 10,080)."""


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


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} in a CronJob's timeZone") from None
