"""Running the real `lotsen` entry point in tests, and seeded data directories to run it on."""

import fcntl
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lotsen.cli.main import main
from tests.support.llm_guard import child_env

Run = tuple[int, str, str]


def run_lotsen(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> Run:
    """Run the real entry point in-process; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["lotsen", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def init_data_dir(data: Path, models: int, seed: int) -> Path:
    """`lotsen fleet init` into `data` in a clean subprocess (no network, own HOME)."""
    command = [sys.executable, "-m", "lotsen.cli", "--data-dir", str(data), "fleet", "init"]
    subprocess.run(
        [*command, "--models", str(models), "--seed", str(seed)],
        check=True,
        capture_output=True,
        env={
            "PATH": "",
            "HOME": str(data.parent),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            **child_env(),  # the LLM guard, as in every process the tests start
        },
    )
    return data


def shared_data_dir(tmp_path_factory: pytest.TempPathFactory, models: int, seed: int) -> Path:
    """`lotsen fleet init --models M --seed S`, built once per test run for every module and
    xdist worker that asks for the same fleet (under a file lock); use it through copies.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    target = root / "seeded" / f"m{models}-s{seed}"
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            shutil.rmtree(target / "data", ignore_errors=True)
            init_data_dir(target / "data", models=models, seed=seed)
            (target / ".built").touch()
    return target / "data"


def copy_data_dir(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of a seeded data dir, made the current one (LOTSEN_DATA_DIR)."""
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy, symlinks=True)
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(copy))
    return copy
