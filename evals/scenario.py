"""Scenario files: one YAML file per scenario, validated with pydantic.

A scenario names the world to build (seed + fleet size), what goes wrong in it (faults),
an optional chat question, the oracles applied to the FINAL STATE, and a reference solution
(actions from a small closed vocabulary) that must make the oracles pass. A bad file is
reported with its path, the line of the offending field and the reason.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.actions import Action
from evals.faults import Fault
from evals.oracles import Oracle
from evals.world_decl import WorldDecl
from tools.domain.queues import CronSchedule, QueueConfig
from tools.errors import ConfigError
from tools.policy.action import ProposedAction
from tools.telemetry.patterns import SeasonalDecl, SegmentDecl
from tools.yamlfile import line_of, read_yaml

AgentName = Literal["monitor", "retrainer", "compliance", "capacity", "assistant"]
Level = Literal["detection", "diagnosis", "mitigation"]
Difficulty = Literal["easy", "medium", "hard"]
Human = Literal["none", "approve", "reject", "approve_training"]
SCENARIO_DIR = Path(__file__).parent / "scenarios"
PASSIVE = frozenset(
    {"watch", "report_incident", "report_finding", "answer", "plan", "request_approval", "verdict"}
)
"""Actions that change no model or deployment: all a control's reference may do."""
KNOWN_FAILURE = "known-failure"
"""Tag of a scenario the agents are known to fail (see `Scenario.known_failure`)."""


class FleetDecl(BaseModel):
    """The world to build: `generate_fleet(models, seed)` (cached per (seed, models))."""

    model_config = ConfigDict(extra="forbid")

    models: int = Field(default=40, ge=4, le=2000)


class TelemetryDecl(BaseModel):
    """Simulated telemetry (seasonal wobble always on; faults hit the newest window)."""

    model_config = ConfigDict(extra="forbid")

    windows: int = Field(default=2, ge=1, le=30)
    rows: int = Field(default=2000, ge=200, le=20000)
    window_hours: float = Field(default=24.0, ge=1.0, le=24.0)
    """Length of a window (shorter than a day: a daily pattern has hour bands to match)."""
    segments: list[SegmentDecl] = Field(default_factory=list)
    """Segment columns (and a drop confined to one segment): tools/telemetry/patterns.py."""
    seasonality: list[SeasonalDecl] = Field(default_factory=list)
    """Weekly patterns (and a real shift on top): tools/telemetry/patterns.py."""

    def declares_fault(self) -> bool:
        """A segment drop or a real shift on a seasonal pattern: a fault of its own."""
        return any(d.dropped for d in self.segments) or any(d.shift_sigma for d in self.seasonality)


