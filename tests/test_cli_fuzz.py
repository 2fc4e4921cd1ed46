"""Fuzzing every `lotsen` command's options with bad values (hypothesis).

The commands and their parameters are read from the typer app, so a new command is fuzzed
without touching this file. Each example runs one command in-process on a private copy of
a small seeded world. Whatever the value: no traceback; a refusal exits non-zero and leaves
the world's logical content (tests.support.fingerprint) as it was; a non-finite number is
never accepted.
"""

import enum
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import chdir
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lotsen.cli.main import app
from tests.support.cli import init_data_dir
from tests.support.fingerprint import changed, fingerprint
from tools.errors import LotsenError

SKIPPED = {
    "state backup",  # write to and read from any folder given (a fuzzer must not pick "/")
    "state restore",
    "demo",  # seeds a 200-model fleet
    "chat",  # reads stdin until EOF
    "remediate",  # builds the LangGraph workflow: seconds per run (tests/test_remediation*)
    "eval run",  # builds a world per scenario
    "eval check",
    "llm serve",  # may exec vLLM
    "run-loop",  # runs until stopped (tests/test_loop_*.py)
    "serve",  # serves until stopped: with its defaults the fuzzer would wait forever
}
SKIPPED_GROUPS = ("bench",)  # minutes each; their bounds are in tests/test_bad_input.py
EXAMPLES = 100
COUNTS_FILE = Path(tempfile.gettempdir()) / "lotsen-cli-fuzz-counts.txt"

NAMES = {  # a valid value for arguments that name something in the seeded world
    "model": "credit-score-0000",
    "name": "credit-score-0000",
    "subject": "credit-score-0000",
    "target": "credit-score-0000",
    "namespace": "growth-test",
    "node": "dev-l4-shared-000",
    "gpus": "1",
    "gpu": "0",
    "question": "Who owns credit-score-0000?",
    "kind": "retrain",
    "request_id": "apr-0001",
    "window_start": "2026-11-01T00:00:00",
}


@dataclass(frozen=True)
class Param:
    """One parameter of one command, as the fuzzer sees it."""

    name: str
    flag: str | None
    """`--hours`, or None for an argument."""
    annotation: Any
    required: bool
    is_flag: bool


@dataclass(frozen=True)
class Command:
    """A leaf command and its parameters."""

    path: tuple[str, ...]
    params: tuple[Param, ...]


def _commands() -> list[Command]:
    found: list[Command] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*path, name))
            return
        name = " ".join(path)
        if name in SKIPPED or path[0] in SKIPPED_GROUPS:
            return
        params = tuple(
            Param(
                name=p.name,
                flag=p.opts[0] if p.param_type_name == "option" else None,
                annotation=p.type_descriptor.annotation,
                required=p.required,
                is_flag=bool(getattr(p, "is_flag", False)),
            )
            for p in command.params
        )
        found.append(Command(path, params))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


@dataclass(frozen=True)
class Files:
    """Files the bad path values point at."""

    binary: Path
    empty: Path
    header_only: Path


def _bad_values(param: Param, files: Files) -> st.SearchStrategy[str]:
    common = st.sampled_from(
        [
            "",
            " ",
            "nan",
            "-inf",
            "inf",
            "-1",
            "0",
            "1e308",
            "99999999999999999999",
            "ünï🦀\u202e",
            "in/../../escape.md",
            "/nonexistent/folder/file.md",
            "/",
            str(files.binary),
            str(files.empty),
            str(files.header_only),
            "9999-12-31T00:00:00",
            "0001-01-01",
        ]
    )
    numbers = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    text = st.text(min_size=0, max_size=12)
    if param.annotation in (int, float):
        return st.one_of(common, numbers, st.integers(-(10**30), 10**30).map(str))
    return st.one_of(common, text)


def _value(param: Param, files: Files) -> st.SearchStrategy[str | None]:
    """None = leave the parameter out (only for optional ones)."""
    bad = _bad_values(param, files)
    good = NAMES.get(param.name)
    choices: list[st.SearchStrategy[str | None]] = [bad]
    if good is not None:
        choices.append(st.just(good))
    if isinstance(param.annotation, type) and issubclass(param.annotation, enum.Enum):
        choices.append(st.sampled_from([m.value for m in param.annotation]))
    if not param.required:
        choices.append(st.none())
    return st.one_of(*choices)


