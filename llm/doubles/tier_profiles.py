"""Per-task-class behaviour of the scripted LLM tiers, from `tier_profiles.yaml`.

Without a GPU the router benchmark's LLM tiers are scripted doubles: whether a tier's
result on a case passes, whether the verifier catches a failure, its tokens and latency are
drawn deterministically (hash of seed, tier, case) from the profile of the case's task
class. `replay` sends the drawn call through a `ScriptedOpenAIServer`, so tokens and cost
are recorded by the real client path and usage ledger.
"""

import hashlib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import ConfigError

PROFILES_FILE = Path(__file__).with_name("tier_profiles.yaml")


class ClassBehaviour(BaseModel):
    """How a tier does on one task class."""

    model_config = ConfigDict(extra="forbid")

    success: float = Field(ge=0, le=1)
    catch: float = Field(default=0.5, ge=0, le=1)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    latency_s: float = Field(ge=0)


class TierProfile(BaseModel):
    """One scripted tier: its price and its behaviour per task-class pattern."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model: str
    stands_in_for: str = ""
    cost_per_1k_input: float = Field(ge=0)
    cost_per_1k_output: float = Field(ge=0)
    classes: dict[str, ClassBehaviour]

    def behaviour(self, task_class: str) -> ClassBehaviour:
        """The first pattern matching `task_class`.

        Raises:
            ConfigError: no pattern matches (add a `"*"` entry).
        """
        for pattern, behaviour in self.classes.items():
            if fnmatchcase(task_class, pattern):
                return behaviour
        raise ConfigError(f"tier profile {self.name!r} has no entry for {task_class!r}")


class SimulatedCall(BaseModel):
    """What a scripted tier did on one case."""

    tier: str
    passed: bool
    verified: bool
    input_tokens: int
    output_tokens: int
    cost: float
    latency_s: float


class TierProfiles(BaseModel):
    """The profile file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal["lotsen.doubles.tier_profiles/1"] = Field(alias="schema")
    seed: int = 0
    tiers: list[TierProfile] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path | None = None) -> "TierProfiles":
        """Read a profile file (default: the shipped one).

        Raises:
            ConfigError: missing, not YAML, or not a tier profile file.
        """
        path = path or PROFILES_FILE
        if not path.exists():
            raise ConfigError(f"tier profile file {path} does not exist")
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except yaml.YAMLError:
            raise ConfigError(f"{path} is not valid YAML") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: {where}: {first['msg']}") from None

    def tier(self, name: str) -> TierProfile:
        """A tier by name.

        Raises:
            ConfigError: unknown tier.
        """
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise ConfigError(f"no scripted tier {name!r}; profiled: {[t.name for t in self.tiers]}")

    def simulate(self, tier: str, task_class: str, case: str) -> SimulatedCall:
        """What `tier` does on `case` (deterministic for a seed)."""
        profile = self.tier(tier)
        behaviour = profile.behaviour(task_class)
        passed = self._draw(tier, case, "pass") < behaviour.success
        verified = passed or self._draw(tier, case, "catch") >= behaviour.catch
        spread = 0.75 + 0.5 * self._draw(tier, case, "tokens")
        tokens_in = round(behaviour.input_tokens * spread)
        tokens_out = round(behaviour.output_tokens * spread)
        cost = (
            tokens_in * profile.cost_per_1k_input + tokens_out * profile.cost_per_1k_output
        ) / 1000
        return SimulatedCall(
            tier=tier,
            passed=passed,
            verified=verified,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=cost,
            latency_s=behaviour.latency_s * spread,
        )

    def _draw(self, tier: str, case: str, what: str) -> float:
        digest = hashlib.sha256(f"{self.seed}|{tier}|{case}|{what}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64
