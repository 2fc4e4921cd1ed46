"""Kill-and-resume trials for the remediation workflow.

SIGKILL `lotsen remediate --auto` (or an approval) at a random moment, or once it has
written its k-th audit record (a kill point chosen by progress, not by a clock), resume,
finish, and compare the end state with an uninterrupted run. Used by the tests (a few kill
points) and by `lotsen bench remediation --kill-trials N` and `--kill-sweep N` (the full
progress sweep: N kill points spread over every audit record of the run).
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

from world.remediation import open_workflow
from world.settings import Settings
from world.world import World


class WorldState(BaseModel):
    """Everything a remediation may change, in comparable form."""

    aliases: dict[str, dict[str, int]]
    versions: dict[str, int]
    jobs: list[str]
    data_incidents: list[str]
    watched: list[str]
    quarantined: list[tuple[str, str]]
    runs: dict[str, str]
    audit_keys: list[str]
    audit_ok: bool


class TrialResult(BaseModel):
    """One kill/resume trial."""

    delay_s: float
    killed: bool
    same_end_state: bool
    differences: list[str]


def world_state(data_dir: Path) -> WorldState:
    """Snapshot of a world's remediation-relevant state."""
    with World(Settings(data_dir=data_dir)) as world:
        registry, store, audit = world.registry, world.runs, world.audit
        models = registry.list_models()
        return WorldState(
            aliases={m.name: dict(m.aliases) for m in models},
            versions={
                m.name: len(registry.list_versions(m.name))
                for m in models
                if len(m.aliases) and m.name
            },
            jobs=sorted(j.spec.idempotency_key for j in world.cluster.jobs()),
            data_incidents=sorted(d.id for d in store.data_incidents()),
            watched=store.watched(),
            quarantined=store.quarantined(),
            runs={r.incident_id: r.status for r in store.runs()},
            audit_keys=sorted(r.idempotency_key for r in audit.records() if r.idempotency_key),
            audit_ok=audit.verify().ok,
        )


def lotsen(data_dir: Path, *args: str) -> "subprocess.Popen[bytes]":
    """Start the real CLI in a subprocess on a data dir."""
    env = {**os.environ, "LOTSEN_DATA_DIR": str(data_dir), "LOTSEN_USER": "bob"}
    return subprocess.Popen(
        [sys.executable, "-m", "lotsen.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _run(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "lotsen.cli", *args],
        env={**os.environ, "LOTSEN_DATA_DIR": str(data_dir), "LOTSEN_USER": "bob"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"lotsen {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def pending_approvals(data_dir: Path) -> list[str]:
    """Ids of pending approval requests."""
    return [a["id"] for a in json.loads(_run(data_dir, "approvals", "list", "--json"))]


def finish(data_dir: Path) -> None:
    """Resume interrupted runs, run the remediation, and have alice approve everything.

    That includes the requests approvals lead to (a retrain's promotion is its own request).
    """
    _run(data_dir, "remediate", "--resume")
    _run(data_dir, "remediate", "--auto")
    for _ in range(4):  # retrain -> promotion: two rounds suffice; more would be a loop
        pending = pending_approvals(data_dir)
        if not pending:
            return
        for request in pending:
            _run(data_dir, "approvals", "approve", request, "--as", "alice")
    raise RuntimeError(f"approvals keep coming: {pending_approvals(data_dir)}")


def trial(
    source: Path,
    workdir: Path,
    reference: WorldState,
    delay_s: float,
    during_approval: bool = False,
) -> TrialResult:
    """Copy the world, kill a remediation (or an approval) after `delay_s`, finish, compare."""
    data = workdir / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(source, data, symlinks=True)
    if during_approval:
        _run(data, "remediate", "--auto")
        process = lotsen(data, "approvals", "approve", pending_approvals(data)[0], "--as", "alice")
    else:
        process = lotsen(data, "remediate", "--auto")
    time.sleep(delay_s)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    finish(data)
    diffs = _differences(world_state(data), reference)
    return TrialResult(delay_s=delay_s, killed=killed, same_end_state=not diffs, differences=diffs)


def audit_records(data_dir: Path) -> int:
    """How many audit records a data dir holds (0 before the log exists)."""
    path = data_dir / "state" / "audit.db"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
        except sqlite3.OperationalError:  # the table is being created
            return 0


def kill_after_records(data_dir: Path, records: int, *args: str) -> tuple[bool, int]:
    """Run `lotsen ARGS`; SIGKILL it once the audit log holds `records` records.

    Returns whether the process was still running when killed, and the records then.
    """
    process = lotsen(data_dir, *args)
    while process.poll() is None and audit_records(data_dir) < records:
        time.sleep(0.005)
    alive = process.poll() is None
    if alive:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return alive, audit_records(data_dir)


def reference_state(source: Path, workdir: Path) -> WorldState:
    """The end state of an uninterrupted run (plus a resume, which must be a no-op)."""
    data = workdir / "reference"
    shutil.copytree(source, data, symlinks=True)
    finish(data)
    return world_state(data)


class SweepPoint(BaseModel):
    """One progress-based kill point of a sweep."""

    kill_at_record: int
    killed_mid_run: bool
    same_end_state: bool
    differences: list[str]


def run_sweep(source: Path, workdir: Path, points: int) -> list[SweepPoint]:
    """Kill `remediate --auto` at `points` audit records spread over the whole run.

    Each kill is resumed and finished; its end state is compared with an uninterrupted run.
    """
    reference = reference_state(source, workdir)
    once = workdir / "once"
    shutil.copytree(source, once, symlinks=True)
    start = audit_records(once)
    kill_after_records(once, 10**9, "remediate", "--auto")
    total = audit_records(once)
    sweep = sorted(
        {start + 1 + (total - start - 1) * i // max(points - 1, 1) for i in range(points)}
    )
    results = []
    for k in sweep:
        data = workdir / "data"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(source, data, symlinks=True)
        alive, at_kill = kill_after_records(data, k, "remediate", "--auto")
        finish(data)
        diffs = _differences(world_state(data), reference)
        results.append(
            SweepPoint(
                kill_at_record=k,
                killed_mid_run=alive and at_kill < total,
                same_end_state=not diffs,
                differences=diffs,
            )
        )
    return results


def _differences(got: WorldState, reference: WorldState) -> list[str]:
    return [
        f"{field}: {json.dumps(getattr(got, field), default=str)[:300]} != "
        f"{json.dumps(getattr(reference, field), default=str)[:300]}"
        for field in WorldState.model_fields
        if getattr(got, field) != getattr(reference, field)
    ]


def run_trials(
    source: Path, workdir: Path, count: int, max_delay_s: float, seed: int = 1
) -> list[TrialResult]:
    """`count` trials with kill delays spread over (0.2, max_delay_s)."""
    reference = reference_state(source, workdir)
    rng = random.Random(seed)
    return [
        trial(source, workdir, reference, rng.uniform(0.2, max_delay_s), during_approval=i % 2 == 1)
        for i in range(count)
    ]


__all__ = [
    "SweepPoint",
    "TrialResult",
    "WorldState",
    "open_workflow",
    "run_sweep",
    "run_trials",
    "world_state",
]