@st.composite
def invocations(draw: st.DrawFn, files: Files) -> tuple[Command, list[str], list[str]]:
    """A command, its argv, and the non-finite numbers given to float parameters."""
    command = draw(st.sampled_from(COMMANDS))
    argv = list(command.path)
    positional: list[str] = []
    non_finite: list[str] = []
    for param in command.params:
        if param.is_flag:
            continue  # --json, --force: a flag has no value to get wrong
        value = draw(_value(param, files))
        if value is None:
            continue
        if param.annotation is float and _non_finite(value):
            non_finite.append(f"{param.flag or param.name}={value}")
        if param.flag is None:
            positional.append(value)
        else:
            argv += [param.flag, value]
    return command, [*argv, "--", *positional] if positional else argv, non_finite


def _non_finite(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Files]]:
    """A 6-model world with one window of telemetry and every state store created."""
    from world.monitoring import simulate_telemetry
    from world.settings import Settings
    from world.world import World

    root = tmp_path_factory.mktemp("fuzz")
    data = init_data_dir(root / "data", models=6, seed=2)
    with World(Settings(data_dir=data)) as world:
        simulate_telemetry(world, seed=3, windows=1, rows=200, faults=True)
    runner = CliRunner()
    for warm_up in (["audit", "verify"], ["approvals", "list"]):
        assert runner.invoke(app, ["--data-dir", str(data), *warm_up]).exit_code == 0
    files = Files(root / "binary.bin", root / "empty.csv", root / "header.csv")
    files.binary.write_bytes(bytes(range(256)) * 8)
    files.empty.write_text("")
    files.header_only.write_text("f01,f02,f03\n")
    yield data, files


TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    TALLY.clear()
    yield
    lines = [f"{k}: {v}" for k, v in sorted(TALLY.items())]
    COUNTS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\ncli fuzz:", ", ".join(lines), f"(also in {COUNTS_FILE})")


@pytest.mark.slow
def test_every_command_refuses_bad_values_cleanly(
    fuzz_world: tuple[Path, Files], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded, files = fuzz_world
    seeded_content = fingerprint(seeded)  # every copy starts with the same content
    monkeypatch.setenv("COLUMNS", "200")  # one error line stays one line
    monkeypatch.setenv("LOTSEN_LOCK_WAIT_S", "1")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(invocation=invocations(files))
    def check(invocation: tuple[Command, list[str], list[str]]) -> None:
        _, argv, non_finite = invocation
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            shutil.copytree(seeded, data, symlinks=True)
            (Path(tmp) / "cwd" / "in").mkdir(parents=True)
            with chdir(Path(tmp) / "cwd"):  # relative paths land in the temp folder
                result = CliRunner().invoke(app, ["--data-dir", str(data), *argv])
            exc = result.exception
            assert exc is None or isinstance(exc, SystemExit | LotsenError), (
                f"`lotsen {' '.join(argv)}` raised {type(exc).__name__}: {exc}"
            )
            assert "Traceback" not in result.output
            refusal = isinstance(exc, LotsenError) or result.exit_code != 0
            TALLY["tried"] += 1
            TALLY["refused" if refusal else "accepted"] += 1
            assert not non_finite or refusal, f"`lotsen {' '.join(argv)}` accepted {non_finite}"
            if refusal:
                assert changed(seeded_content, fingerprint(data)) == [], (
                    f"refused `lotsen {' '.join(argv)}` changed the world"
                )

    check()


def test_the_fuzzer_sees_the_commands() -> None:
    """A guard for the enumeration itself: the fuzz test is only as good as its list."""
    names = {" ".join(c.path) for c in COMMANDS}
    assert {"twin advance", "telemetry reference", "compliance scan", "eval list"} <= names
    assert not names & SKIPPED
    floats = [p for c in COMMANDS for p in c.params if p.annotation is float]
    assert len(floats) >= 8, "float options are where NaN and inf get in"
