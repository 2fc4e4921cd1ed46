"""Usage accounting: tokens, cost, latency and tier of every LLM call."""

import threading
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from llm.redact import redact

Outcome = Literal["ok", "invalid_output", "error", "fallback"]


class UsageRecord(BaseModel):
    """One LLM call (or one tier-0 fallback, with zero tokens)."""

    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    agent: str
    task: str
    tier: str
    model: str = ""
    prompt: str = ""
    """Template name."""
    prompt_sha256: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    outcome: Outcome = "ok"
    detail: str = ""
    """Why a call failed or fell back."""
    route: str = ""
    """The router's decision behind this call (task class, tier, why, escalations)."""


class UsageSummary(BaseModel):
    """Totals for one (agent, task, tier) group."""

    agent: str
    task: str
    tier: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost: float
    latency_s: float
    failures: int


class UsageLedger:
    """Collects usage records; optionally appends each one to a JSONL file."""

    def __init__(self, path: Path | None = None) -> None:
        """Keep records in memory, and in `path` (JSON lines) if given."""
        self._records: list[UsageRecord] = []
        self._lock = threading.Lock()
        self._path = path
        self.skipped = 0
        """Lines of a loaded file that were not valid records."""

    @classmethod
    def load(cls, path: Path) -> "UsageLedger":
        """Read a JSONL ledger back (unparseable lines are skipped and counted)."""
        ledger = cls()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    ledger._records.append(UsageRecord.model_validate_json(line))
                except ValueError:
                    ledger.skipped += 1
        return ledger

    def add(self, record: UsageRecord) -> None:
        """Record one call (its `detail` without anything shaped like a secret)."""
        if record.detail:
            record = record.model_copy(update={"detail": redact(record.detail)})
        with self._lock:
            self._records.append(record)
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as handle:
                    handle.write(record.model_dump_json() + "\n")

    @property
    def records(self) -> list[UsageRecord]:
        """All records so far."""
        with self._lock:
            return list(self._records)

    def total_cost(self) -> float:
        """Sum of the cost of all calls."""
        return sum(r.cost for r in self.records)

    def summary(self) -> list[UsageSummary]:
        """Totals per (agent, task, tier)."""
        groups: dict[tuple[str, str, str], list[UsageRecord]] = defaultdict(list)
        for record in self.records:
            groups[(record.agent, record.task, record.tier)].append(record)
        return [
            UsageSummary(
                agent=agent,
                task=task,
                tier=tier,
                calls=len(rows),
                input_tokens=sum(r.input_tokens for r in rows),
                output_tokens=sum(r.output_tokens for r in rows),
                cost=sum(r.cost for r in rows),
                latency_s=sum(r.latency_s for r in rows),
                failures=sum(r.outcome != "ok" for r in rows),
            )
            for (agent, task, tier), rows in sorted(groups.items())
        ]
