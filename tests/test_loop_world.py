"""The operating loop on a seeded world: one tick does the work, a re-run repeats nothing,
a plan that needs a human waits (and is announced with the console link), stale requests
expire once; two real `lotsen run-loop` replicas with the leader SIGKILLed mid-remediation
end where one uninterrupted loop ends."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from lotsen.bench.killresume import audit_records, world_state
from lotsen.loop.jobs import TickReport
from lotsen.loop.lease import LEASE_FILE, FileLease
from lotsen.loop.runner import OperatingLoop, loop_state_path, outbox_path, start_in_thread
from memory.loop_state import LoopState
from memory.notifications import NotificationOutbox
from tests.support.worlds import seed_with_telemetry
from tools.errors import ConflictError
from tools.registry import CHAMPION
from world.settings import Settings
from world.world import World

pytestmark = pytest.mark.slow
CONSOLE = "https://console.example.org"
WAIT_S = 600.0
"""Only a guard against a hung child (never a pass/fail criterion)."""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-model world with telemetry and the demo faults (a retrain, a watch, a data break)."""
    return seed_with_telemetry(tmp_path_factory.mktemp("loop") / "data", 24, seed=5)


@pytest.fixture
def data(seeded: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    yield copy


class Posts:
    """Stands in for the HTTP POST: records what would have been sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, url: str, body: dict[str, Any], timeout_s: float) -> None:
        self.bodies.append(body)


def settings(data: Path) -> Settings:
    return Settings.model_validate(
        {"data_dir": data, "notify_webhook_url": "http://127.0.0.1:9/hook", "console_url": CONSOLE}
    )


def comparable(data: Path) -> dict[str, Any]:
    """What remediation changed, without the loop's own bookkeeping records."""
    state = world_state(data).model_dump()
    state["audit_keys"] = [k for k in state["audit_keys"] if not k.startswith("loop:")]
    with World(Settings(data_dir=data)) as world:
        state["actions"] = sorted(
            (r.model or "", str(r.data.get("action", "")))
            for r in world.audit.records()
            if r.kind == "action"
        )
    return state


def kinds(data: Path) -> list[str]:
    with World(Settings(data_dir=data)) as world:
        return [r.kind for r in world.audit.records()]


@dataclass
class Ticked:
    """A copy of the seeded world after one tick of the loop (tests change only copies)."""

    data: Path
    report: TickReport
    posts: Posts
    records_before: int


@pytest.fixture(scope="module")
def ticked(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Ticked:
    data = tmp_path_factory.mktemp("ticked") / "data"
    shutil.copytree(seeded, data, symlinks=True)
    before, posts = audit_records(data), Posts()
    report = OperatingLoop(settings(data), post=posts).run_once()
    return Ticked(data, report, posts, before)


def test_one_tick_does_the_work_and_a_rerun_repeats_nothing(ticked: Ticked, tmp_path: Path) -> None:
    report = ticked.report
    assert len(report.scanned) == 24 and len(report.incidents) == 3
    assert sorted(r.split(": ")[1] for r in report.remediation) == [
        "open_data_incident done",
        "retrain done",
        "watch done",
    ]
    assert report.compliance_failures is not None and report.capacity_report is not None
    assert Path(report.capacity_report).exists()
    assert (ticked.data / "world" / "compliance_latest.json").exists()
    opened = {b["id"] for b in ticked.posts.bodies if b["event"] == "incident.opened"}
    assert opened == set(report.incidents) and len(ticked.posts.bodies) == 3
    assert all(b["url"] == f"{CONSOLE}/incidents/{b['id']}" for b in ticked.posts.bodies)

    data = tmp_path / "data"
    shutil.copytree(ticked.data, data, symlinks=True)
    first = comparable(data)
    assert len(first["actions"]) > 0 and len(first["jobs"]) == 1
    posts = Posts()
    again = OperatingLoop(settings(data), post=posts).run_once()  # a new leader's first tick
    assert again.remediation == [] and again.capacity_report is None
    assert comparable(data) == first  # no action, job or version twice
    assert posts.bodies == []  # nothing announced twice
    seen = kinds(data)
    assert seen.count("capacity_report") == 1 and seen.count("loop_leader") == 2


def test_a_plan_that_needs_a_human_waits_is_announced_and_expires_once(data: Path) -> None:
    with World(Settings(data_dir=data)) as world:
        for m in world.registry.list_models():
            if m.name.startswith(("pd-", "credit-score-", "churn-")):
                world.registry.set_model_tag(m.name, "ai_act_risk", "high")
        champions = {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()}
        start = world.clock()
    posts = Posts()
    OperatingLoop(settings(data), post=posts).run_once()
    with World(Settings(data_dir=data)) as world:
        (request,) = world.approvals.requests(world.clock(), "pending")
        assert {m.name: m.aliases.get(CHAMPION) for m in world.registry.list_models()} == champions
        assert list(world.cluster.jobs()) == []  # proposed, never executed unapproved
        ttl = world.approval_ttl
    asked = [b for b in posts.bodies if b["event"] == "approval.requested"]
    assert [b["id"] for b in asked] == [request.id]
    assert asked[0]["url"] == f"{CONSOLE}/approvals/{request.id}"

    late = start + ttl + timedelta(hours=1)
    for _ in range(2):  # the expiry is recorded once, however many ticks see it
        OperatingLoop(settings(data), clock=lambda: late, post=posts).run_once()
    with World(Settings(data_dir=data)) as world:
        assert world.approvals.get(request.id).status == "expired"
        expired = [r for r in world.audit.records() if r.kind == "approval_expired"]
        assert [r.data["approval"] for r in expired] == [request.id]
        (again,) = world.approvals.requests(late, "pending")  # the run proposed anew
        assert again.id != request.id and again.incident_id == request.incident_id
    announced = [b["id"] for b in posts.bodies if b["event"] == "approval.requested"]
    assert announced == [request.id, again.id]
    box = NotificationOutbox(outbox_path(settings(data)))
    try:
        assert {d.status for d in box.deliveries()} == {"delivered"}
    finally:
        box.close()


def run_loop(data: Path, log: Path, extra: dict[str, str]) -> "subprocess.Popen[bytes]":
    """A real `lotsen run-loop` replica on `data`, its stderr into `log`."""
    env = {
        **os.environ,
        **extra,
        "LOTSEN_DATA_DIR": str(data),
        "LOTSEN_LOOP_TICK_S": "0.2",
        "LOTSEN_LOOP_LEASE_POLL_S": "0.1",
    }
    with log.open("wb") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "lotsen.cli", "run-loop"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def wait_for(what: str, check: Any, *processes: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        for p in processes:
            if p.poll() is not None:
                raise AssertionError(f"a replica exited ({p.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def audit_kinds(data: Path) -> list[str]:
    """The audit log's record kinds, read without opening the world (no locks)."""
    path = data / "state" / "audit.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        return [row[0] for row in conn.execute("SELECT kind FROM audit ORDER BY seq")]


def ticks_by(data: Path, pid: int) -> int:
    path = loop_state_path(Settings(data_dir=data))
    if not path.exists():
        return 0
    state = LoopState(path)
    try:
        return sum(t.ticks for t in state.ticks() if t.holder.endswith(f":{pid}"))
    finally:
        state.close()


@pytest.fixture(params=["file", "postgres"])
def lease_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The replicas' extra environment: the embedded store's file lease, or PostgreSQL's
    advisory lock (with the workflow checkpoints in PostgreSQL too)."""
    if request.param == "file":
        yield {}
        return
    from tests.support.postgres import postgres_server

    with postgres_server() as url:
        yield {"LOTSEN_CHECKPOINT_URL": url}


def test_two_replicas_the_leader_killed_mid_remediation_the_other_finishes(
    seeded: Path, ticked: Ticked, tmp_path: Path, lease_env: dict[str, str]
) -> None:
    expected = comparable(ticked.data)  # one uninterrupted tick
    before = ticked.records_before
    kill_at = before + (audit_records(ticked.data) - before) // 2
    assert kill_at > before + 2  # the kill lands inside the remediation

    data = tmp_path / "data"
    shutil.copytree(seeded, data, symlinks=True)
    leader = run_loop(data, tmp_path / "leader.log", lease_env)
    follower = leader  # until it starts
    try:
        wait_for("the first replica to lead", lambda: leading(data) == 1, leader)
        follower = run_loop(data, tmp_path / "follower.log", lease_env)
        wait_for("the leader's progress", lambda: audit_records(data) >= kill_at, leader)
        leader.send_signal(signal.SIGKILL)
        assert leading(data) == 1  # the other one only waited
        leader.wait()
        assert ticks_by(data, leader.pid) == 0  # it died mid-tick
        wait_for("the successor's tick", lambda: ticks_by(data, follower.pid) >= 1, follower)
    finally:
        for replica in (leader, follower):
            if replica.poll() is None:
                replica.send_signal(signal.SIGTERM)
            replica.wait(timeout=WAIT_S)
    err = (tmp_path / "follower.log").read_text()
    assert follower.returncode == 0, err[-2000:]
    if not lease_env:
        assert str(follower.pid) in (data / LEASE_FILE).read_text()
    assert leading(data) == 2
    assert comparable(data) == expected  # nothing ran twice, nothing was lost


def leading(data: Path) -> int:
    """How many leader terms began (each leader's first tick records one)."""
    if not (data / "state" / "audit.db").exists():
        return 0
    try:
        return audit_kinds(data).count("loop_leader")
    except sqlite3.OperationalError:  # the log's table is not created yet
        return 0


def test_the_loop_runs_beside_a_server_in_a_thread_and_stops(
    ticked: Ticked, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(ticked.data, data, symlinks=True)
    fast = Settings.model_validate(
        {"data_dir": data, "loop_tick_s": 0.05, "loop_lease_poll_s": 0.05}
    )
    stop, thread = start_in_thread(fast)
    try:
        deadline = time.monotonic() + WAIT_S
        while ticks_by(data, os.getpid()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert ticks_by(data, os.getpid()) >= 2
    assert not thread.is_alive()
    lease = FileLease(data / LEASE_FILE)
    assert lease.acquire()  # given back on stop
    lease.release()


def test_run_loop_refuses_a_loop_user_the_users_file_does_not_list(
    ticked: Ticked, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(ticked.data, data, symlinks=True)
    with World(Settings(data_dir=data)) as world:
        world.users.put("alice", ["admin"])
    done = subprocess.run(
        [sys.executable, "-m", "lotsen.cli", "run-loop"],
        env={**os.environ, "LOTSEN_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: unknown user 'lotsen-loop'")
    assert "Traceback" not in done.stderr
    assert audit_kinds(data).count("loop_leader") == 1  # the fixture's tick only: none led


class LostLease:
    """A lease acquired, then lost at once (its database connection went)."""

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return False

    def release(self) -> None:
        pass

    def describe(self) -> str:
        return "a lease that is gone"


def test_a_replica_that_lost_the_lease_stops_acting(seeded: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded, data, symlinks=True)
    before = audit_records(data)
    with pytest.raises(ConflictError, match="lost the leader lease"):
        OperatingLoop(Settings(data_dir=data), lease=LostLease()).run_once()
    assert audit_records(data) == before
    assert not loop_state_path(Settings(data_dir=data)).exists() or ticks_by(data, os.getpid()) == 0
    with World(Settings(data_dir=data)) as world:
        assert world.runs.runs() == [] and world.approvals.requests(world.clock()) == []


def refuse(url: str, body: dict[str, Any], timeout_s: float) -> None:
    raise httpx.ConnectError("connection refused")


def test_a_failed_delivery_is_audited_once(ticked: Ticked, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ticked.data, data, symlinks=True)
    once = Settings.model_validate(
        {"data_dir": data, "notify_webhook_url": "http://127.0.0.1:9/hook", "notify_attempts": 1}
    )
    box = NotificationOutbox(outbox_path(once))
    try:
        box.enqueue(
            "approval:apr-x", "approval.requested", {"webhook": {"id": "apr-x"}}, datetime.now(UTC)
        )
        for _ in range(2):
            OperatingLoop(once, post=refuse).run_once()
        (failed,) = box.deliveries("failed")
    finally:
        box.close()
    assert (
        failed.event == "approval:apr-x" and failed.last_error == "ConnectError: connection refused"
    )
    with World(Settings(data_dir=data)) as world:
        audited = [r.data for r in world.audit.records() if r.kind == "notification_failed"]
    assert audited == [
        {"event": "approval:apr-x", "channel": "webhook", "attempts": 1, "error": failed.last_error}
    ]
