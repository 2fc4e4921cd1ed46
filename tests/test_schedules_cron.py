"""CronJob schedules: evaluated against the cluster clock, kept in the twin, honoured by the
planner (no scale-to-zero of what a scheduled run calls) and reported as reserved capacity."""

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.capacity.plan import build_plan
from tests.support.twin_specs import A100, ENV_TAINT, START, deployment, tiny_spec
from tools.capacity.energy import CapacityConfig
from tools.capacity.schedules import needed_deployments, reservations, runs_between
from tools.capacity.usage import capacity_report
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.domain.queues import CronSchedule
from tools.errors import ConfigError, NotFoundError

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def cron(expr: str, **extra: object) -> CronSchedule:
    fields: dict[str, object] = {
        "namespace": "growth-test",
        "name": "nightly",
        "schedule": expr,
        "gpu": A100,
        "gpus": 2,
        "duration_s": 5400,
        "uses": ["growth-test/scorer"],
    }
    fields.update(extra)
    return CronSchedule.model_validate(fields)


def test_runs_are_read_against_the_clock_and_the_time_zone() -> None:
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    assert runs_between(cron("0 2 * * *"), start, start + 2 * DAY) == [
        datetime(2026, 11, 2, 2, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
    ]
    # 02:00 in Stockholm in November (CET, UTC+1) is 01:00 UTC
    stockholm = cron("0 2 * * *", time_zone="Europe/Stockholm")
    assert runs_between(stockholm, start, start + DAY) == [datetime(2026, 11, 2, 1, 0, tzinfo=UTC)]
    assert runs_between(cron("0 2 * * *", suspend=True), start, start + WEEK) == []
    weekly = runs_between(cron("30 6 * * 1"), start, start + 2 * WEEK)  # Mondays 06:30
    assert [r.weekday() for r in weekly] == [0, 0] and weekly[0].hour == 6


@pytest.mark.parametrize("bad", ["0 2 * *", "61 * * * *", "0 2 * * * *", "every day"])
def test_a_bad_schedule_is_one_line(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a cron schedule") as err:
        runs_between(cron(bad), START, START + DAY)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="unknown time zone"):
        runs_between(cron("0 2 * * *", time_zone="Mars/Olympus"), START, START + DAY)


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    offset_min=st.integers(0, 7 * 24 * 60),
    days=st.integers(1, 10),
)
def test_daily_runs_match_their_fields_and_fall_one_day_apart(
    minute: int, hour: int, offset_min: int, days: int
) -> None:
    start = START + timedelta(minutes=offset_min)
    runs = runs_between(cron(f"{minute} {hour} * * *"), start, start + days * DAY)
    assert len(runs) == days  # exactly one run per 24 h window
    assert all(start <= r < start + days * DAY for r in runs)
    assert all((r.hour, r.minute, r.second) == (hour, minute, 0) for r in runs)
    assert all(b - a == DAY for a, b in itertools.pairwise(runs))


def test_needed_deployments_and_reservations() -> None:
    now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    nightly = cron("0 2 * * *")
    assert needed_deployments([nightly], now, DAY) == {
        "growth-test/scorer": ("growth-test/nightly", now)  # the 02:00 run is in progress
    }
    later = now + timedelta(hours=1)
    assert needed_deployments([nightly], later, timedelta(hours=1)) == {}
    (r,) = reservations([nightly], now, WEEK)
    assert (r.runs, r.gpus, r.slot, r.gpu_equivalents) == (7, 2, "whole", 2.0)
    assert r.gpu_hours == pytest.approx(7 * 2 * 1.5)
    (s,) = reservations([cron("0 2 * * *", suspend=True)], now, WEEK)
    assert (s.runs, s.gpu_hours, s.next_run) == (0, 0.0, None)


