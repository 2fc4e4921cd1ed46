"""Locks, not advice to delete: a busy data dir or store makes a command wait (bounded), then
say which process holds it; a re-seed never runs beside another command."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import Run, copy_data_dir, run_lotsen
from tests.support.llm_guard import child_env
from tools.dir_lock import acquire_shared, exclusive, release_shared


@pytest.fixture
def data(full_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOTSEN_LOCK_WAIT_S", "1")
    return copy_data_dir(full_world, tmp_path, monkeypatch)


def _lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    return run_lotsen(capsys, monkeypatch, *args)


@contextmanager
def _holding(data: Path, what: str) -> Iterator[int]:
    """Another process with the world open (`what`: `world` or `telemetry`) until released."""
    script = textwrap.dedent(f"""
        import sys
        from world.settings import Settings
        from world.world import World
        world = World(Settings(data_dir=sys.argv[1]))
        world.{"telemetry" if what == "telemetry" else "files"}
        print("ready", flush=True)
        sys.stdin.read()
        world.close()
    """)
    env = {**os.environ, **child_env()}
    with subprocess.Popen(
        [sys.executable, "-c", script, str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        try:
            yield holder.pid
        finally:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=60)


@pytest.mark.slow
def test_a_reseed_waits_for_a_running_command_then_names_it(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (data / "world").resolve()
    with _holding(data, "world") as pid:
        code, _, err = _lotsen(
            capsys, monkeypatch, "fleet", "init", "--force", "--expire-pending", "--models", "8"
        )
        assert code == 2 and "cannot re-seed the fleet" in err and f"PID {pid}" in err, err
        assert (data / "world").resolve() == before, "the world was replaced under a reader"
    code, _, err = _lotsen(
        capsys, monkeypatch, "fleet", "init", "--force", "--expire-pending", "--models", "8"
    )
    assert code == 0, err
    assert (data / "world").resolve() != before


@pytest.mark.slow
def test_a_busy_telemetry_store_is_waited_for_not_called_unusable(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _holding(data, "telemetry") as pid:
        code, _, err = _lotsen(capsys, monkeypatch, "scan")
        assert code == 2 and f"PID {pid}" in err and "do not move the file" in err, err
        assert "not a usable" not in err
    code, _, err = _lotsen(capsys, monkeypatch, "scan")
    assert code == 0, err


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    with exclusive(tmp_path, "test"):
        acquire_shared(tmp_path, wait_s=0)  # no deadlock on itself
        release_shared(tmp_path)
    acquire_shared(tmp_path, wait_s=0)
    with exclusive(tmp_path, "upgrade", wait_s=0):  # the only holder may upgrade
        pass
    release_shared(tmp_path)
