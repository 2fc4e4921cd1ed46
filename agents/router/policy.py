"""The routing policy: the cheapest tier whose lower-bound success meets the target.

The target is a fraction (default 98%) of the best available tier's lower bound on that
task class. Difficulty features raise it; a question tier 0 cannot parse skips tier 0;
a tier that is down or slow is routed around, and the decision says so. Where the class
has a verifier the decision is a cascade: a cheaper tier first, then the chosen one, then
the best, each escalation only when the verifier rejects the result.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from agents.router.registry import CapabilityEntry, CapabilityRegistry
from agents.router.tasks import Verifier, verifier_of
from llm.tiers import TIER0

SKIPS_TIER0 = frozenset({"no_grammar_match", "low_tier0_confidence"})
"""Features that rule tier 0 out: it would answer "not understood" or guess."""
FEATURES = frozenset({*SKIPS_TIER0, "conflicting_signals", "many_models", "hard"})
"""Difficulty features a caller may report."""


@dataclass
class TierHealth:
    """Tiers that are down or slow right now (routed around, and recorded)."""

    down: dict[str, str] = field(default_factory=dict)
    """Tier -> why it is considered down (failed call, health check)."""
    latency_s: dict[str, float] = field(default_factory=dict)
    """Tier -> recent latency."""
    slow_after_s: float = 30.0

    def mark_down(self, tier: str, reason: str) -> None:
        """Record that a call to `tier` failed."""
        self.down[tier] = reason

    def problem(self, tier: str) -> str | None:
        """Why `tier` must not be used now (None: usable)."""
        if tier in self.down:
            return f"down: {self.down[tier]}"
        latency = self.latency_s.get(tier)
        if latency is not None and latency > self.slow_after_s:
            return f"slow: {latency:.1f}s > {self.slow_after_s:.1f}s"
        return None


class RouteRequest(BaseModel):
    """One unit of work to route."""

    task_class: str
    agent: str = ""
    features: list[str] = Field(default_factory=list)
    available: list[str] | None = None
    """Tiers that can be used here (None: every tier in the registry)."""


class Candidate(BaseModel):
    """A tier as the router weighed it."""

    tier: str
    success: float
    ci_low: float
    mean_cost: float
    source: str
    skipped: str = ""
    """Why it was not eligible (down, slow, ruled out by a feature); empty: eligible."""


class RouteDecision(BaseModel):
    """The decision: which tier, which cascade, and why."""

    task_class: str
    agent: str
    tier: str
    cascade: list[str]
    """Tiers in the order they are tried; the first is `tier`."""
    verifier: Verifier | None
    target: float
    """The lower-bound success a tier had to reach."""
    features: list[str]
    why: str
    candidates: list[Candidate]
    routed_around: list[str] = Field(default_factory=list)
    """Tiers skipped because they were down or slow."""
    stale: bool = False


class Router:
    """Routes task classes over a capability registry."""

    def __init__(
        self,
        registry: CapabilityRegistry,
        *,
        target: float = 0.98,
        feature_shift: float = 0.02,
        cascade_floor: float = 0.5,
        health: TierHealth | None = None,
        stale: bool = False,
    ) -> None:
        """Route with `target` x the best lower bound; features add `feature_shift` each.

        Args:
            registry: What each tier achieves per task class.
            target: Fraction of the best available tier's lower bound a tier must reach.
            feature_shift: Added to the required lower bound per difficulty feature.
            cascade_floor: With a verifier, a cheaper tier is tried first when its measured
                success is at least this (it is verified and escalated if rejected); a
                prior never starts a cascade.
            health: Tiers down or slow now.
            stale: The registry is stale (recorded in decisions).
        """
        if not 0 < target <= 1:
            raise ValueError("target must be in (0, 1]")
        self.registry = registry
        self.target = target
        self.feature_shift = feature_shift
        self.cascade_floor = cascade_floor
        self.health = health or TierHealth()
        self.stale = stale

    def route(self, request: RouteRequest) -> RouteDecision:
        """Decide the tier (and cascade) for one unit of work."""
        names = [t.name for t in self.registry.tiers]
        if request.available is not None:
            names = [n for n in names if n in request.available]
            names += [n for n in request.available if n not in names]
        features = sorted(set(request.features) & FEATURES)
        candidates = [self._candidate(request.task_class, n, features) for n in names]
        eligible = [c for c in candidates if not c.skipped]
        around = [c.tier for c in candidates if c.skipped.startswith(("down", "slow"))]
        if not eligible:
            return self._decision(
                request,
                features,
                candidates,
                around,
                TIER0,
                [TIER0],
                0.0,
                "no tier is available: the deterministic core answers",
            )
        best = max(c.ci_low for c in eligible)
        shift = self.feature_shift * len([f for f in features if f not in SKIPS_TIER0])
        target = min(best, self.target * best + shift)
        chosen = next(c for c in eligible if c.ci_low >= target - 1e-12)
        why = (
            f"{chosen.tier}: cheapest tier with lower-bound success {chosen.ci_low:.2f} >= "
            f"target {target:.2f} ({self.target:.0%} of best {best:.2f}"
            + (f" + {shift:.2f} for {', '.join(features)})" if shift else ")")
        )
        cascade = self._cascade(request.task_class, eligible, chosen)
        if cascade[0] != chosen.tier:
            why += f"; verifier available: try {cascade[0]} first, escalate if rejected"
        return self._decision(
            request, features, candidates, around, cascade[0], cascade, target, why
        )

    def _candidate(self, task_class: str, tier: str, features: list[str]) -> Candidate:
        entry: CapabilityEntry = self.registry.entry(task_class, tier)
        skipped = self.health.problem(tier) or ""
        if not skipped and tier == TIER0:
            ruled = [f for f in features if f in SKIPS_TIER0]
            skipped = f"ruled out by {', '.join(ruled)}" if ruled else ""
        return Candidate(
            tier=tier,
            success=entry.success,
            ci_low=entry.ci_low,
            mean_cost=entry.mean_cost,
            source=entry.source,
            skipped=skipped,
        )

    def _cascade(self, task_class: str, eligible: list[Candidate], chosen: Candidate) -> list[str]:
        if verifier_of(task_class) is None:
            return [chosen.tier]
        index = eligible.index(chosen)
        cheaper = [
            c
            for c in eligible[:index]
            if c.source == "measured" and c.success >= self.cascade_floor
        ]
        best = max(eligible, key=lambda c: c.ci_low)
        order = [*([cheaper[0].tier] if cheaper else []), chosen.tier, best.tier]
        return list(dict.fromkeys(order))

    def _decision(
        self,
        request: RouteRequest,
        features: list[str],
        candidates: list[Candidate],
        around: list[str],
        tier: str,
        cascade: list[str],
        target: float,
        why: str,
    ) -> RouteDecision:
        if around:
            why += f"; routed around {', '.join(around)}"
        return RouteDecision(
            task_class=request.task_class,
            agent=request.agent,
            tier=tier,
            cascade=cascade,
            verifier=verifier_of(request.task_class),
            target=target,
            features=features,
            why=why,
            candidates=candidates,
            routed_around=around,
            stale=self.stale,
        )
