"""The capability registry: per (task class, tier) measured success, tokens, cost, latency.

Learned from eval outcomes (`learn`), stored as YAML or JSON with a schema version, with
priors where nothing is measured and a stale flag when the measurements are old.
"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.router.stats import wilson
from llm.tiers import TIER0
from tools.errors import ConfigError

SCHEMA: Literal["lotsen.router.registry/1"] = "lotsen.router.registry/1"
PRIOR_TRIALS = 4.0
"""Weight of a prior in pseudo-trials: a prior never looks as sure as a measurement."""
PRIOR_TIER0 = 0.5
"""Prior success of the deterministic core on a class nobody measured."""
PRIOR_LLM = 0.9
"""Prior success of any LLM tier (the same for all: size alone proves nothing)."""


class TierInfo(BaseModel):
    """A tier as the router sees it: name and price (tier 0 costs nothing)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cost_per_1k_input: float = Field(default=0.0, ge=0)
    cost_per_1k_output: float = Field(default=0.0, ge=0)


class Outcome(BaseModel):
    """One case run at one tier: what the registry and the benchmark learn from."""

    case: str
    task_class: str
    tier: str
    passed: bool
    verified: bool = True
    """The class's verifier accepted the result (a cascade escalates when False)."""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    features: list[str] = Field(default_factory=list)
    """Difficulty features of the case (see `policy.FEATURES`)."""


class CapabilityEntry(BaseModel):
    """What is known about one tier on one task class."""

    model_config = ConfigDict(extra="forbid")

    task_class: str
    tier: str
    source: Literal["measured", "prior"] = "measured"
    trials: float
    successes: float
    success: float
    ci_low: float
    ci_high: float
    mean_tokens: float = 0.0
    mean_cost: float = 0.0
    mean_latency_s: float = 0.0


class CapabilityRegistry(BaseModel):
    """The registry file: tiers cheapest first, entries, provenance, age."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal["lotsen.router.registry/1"] = Field(default=SCHEMA, alias="schema")
    measured_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    max_age_days: float = Field(default=30.0, gt=0)
    """Older than this: stale (re-run the evals)."""
    sources: list[str] = Field(default_factory=list)
    """Where the measurements came from (eval runs, simulated profiles)."""
    tiers: list[TierInfo] = Field(default_factory=lambda: [TierInfo(name=TIER0)])
    entries: list[CapabilityEntry] = Field(default_factory=list)

    def age(self, now: datetime) -> timedelta:
        """How old the measurements are."""
        return now - self.measured_at

    def is_stale(self, now: datetime) -> bool:
        """True when the measurements are older than `max_age_days`."""
        return self.age(now) > timedelta(days=self.max_age_days)

    def entry(self, task_class: str, tier: str) -> CapabilityEntry:
        """The measured entry, else a prior."""
        for entry in self.entries:
            if entry.task_class == task_class and entry.tier == tier:
                return entry
        return prior(task_class, tier)

    def tier(self, name: str) -> TierInfo | None:
        """A tier's price, if the registry knows it."""
        return next((t for t in self.tiers if t.name == name), None)

    def save(self, path: Path) -> None:
        """Write as JSON (`.json`) or YAML (anything else)."""
        data = self.model_dump(mode="json", by_alias=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(self.model_dump_json(indent=1, by_alias=True) + "\n", "utf-8")
        else:
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "CapabilityRegistry":
        """Read a registry file.

        Raises:
            ConfigError: missing, not YAML/JSON, or not a registry of this schema.
        """
        if not path.exists():
            raise ConfigError(f"router registry {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            raise ConfigError(f"router registry {path} is not valid YAML or JSON") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else None
            raise ConfigError(f"{path} is not a router registry (schema {found!r}, need {SCHEMA})")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: {where}: {first['msg']}") from None


def prior(task_class: str, tier: str) -> CapabilityEntry:
    """What the router assumes about a (class, tier) nobody measured."""
    rate = PRIOR_TIER0 if tier == TIER0 else PRIOR_LLM
    low, high = wilson(rate * PRIOR_TRIALS, PRIOR_TRIALS)
    return CapabilityEntry(
        task_class=task_class,
        tier=tier,
        source="prior",
        trials=PRIOR_TRIALS,
        successes=rate * PRIOR_TRIALS,
        success=rate,
        ci_low=low,
        ci_high=high,
    )


def learn(
    outcomes: list[Outcome],
    tiers: list[TierInfo],
    *,
    sources: list[str],
    now: datetime | None = None,
    max_age_days: float = 30.0,
) -> CapabilityRegistry:
    """A registry measured from `outcomes` (one entry per (class, tier) seen)."""
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[(outcome.task_class, outcome.tier)].append(outcome)
    entries = []
    for (task_class, tier), rows in sorted(groups.items()):
        wins = sum(r.passed for r in rows)
        low, high = wilson(wins, len(rows))
        entries.append(
            CapabilityEntry(
                task_class=task_class,
                tier=tier,
                trials=len(rows),
                successes=wins,
                success=wins / len(rows),
                ci_low=low,
                ci_high=high,
                mean_tokens=sum(r.input_tokens + r.output_tokens for r in rows) / len(rows),
                mean_cost=sum(r.cost for r in rows) / len(rows),
                mean_latency_s=sum(r.latency_s for r in rows) / len(rows),
            )
        )
    return CapabilityRegistry(
        measured_at=now or datetime.now(UTC),
        max_age_days=max_age_days,
        sources=sources,
        tiers=tiers,
        entries=entries,
    )
