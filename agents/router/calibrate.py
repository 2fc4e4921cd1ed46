"""Calibration: the router's target and cascade floor fitted on a training split.

Cases are split by a hash of their id (deterministic, independent of order), so the
cases that set the threshold never score it (as RouteLLM calibrates its threshold on one
split and reports on another). A policy is played on recorded outcomes: each case's result
at each tier is known, a cascade pays for every tier it tries.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from agents.router.policy import Router, RouteRequest
from agents.router.registry import CapabilityRegistry, Outcome, TierInfo, learn

Split = Literal["train", "test"]
TARGETS = (0.80, 0.85, 0.90, 0.95, 0.98, 1.0)
FLOORS = (0.5, 0.7, 0.9, 2.0)
"""Cascade floors tried; 2.0 = never start a cascade below the chosen tier."""


def split_of(case: str, train_share: float = 0.5) -> Split:
    """`train` or `test` for a case id, by its SHA-256 (stable across runs and machines)."""
    bucket = int(hashlib.sha256(case.encode()).hexdigest()[:8], 16) % 1000
    return "train" if bucket < train_share * 1000 else "test"


@dataclass
class CaseRun:
    """One case: its class, difficulty features and its outcome at every tier."""

    case: str
    task_class: str
    features: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


class Played(BaseModel):
    """A policy's result on one case."""

    passed: bool
    cost: float
    latency_s: float
    tier: str
    """The tier whose result was kept."""
    escalations: int = 0


class PolicyScore(BaseModel):
    """A policy over a split."""

    name: str
    cases: int
    passed: int
    success: float
    cost: float
    latency_s: float
    """Mean wall time per case."""
    escalations: int = 0
    final_tiers: dict[str, int] = Field(default_factory=dict)


class Calibration(BaseModel):
    """The fitted parameters and what they achieved on the training split."""

    target: float
    cascade_floor: float
    train: PolicyScore
    train_largest: PolicyScore
    required_ratio: float


def play(case: CaseRun, cascade: Sequence[str]) -> Played:
    """Try `cascade` in order on recorded outcomes until the verifier accepts one."""
    cost = latency = 0.0
    tried = [t for t in cascade if t in case.outcomes]
    if not tried:
        raise ValueError(f"case {case.case} has no outcome at {list(cascade)}")
    for index, tier in enumerate(tried):
        outcome = case.outcomes[tier]
        cost += outcome.cost
        latency += outcome.latency_s
        if outcome.verified or index == len(tried) - 1:
            return Played(
                passed=outcome.passed, cost=cost, latency_s=latency, tier=tier, escalations=index
            )
    raise AssertionError("unreachable")


def score(
    name: str, cases: Sequence[CaseRun], choose: Callable[[CaseRun], list[str]]
) -> PolicyScore:
    """Play a policy (`choose`: the cascade for a case) over `cases`."""
    played = [play(c, choose(c)) for c in cases]
    passed = sum(p.passed for p in played)
    return PolicyScore(
        name=name,
        cases=len(played),
        passed=passed,
        success=passed / len(played) if played else 0.0,
        cost=sum(p.cost for p in played),
        latency_s=sum(p.latency_s for p in played) / len(played) if played else 0.0,
        escalations=sum(p.escalations for p in played),
        final_tiers=dict(Counter(p.tier for p in played)),
    )


def registry_of(cases: Sequence[CaseRun], tiers: list[TierInfo], source: str) -> CapabilityRegistry:
    """The registry measured on `cases` (the training split)."""
    outcomes = [o for c in cases for o in c.outcomes.values()]
    return learn(outcomes, tiers, sources=[source])


def router_policy(router: Router) -> Callable[[CaseRun], list[str]]:
    """The cascade the router chooses for a case."""

    def choose(case: CaseRun) -> list[str]:
        request = RouteRequest(
            task_class=case.task_class, features=case.features, available=list(case.outcomes)
        )
        return router.route(request).cascade

    return choose


def calibrate(
    train: Sequence[CaseRun],
    registry: CapabilityRegistry,
    largest: str,
    *,
    required_ratio: float = 0.98,
    targets: Sequence[float] = TARGETS,
    floors: Sequence[float] = FLOORS,
) -> Calibration:
    """The cheapest (target, floor) whose training success is >= ratio x always-largest's.

    When none reaches it, the most successful setting (cheapest among equals) is taken.
    """
    baseline = score("always-largest", train, lambda _c: [largest])
    need = required_ratio * baseline.success
    results = []
    for target in targets:
        for floor in floors:
            router = Router(registry, target=target, cascade_floor=floor)
            results.append((target, floor, score("router", train, router_policy(router))))
    good = [r for r in results if r[2].success >= need - 1e-12]
    if good:
        target, floor, best = min(good, key=lambda r: (r[2].cost, -r[2].success))
    else:
        target, floor, best = max(results, key=lambda r: (r[2].success, -r[2].cost))
    return Calibration(
        target=target,
        cascade_floor=floor,
        train=best,
        train_largest=baseline,
        required_ratio=required_ratio,
    )
