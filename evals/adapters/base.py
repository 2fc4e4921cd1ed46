"""What every agent adapter returns, and the tier it runs at."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from evals.state import AgentOutput
from evals.world_extras import carbon_file
from llm.tiers import TIER0, LlmTier
from llm.usage import UsageLedger
from tools.policy.action import ProposedAction
from world.settings import Settings

USAGE_FILE = "llm_usage.jsonl"


class AgentRun(BaseModel):
    """One agent run on one trial's world: its output and what it cost."""

    output: AgentOutput = Field(default_factory=AgentOutput)
    tier: str = TIER0
    """The tier that actually decided (`tier0` when the LLM fell back or was not used)."""
    llm_calls: int = 0
    fallbacks: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    steps: int = 0
    """LLM calls plus actions/tool calls the agent made."""


@dataclass(frozen=True)
class AgentTask:
    """What an agent is given: its world and, for chat, the question. Never expectations."""

    settings: Settings
    """Settings pointing at the trial's own data dir and the chosen tier only."""
    tier: LlmTier | None
    """None = tier 0 (deterministic core)."""
    ask: str | None = None
    earlier: tuple[str, ...] = ()
    """Earlier questions of the same chat, answered first (follow-ups)."""
    propose: ProposedAction | None = None
    """A change for the compliance gate to review."""
    human: str = "none"
    """The simulated human's policy for approval requests (harness, not agent input)."""


Adapter = Callable[[AgentTask], AgentRun]


def tier_settings(data_dir: Path, tier: LlmTier | None) -> Settings:
    """Settings for one trial: its data dir, and exactly the chosen tier (or none)."""
    return Settings(
        data_dir=data_dir,
        llm_tiers=[tier] if tier is not None else [],
        llm_tiers_file=None,
        user="lotsen-eval",
        carbon_curve_file=carbon_file(data_dir),
    )


def with_usage(task: AgentTask, output: AgentOutput, start: float, actions: int) -> AgentRun:
    """Fill tokens, cost, tier and steps from the trial's usage ledger."""
    ledger = UsageLedger.load(task.settings.data_dir / USAGE_FILE)
    records = ledger.records
    answered = [r for r in records if r.outcome == "ok"]
    tier = answered[-1].tier if answered else TIER0
    return AgentRun(
        output=output,
        tier=tier,
        llm_calls=len(records),
        fallbacks=sum(r.outcome != "ok" for r in records),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        cost=sum(r.cost for r in records),
        latency_s=time.perf_counter() - start,
        steps=len(records) + actions,
    )
