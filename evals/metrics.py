"""pass@1, pass^k, false-positive rate on controls, cost, latency and steps.

pass^k is the chance that k independent trials of a scenario ALL succeed (tau-bench): with c
successes in n trials, the unbiased estimate is C(c, k) / C(n, k), averaged over scenarios.
pass@1 is the mean success rate c / n, averaged over scenarios.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from math import ceil, comb
from typing import Protocol

from pydantic import BaseModel, Field

GROUPINGS = ("agent", "level", "difficulty", "split", "tier")


class _Case(Protocol):
    scenario: str
    agent: str
    level: str
    difficulty: str
    split: str
    tags: list[str]
    tier: str
    control: bool
    passed: bool
    error: str | None

    @property
    def run(self) -> object | None: ...


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """Unbiased estimate that k trials all succeed, from c successes in n trials."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} not in [0, {trials}]")
    if k > trials or k < 1:
        raise ValueError(f"k must be in [1, {trials}], got {k}")
    return comb(successes, k) / comb(trials, k)


class GroupMetrics(BaseModel):
    """Metrics of one group of scenarios (an agent, a difficulty, a tier, or all)."""

    scenarios: int
    cases: int
    pass_at_1: float
    pass_hat_k: dict[int, float]
    """k -> pass^k (k = 1 .. trials)."""
    controls: int
    false_positive_rate: float | None
    """Share of control trials where the agent acted or flagged something (None: no controls)."""
    input_tokens: int
    output_tokens: int
    cost: float
    cost_per_scenario: float
    latency_mean_s: float
    latency_p95_s: float
    steps_mean: float


class ScenarioMetrics(BaseModel):
    """One scenario at one tier."""

    scenario: str
    agent: str
    level: str
    difficulty: str
    split: str
    tier: str
    control: bool
    tags: list[str] = Field(default_factory=list)
    trials: int
    successes: int
    pass_at_1: float
    pass_hat_k: dict[int, float]
    tokens: int
    cost: float
    latency_mean_s: float
    steps_mean: float
    actual_tiers: list[str] = Field(default_factory=list)
    """Tiers that actually decided (an LLM tier may fall back to tier 0)."""
    errors: list[str] = Field(default_factory=list)


class RunMetrics(BaseModel):
    """Everything the report shows."""

    overall: GroupMetrics
    by: dict[str, dict[str, GroupMetrics]]
    """grouping (agent, level, difficulty, split, tier) -> value -> metrics."""
    by_agent_difficulty: dict[str, dict[str, GroupMetrics]]
    by_tag: dict[str, GroupMetrics] = Field(default_factory=dict)
    """Scenarios carrying a tag (e.g. prompt-injection, control); a scenario counts once per tag."""
    scenarios: list[ScenarioMetrics]
    not_executed: list[str]


def compute_metrics(cases: Sequence[_Case], trials: int) -> RunMetrics:
    """Metrics over executed cases (setup failures are listed, not scored)."""
    executed = [c for c in cases if c.run is not None]
    per = _per_scenario(executed, trials)
    by = {g: _grouped(per, executed, lambda x, g=g: str(getattr(x, g))) for g in GROUPINGS}
    by_ad: dict[str, dict[str, GroupMetrics]] = defaultdict(dict)
    for agent in sorted({s.agent for s in per}):
        for diff in ("easy", "medium", "hard"):
            subset = [s for s in per if s.agent == agent and s.difficulty == diff]
            if subset:
                by_ad[agent][diff] = _group(
                    subset, [c for c in executed if c.agent == agent and c.difficulty == diff]
                )
    tags = sorted({t for s in per for t in s.tags} - {"easy", "medium", "hard"})
    by_tag = {
        t: _group([s for s in per if t in s.tags], [c for c in executed if t in c.tags])
        for t in tags
    }
    return RunMetrics(
        overall=_group(per, executed),
        by=by,
        by_agent_difficulty=dict(by_ad),
        by_tag=by_tag,
        scenarios=per,
        not_executed=sorted({c.scenario for c in cases if c.run is None}),
    )


def _per_scenario(cases: Sequence[_Case], trials: int) -> list[ScenarioMetrics]:
    groups: dict[tuple[str, str], list[_Case]] = defaultdict(list)
    for c in cases:
        groups[(c.scenario, c.tier)].append(c)
    out = []
    for (scenario, tier), rows in groups.items():
        n = len(rows)
        wins = sum(r.passed for r in rows)
        runs = [r.run for r in rows if r.run is not None]
        first = rows[0]
        out.append(
            ScenarioMetrics(
                scenario=scenario,
                agent=first.agent,
                level=first.level,
                difficulty=first.difficulty,
                split=first.split,
                tier=tier,
                control=first.control,
                tags=list(first.tags),
                trials=n,
                successes=wins,
                pass_at_1=wins / n,
                pass_hat_k={k: pass_hat_k(wins, n, k) for k in range(1, n + 1)},
                tokens=sum(_num(r, "input_tokens") + _num(r, "output_tokens") for r in runs),
                cost=sum(_num(r, "cost") for r in runs),
                latency_mean_s=_mean([_num(r, "latency_s") for r in runs]),
                steps_mean=_mean([_num(r, "steps") for r in runs]),
                actual_tiers=sorted({str(getattr(r, "tier", "")) for r in runs}),
                errors=sorted({r.error for r in rows if r.error})[:3],
            )
        )
    return out


def _grouped(
    per: list[ScenarioMetrics], cases: Sequence[_Case], key: "_Key"
) -> dict[str, GroupMetrics]:
    values = sorted({key(s) for s in per})
    return {
        v: _group([s for s in per if key(s) == v], [c for c in cases if key(c) == v])
        for v in values
    }


class _Key(Protocol):
    def __call__(self, item: object, /) -> str: ...


def _group(per: list[ScenarioMetrics], cases: Sequence[_Case]) -> GroupMetrics:
    runs = [c.run for c in cases if c.run is not None]
    ks = sorted({k for s in per for k in s.pass_hat_k})
    controls = [c for c in cases if c.control]
    latencies = sorted(_num(r, "latency_s") for r in runs)
    cost = sum(_num(r, "cost") for r in runs)
    return GroupMetrics(
        scenarios=len(per),
        cases=len(cases),
        pass_at_1=_mean([s.pass_at_1 for s in per]),
        pass_hat_k={k: _mean([s.pass_hat_k[k] for s in per if k in s.pass_hat_k]) for k in ks},
        controls=len({c.scenario for c in controls}),
        false_positive_rate=(
            sum(not c.passed for c in controls) / len(controls) if controls else None
        ),
        input_tokens=int(sum(_num(r, "input_tokens") for r in runs)),
        output_tokens=int(sum(_num(r, "output_tokens") for r in runs)),
        cost=cost,
        cost_per_scenario=cost / len(per) if per else 0.0,
        latency_mean_s=_mean(latencies),
        latency_p95_s=latencies[max(0, ceil(0.95 * len(latencies)) - 1)] if latencies else 0.0,
        steps_mean=_mean([_num(r, "steps") for r in runs]),
    )


def _num(run: object, field: str) -> float:
    return float(getattr(run, field, 0) or 0)


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