class Scenario(BaseModel):
    """One evaluation scenario."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    agent: AgentName
    level: Level
    difficulty: Difficulty
    seed: int
    description: str = ""
    """What is being tested, for the report (never shown to the agent)."""
    fleet: FleetDecl = Field(default_factory=FleetDecl)
    telemetry: TelemetryDecl | None = Field(default_factory=TelemetryDecl)
    """None (`telemetry: null`) = no telemetry simulated (cluster-only scenarios)."""
    world: WorldDecl | None = None
    """Named pipelines, models, pools, namespaces, servers, incidents, carbon forecast."""
    faults: list[Fault] = Field(default_factory=list)
    queues: QueueConfig | None = None
    """Kueue ResourceFlavors, ClusterQueues and LocalQueues to install in the twin."""
    schedules: list[CronSchedule] = Field(default_factory=list)
    """CronJobs to install in the twin."""
    control: bool = False
    """A no-fault or must-not-act control: acting (an extra finding, a mutation) fails it."""
    ask: str | None = None
    """The chat question (assistant scenarios)."""
    earlier: list[str] = Field(default_factory=list)
    """Questions asked before `ask` in the same chat (so "it" can refer to their answer)."""
    propose: ProposedAction | None = None
    """A change for the compliance gate to review (compliance scenarios)."""
    human: Human = "none"
    """What the simulated human does with approval requests the agent raises
    (`approve_training`: approves a run's first request only, never a later promotion)."""
    expect: list[Oracle] = Field(min_length=1)
    reference_solution: list[Action] = Field(default_factory=list)
    act_anyway: list[Action] = Field(default_factory=list)
    """For controls: what an over-eager agent would do; the self-check asserts it fails."""
    split: Literal["dev", "heldout"] = "dev"
    tags: list[str] = Field(default_factory=list)
    judge: list[str] = Field(default_factory=list)
    """Yes/no checklist for a free-text judge (only with `--judge`; off by default)."""
    known_failure: str = ""
    """Why the agents fail this (correct) scenario today: its failures are reported but do
    not fail `lotsen eval run` (tagged `known-failure`). Never a reason to weaken it."""

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        shaped = self.telemetry is not None and self.telemetry.declares_fault()
        if not self.faults and not self.control and self.ask is None and not shaped:
            raise ValueError("a scenario without faults is a no-fault control: set control: true")
        if self.control and self.reference_solution and self.agent != "assistant":
            if any(a.do not in PASSIVE for a in self.reference_solution):
                raise ValueError(
                    "a control's reference solution may only watch, report, answer or ask"
                )
        if self.control and not self.act_anyway:
            raise ValueError("a control needs act_anyway: what an over-eager agent would do")
        if self.agent == "assistant" and not self.ask:
            raise ValueError("assistant scenarios need `ask`")
        if self.difficulty not in self.tags:
            self.tags = [*self.tags, self.difficulty]
        if self.known_failure and KNOWN_FAILURE not in self.tags:
            self.tags = [*self.tags, KNOWN_FAILURE]
        return self


class ScenarioError(ConfigError):
    """A scenario file is invalid (message: file, line, field, reason)."""


def load_scenario(path: Path) -> Scenario:
    """Load and validate one scenario file.

    Raises:
        ScenarioError: unreadable YAML, or a field that fails validation (with its line).
    """
    data, node = read_yaml(path, ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario is a mapping (id, agent, level, ...)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _without_tags(first["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        raise ScenarioError(f"{path}:{line_of(node, loc)}: {field}: {first['msg']}") from None
    if scenario.id != path.stem:
        raise ScenarioError(
            f"{path}:{line_of(node, ['id'])}: id: {scenario.id!r} must match the file name"
        )
    return scenario


def _without_tags(loc: tuple[Any, ...]) -> list[Any]:
    """Pydantic puts a tagged union member's tag (e.g. 'alias') after the list index."""
    if loc and loc[0] == "world":  # no tagged unions there: every part is a field
        return list(loc)
    return [
        part
        for i, part in enumerate(loc)
        if not (i >= 2 and isinstance(part, str) and isinstance(loc[i - 1], int))
    ]


def scenario_paths(targets: list[Path] | None = None) -> list[Path]:
    """Scenario files: the given files, every *.yaml under the given folders, or the suite."""
    paths: list[Path] = []
    for target in targets or [SCENARIO_DIR]:
        if target.is_dir():
            paths += sorted(target.rglob("*.yaml"))
        elif target.is_file():
            paths.append(target)
        else:
            raise ConfigError(f"{target}: no such scenario file or folder")
    return paths


def load_suite(targets: list[Path] | None = None) -> list[Scenario]:
    """Load every scenario; duplicate ids are an error."""
    scenarios = [load_scenario(p) for p in scenario_paths(targets)]
    seen: dict[str, int] = {}
    for s in scenarios:
        seen[s.id] = seen.get(s.id, 0) + 1
    duplicates = sorted(k for k, v in seen.items() if v > 1)
    if duplicates:
        raise ScenarioError(f"duplicate scenario ids: {', '.join(duplicates)}")
    return scenarios


ScenarioList = Annotated[list[Scenario], Field(min_length=1)]