def _idle_scorer_twin(path: Path, *schedules: CronSchedule) -> SimCluster:
    scorer = deployment(
        "scorer",
        "growth-test",
        Environment.TEST,
        A100,
        requests_per_s=0.0,
        last_request_at=START - 20 * DAY,
    )
    spec = tiny_spec([scorer]).model_copy(update={"schedules": list(schedules)})
    return SimCluster.create(path, spec)


@pytest.mark.parametrize(
    ("schedule", "kept"),
    [
        (cron("0 2 * * *"), True),  # runs tonight: keep it up
        (cron("0 0 1 * *"), True),  # monthly, next run within the 7-day horizon (1 Dec)
        (cron("0 2 * * *", suspend=True), False),  # suspended: nothing will call it
        (cron("0 0 1 6 *"), False),  # yearly in June: outside the horizon
        (cron("0 2 * * *", uses=["growth-test/other"]), False),  # calls something else
    ],
)
def test_the_planner_never_scales_to_zero_what_a_schedule_needs(
    tmp_path: Path, schedule: CronSchedule, kept: bool
) -> None:
    twin = _idle_scorer_twin(tmp_path / "t.db", schedule)
    twin.advance(timedelta(days=26))  # 2026-11-28: the monthly run is 3 days away
    plan = build_plan(twin, CapacityConfig())
    scaled = [a for a in plan.actions if a.action.deployment == "scorer" and a.replicas == 0]
    assert bool(scaled) is not kept
    assert [k.name for k in plan.kept_for_schedules] == (["scorer"] if kept else [])
    assert [r.name for r in plan.reserved] == ["nightly"]


def test_schedules_live_in_the_twin(tmp_path: Path) -> None:
    twin = _idle_scorer_twin(tmp_path / "t.db", cron("0 2 * * *"))
    assert [s.name for s in twin.schedules()] == ["nightly"]
    assert twin.schedules("growth-prod") == []
    twin.set_schedules([cron("0 3 * * *", name="b"), cron("0 4 * * *", name="a")])
    assert [s.name for s in twin.schedules()] == ["a", "b"]
    twin.reset()
    assert [s.name for s in twin.schedules()] == ["nightly"]
    with pytest.raises(NotFoundError, match="unknown namespace 'nowhere'"):
        twin.set_schedules([cron("0 2 * * *", namespace="nowhere")])


def test_cronjob_runs_create_jobs_in_the_twin_once_per_run(tmp_path: Path) -> None:
    nightly = cron("0 2 * * *", tolerations=[ENV_TAINT], priority=5)
    twin = SimCluster.create(
        tmp_path / "t.db", tiny_spec().model_copy(update={"schedules": [nightly]})
    )
    twin.advance(timedelta(hours=21))  # 06:00 -> 03:00 next day: one 02:00 run
    runs = [j for j in twin.jobs("growth-test") if j.spec.kind == "scheduled"]
    assert [j.submitted_at for j in runs] == [datetime(2026, 11, 3, 2, 0, tzinfo=UTC)] * 2
    assert all(j.started_at == j.submitted_at and j.spec.priority == 5 for j in runs)
    twin.advance(timedelta(hours=1))  # the 1.5 h run is over, no new run before 02:00
    assert [j.status.value for j in twin.jobs("growth-test")] == ["succeeded", "succeeded"]
    twin.set_schedules([nightly.model_copy(update={"suspend": True})])
    twin.advance(timedelta(days=2))
    assert len(twin.jobs("growth-test")) == 2  # suspended: no more runs


def test_the_capacity_report_states_capacity_reserved_for_scheduled_jobs(tmp_path: Path) -> None:
    twin = _idle_scorer_twin(
        tmp_path / "t.db", cron("0 2 * * *"), cron("0 3 * * *", name="off", suspend=True)
    )
    report = capacity_report(twin, CapacityConfig())
    assert [(r.name, r.runs) for r in report.reserved] == [("nightly", 7), ("off", 0)]
    assert report.reserved_gpu_hours == pytest.approx(7 * 2 * 1.5)  # 7 nights x 2 GPUs x 1.5 h
