"""Cascades: try the cheap tier, verify, escalate to the next only when rejected."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agents.router.policy import RouteDecision, TierHealth

T = TypeVar("T")


@dataclass(frozen=True)
class Escalation:
    """One step up the cascade, and why."""

    from_tier: str
    to_tier: str
    reason: str


@dataclass
class CascadeRun(Generic[T]):
    """What a cascade produced: the accepted (or last) result and its escalations."""

    result: T | None
    tier: str
    accepted: bool
    tried: list[str] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)


def run_cascade(
    decision: RouteDecision,
    attempt: Callable[[str], T],
    verify: Callable[[T], str | None],
    health: TierHealth | None = None,
) -> CascadeRun[T]:
    """Try each tier of `decision.cascade` until the verifier accepts a result.

    Args:
        decision: The router's decision (its cascade, cheapest first).
        attempt: Runs the work at a tier; raising means the tier failed (marked down).
        verify: None when the result is acceptable, else why it is rejected.
        health: Where a failed tier is marked down (so later decisions route around it).
    """
    run: CascadeRun[T] = CascadeRun(result=None, tier=decision.tier, accepted=False)
    for index, tier in enumerate(decision.cascade):
        run.tried.append(tier)
        run.tier = tier
        try:
            result = attempt(tier)
        except Exception as exc:  # a failing tier is routed around, not fatal
            reason = f"{type(exc).__name__}: {exc}"[:200]
            if health is not None:
                health.mark_down(tier, reason)
        else:
            run.result = result
            rejected = verify(result)
            if rejected is None:
                run.accepted = True
                return run
            reason = f"verifier ({decision.verifier}) rejected: {rejected}"
        if index + 1 < len(decision.cascade):
            run.escalations.append(Escalation(tier, decision.cascade[index + 1], reason))
    return run
