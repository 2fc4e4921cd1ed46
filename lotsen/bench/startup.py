"""`lotsen bench startup`: how long everyday commands take as whole new processes.

Each run starts a fresh Python process (`python -m lotsen.cli ...`), as a user's shell does,
so imports and opening the world's files are counted, and waits for it to exit. The commands
take turns round by round, with `python -c pass` as the baseline measured in the same rounds,
so a machine that slows down part way slows every column alike. Figures: wall seconds
(median, min, max) and the child's CPU seconds (user + system), each also as a ratio to the
baseline's median.
"""

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from tools.errors import ConfigError, StateError

BASELINE = "python -c pass"


class CommandTiming(BaseModel):
    """One command's cold runs."""

    label: str
    """The command as a user types it (`lotsen ...`), or the baseline."""
    wall_s: list[float] = Field(default_factory=list)
    """Wall-clock seconds of each run, in run order."""
    cpu_s: list[float] = Field(default_factory=list)
    """User + system CPU seconds of each run's process."""

    @property
    def median_s(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.wall_s)

    @property
    def cpu_median_s(self) -> float:
        """Median CPU seconds."""
        return statistics.median(self.cpu_s)


class StartupBench(BaseModel):
    """The result of one `bench startup` run."""

    runs: int
    models: int
    """Models in the world the commands ran on."""
    question: str
    """The question `lotsen ask` was given."""
    baseline: CommandTiming
    """`python -c pass`: the interpreter's own start, the floor of every command."""
    commands: list[CommandTiming]

    def ratio(self, timing: CommandTiming) -> float:
        """Median wall time of `timing` / median wall time of the baseline."""
        return timing.median_s / self.baseline.median_s


def bench_startup(
    runs: int = 5,
    *,
    data_dir: Path | None = None,
    models: int = 200,
    seed: int = 7,
    question: str | None = None,
) -> StartupBench:
    """Time `--help`, `ask`, `scan` and `approvals list` as new processes.

    Args:
        runs: Cold runs of each command (and of the baseline).
        data_dir: An existing Lotsen data directory (with telemetry, for `scan`); default:
            a world of `models` models seeded in a temporary directory.
        models: Fleet size of the world seeded when `data_dir` is not given.
        seed: Fleet seed of that world.
        question: What to ask; default "Who owns <first model>?".
    """
    if runs < 1:
        raise ConfigError("--runs must be at least 1")
    with _world(data_dir, models, seed) as (root, names):
        asked = question or f"Who owns {names[0]}?"
        lotsen = [sys.executable, "-m", "lotsen.cli", "--data-dir", str(root)]
        commands = {
            "lotsen --help": [sys.executable, "-m", "lotsen.cli", "--help"],
            f'lotsen ask "{asked}"': [*lotsen, "ask", asked],
            "lotsen scan": [*lotsen, "scan"],
            "lotsen approvals list": [*lotsen, "approvals", "list"],
        }
        baseline = CommandTiming(label=BASELINE)
        timings = [CommandTiming(label=label) for label in commands]
        for _ in range(runs):
            _run(baseline, [sys.executable, "-c", "pass"])
            for timing, argv in zip(timings, commands.values(), strict=True):
                _run(timing, argv)
    return StartupBench(
        runs=runs, models=len(names), question=asked, baseline=baseline, commands=timings
    )


def _run(timing: CommandTiming, argv: list[str]) -> None:
    """Run `argv` once as a new process; record its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StateError(f"`{timing.label}` failed (exit {done.returncode}): {tail[0]}")
    timing.wall_s.append(wall)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timing.cpu_s.append(cpu)


@contextmanager
def _world(data_dir: Path | None, models: int, seed: int) -> Iterator[tuple[Path, list[str]]]:
    """The data directory to time the commands on, and its model names."""
    from tools.fleet.generate import generate_fleet
    from world.monitoring import simulate_telemetry
    from world.seeding import build_world
    from world.settings import Settings
    from world.world import World

    if data_dir is not None:
        with World(Settings(data_dir=data_dir)) as world:
            names = [m.name for m in world.registry.list_models()]
        if not names:
            raise ConfigError(f"no models in {data_dir}; seed it (`lotsen fleet init`) first")
        yield data_dir, names
        return
    with tempfile.TemporaryDirectory(prefix="lotsen-startup-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        spec = generate_fleet(models, seed)
        build_world(settings, spec, force=False)
        with World(settings) as world:
            simulate_telemetry(world, seed=seed, windows=2, rows=2000, faults=True)
        yield settings.data_dir, sorted(plan.model.name for plan in spec.models)
