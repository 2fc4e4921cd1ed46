"""The leader lease: one holder at a time, released when the holder dies (file lock and
PostgreSQL advisory lock), lost when its database connection goes."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lotsen.loop.lease import LEASE_FILE, FileLease, PostgresLease, advisory_key, lease_for
from world.settings import Settings

WAIT_S = 120.0
"""Only a guard against a hung child (never a pass/fail criterion)."""

HOLD = """
import sys, time
from pathlib import Path
from lotsen.loop.lease import FileLease, PostgresLease
kind, where = sys.argv[1], sys.argv[2]
lease = FileLease(Path(where)) if kind == "file" else PostgresLease(where)
print("held" if lease.acquire() else "refused", flush=True)
time.sleep(3600)
"""


def holder(kind: str, where: str) -> "subprocess.Popen[str]":
    """Another process that takes the lease and keeps it until killed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, kind, where], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def kill(process: "subprocess.Popen[str]") -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def eventually(acquire: "FileLease | PostgresLease") -> bool:
    """Try like a waiting replica does, until the lease is had (or the guard gives up)."""
    deadline = time.monotonic() + WAIT_S
    while not acquire.acquire():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_file_lease_has_one_holder_and_names_it(tmp_path: Path) -> None:
    first, second = FileLease(tmp_path / LEASE_FILE), FileLease(tmp_path / LEASE_FILE)
    assert first.acquire() and first.acquire()  # re-acquiring what one holds is fine
    assert not second.acquire()
    assert first.held() and not second.held()
    assert f":{os.getpid()}" in second.describe()
    first.release()
    first.release()
    assert second.acquire()
    assert not first.acquire()
    second.release()


def test_file_lease_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / LEASE_FILE
    other = holder("file", str(path))
    mine = FileLease(path)
    try:
        assert not mine.acquire()
    finally:
        kill(other)
    assert eventually(mine)
    mine.release()


def test_the_lease_is_not_the_data_dir_lock(tmp_path: Path) -> None:
    """Every command holds the data dir shared; the lease must not wait on or block them."""
    from tools.dir_lock import acquire_shared, release_shared

    acquire_shared(tmp_path, 0)
    try:
        lease = lease_for(Settings(data_dir=tmp_path))
        assert isinstance(lease, FileLease) and lease.acquire()
        lease.release()
    finally:
        release_shared(tmp_path)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    from tests.support.postgres import postgres_server

    with postgres_server() as url:
        yield url


def test_postgres_lease_when_the_state_is_in_postgres(postgres: str, tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "checkpoint_url": postgres})
    first, second = lease_for(settings), lease_for(settings)
    assert isinstance(first, PostgresLease) and first.key == advisory_key()
    assert "postgres@" not in first.describe()  # the URL (and any password) stays out
    assert first.acquire() and not second.acquire()
    assert first.held() and not second.held()
    first.release()
    assert second.acquire()
    second.release()


def test_postgres_lease_is_released_when_its_holder_is_killed(postgres: str) -> None:
    other = holder("postgres", postgres)
    mine = PostgresLease(postgres)
    try:
        assert not mine.acquire()
    finally:
        kill(other)
    assert eventually(mine)  # the server ended the dead client's session, and its lock
    mine.release()


def test_a_postgres_lease_whose_connection_dies_is_lost(postgres: str) -> None:
    import psycopg

    mine, other = PostgresLease(postgres), PostgresLease(postgres)
    assert mine.acquire()
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
        )
    assert not mine.held()  # the loop stops acting on its next check
    assert eventually(other)
    other.release()
