"""Tier-0 intents ranking deployments (slowest, busiest, biggest) and finding oversized ones."""

from collections.abc import Callable

from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.query import Query
from tools.capacity.rightsizing import right_sizing_candidates, slot_equivalents
from tools.domain import Deployment

TOP = 10
_RANKS: dict[str, tuple[str, str, Callable[[Deployment], float]]] = {
    "latency": (
        r"(highest|worst|slowest) (p95 )?latenc|\bslowest\b|latency (is )?(the )?highest",
        "p95 latency (ms)",
        lambda d: d.p95_latency_ms,
    ),
    "traffic": (
        r"\bbusiest\b|most (traffic|requests|used|popular)|highest (traffic|load|request)",
        "requests/s",
        lambda d: d.requests_per_s,
    ),
    "gpus": (
        r"(most|biggest|largest) (gpus?|gpu[- ]equivalents|capacity)|use the most gpus?|"
        r"gpu[- ]hungr",
        "GPU-equivalents",
        lambda d: slot_equivalents(d.gpu) * d.replicas,
    ),
}
_RIGHT_SIZE = (
    r"scaled? down|right-?siz|over-?provision|under-?utili[sz]|oversized|too (big|large)|"
    r"smaller (slice|slot|gpu)|wast(e|ing) (gpu|their)"
)


def top_deployments(view: FleetView, query: Query) -> Reply:
    """The deployments ranked by latency, traffic or GPUs held (of an environment)."""
    key = next(k for k, (pattern, _, _) in _RANKS.items() if query.has(pattern))
    _, unit, value = _RANKS[key]
    rows = sorted(
        (d for d in view.deployments if d.replicas and query.env in (None, d.env)),
        key=lambda d: (-value(d), d.namespace, d.name),
    )[:TOP]
    lines = [f"- {d.namespace}/{d.name} ({d.model}): {round(value(d), 3):g} {unit}" for d in rows]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"Top {len(rows)} deployment(s){scope} by {unit}:\n" + "\n".join(lines),
        entities=[d.model for d in rows],
        facts={"by": key, "ranked": as_json([[d.model, round(value(d), 3)] for d in rows])},
        lookups=[lookup("list_deployments", env=query.env)],
    )


def right_sizing(view: FleetView, query: Query) -> Reply:
    """Deployments whose load and memory fit a smaller MIG slice (the planner's rule)."""
    found = [
        r
        for r in right_sizing_candidates(
            view.deployments, view.ctx.cluster.node_pools(), view.ctx.capacity
        )
        if query.env in (None, r.env)
    ]
    found.sort(key=lambda r: -r.gpu_equivalents_saved)
    lines = [
        f"- {r.namespace}/{r.name}: {r.current} -> {r.target.mig_profile} "
        + (
            f"(TOO SMALL: needs {r.memory_need_gb:g} GB; costs "
            f"{-r.gpu_equivalents_saved:.3g} GPU-eq more)"
            if r.too_small
            else f"(utilisation {r.utilisation_now:.0%} -> {r.utilisation_after:.0%}, needs "
            f"{r.memory_need_gb:g} GB), frees {r.gpu_equivalents_saved:.3g} GPU-eq, "
            f"{r.cost_per_day_saved:.2f}/day"
        )
        for r in found
    ]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"{len(found)} deployment(s){scope} fit a smaller slice (proposals only: "
        "`lotsen capacity plan`; idle ones: 'which deployments have had no traffic?')"
        + (":\n" + "\n".join(lines) if lines else ": none."),
        entities=[r.model for r in found],
        facts={"right_size": as_json(found), "count": len(found)},
        lookups=[lookup("right_sizing")],
    )


RANKING_INTENTS: tuple[Intent, ...] = (
    Intent(
        "right_sizing",
        "Which deployments could be scaled down to a smaller slice?",
        lambda q: not q.models and q.has(_RIGHT_SIZE),
        right_sizing,
    ),
    Intent(
        "top_deployments",
        "Which models have the highest latency in prod?",
        lambda q: not q.models and any(q.has(pattern) for pattern, _, _ in _RANKS.values()),
        top_deployments,
    ),
)
