"""The router (optimisation layer): every task to the cheapest capable (agent, tier).

- `tasks`: task classes for every unit of agent work, and which have a verifier.
- `registry`: measured success (Wilson interval), tokens, cost, latency per (class, tier).
- `policy`: the routing policy (cheapest tier whose lower bound meets the target),
  difficulty features, tiers that are down or slow routed around.
- `cascade`: try cheap, verify, escalate.
- `calibrate`: the target calibrated on a training split, scored on a held-out split.
"""

from agents.router.policy import RouteDecision, Router, RouteRequest, TierHealth
from agents.router.registry import CapabilityEntry, CapabilityRegistry
from agents.router.tasks import task_class_for_question

__all__ = [
    "CapabilityEntry",
    "CapabilityRegistry",
    "RouteDecision",
    "RouteRequest",
    "Router",
    "TierHealth",
    "task_class_for_question",
]
