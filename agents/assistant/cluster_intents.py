"""Tier-0 intents over the cluster: GPU capacity, idle deployments, quotas, serving."""

import re

from agents.assistant import facts
from agents.assistant.capacity_intents import team_namespaces
from agents.assistant.context import FleetView
from agents.assistant.intent import Reply, as_json, lookup, unknown_or_which
from agents.assistant.query import Query
from tools.capacity.usage import capacity_report


def gpu(view: FleetView, query: Query) -> Reply:
    """GPU capacity, allocation, use and free capacity per pool (or environment); a team's."""
    if query.team is not None and not query.pools:
        return _team_gpu(view, query, query.team)
    types = re.findall(r"\b(h100|a100|l4)s?\b", query.text)
    pools = query.pools or [
        p.pool for p in view.pools if any(p.gpu_type.value.lower().startswith(t) for t in types)
    ]
    f = facts.gpu_capacity(view, query.env, pools)
    lines = [
        f"- {p.pool} ({p.env.value}, {p.gpu_type}): {p.allocated:g} of {p.capacity:g} "
        f"GPU-eq allocated, {p.free:g} free"
        + (f", {p.idle_allocated:g} allocated but idle" if p.idle_allocated is not None else "")
        + (
            f"; {p.nodes_ready}/{p.nodes_total} nodes ready"
            if p.nodes_ready < p.nodes_total
            else ""
        )
        for p in f.pools
    ]
    scope = f" in {f.env.value}" if f.env else ""
    return Reply(
        text=f"GPU capacity{scope}: {f.allocated:g} of {f.capacity:g} GPU-equivalents "
        f"allocated, {f.free:g} free.\n" + "\n".join(lines),
        entities=[p.pool for p in f.pools],
        facts={"gpu": as_json(f)},
        lookups=[lookup("gpu_usage")],
    )


def _team_gpu(view: FleetView, query: Query, team: str) -> Reply:
    """GPU-equivalents the team's namespaces hold, use and may hold (quota)."""
    rows = team_namespaces(view, capacity_report(view.ctx.cluster, view.ctx.capacity), query)
    held = round(sum(u.requested for u in rows), 3)
    busy = round(sum(u.busy for u in rows), 3)
    lines = [
        f"- {u.name}: {round(u.requested, 3):g} GPU-eq held, {round(u.busy, 3):g} busy"
        + (f", quota {u.quota:g}" if u.quota is not None else "")
        for u in rows
    ]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"The {team} team holds {held:g} GPU-equivalents{scope} ({busy:g} busy) in "
        f"{len(rows)} namespace(s)" + (":\n" + "\n".join(lines) if lines else "."),
        entities=[u.name for u in rows],
        facts={"team": team, "gpu_equivalents": held, "busy": busy, "namespaces": len(rows)},
        lookups=[lookup("capacity_report", by="namespace", owner=team, env=query.env)],
    )


def idle(view: FleetView, query: Query) -> Reply:
    """Idle deployments: replicas but no request for N days (default: scale-to-zero days)."""
    f = facts.idle_deployments(view, query.days, query.env)
    lines = [
        f"- {d.namespace}/{d.name}: {d.replicas} replica(s), last request {d.idle_days:g} days ago"
        for d in f.deployments
    ]
    scope = f" in {f.env.value}" if f.env else ""
    verdict = (
        "scale-to-zero candidates"
        if f.days >= f.scale_to_zero_days
        else f"scale to zero waits for {f.scale_to_zero_days:g} days"
    )
    return Reply(
        text=f"{f.count} deployment(s){scope} with replicas had no traffic for {f.days:g} days "
        f"or more (cluster clock {f.at:%Y-%m-%d %H:%M}); {verdict}:\n" + "\n".join(lines)
        if f.deployments
        else f"No deployment{scope} has been idle for {f.days:g} days.",
        entities=sorted({e for d in f.deployments for e in (d.name, d.namespace)}),
        facts={"idle": as_json(f)},
        lookups=[
            lookup("idle_deployments", "ok" if f.deployments else "no_data", days=f.days, env=f.env)
        ],
    )


NEAR_QUOTA = 0.8
"""Share of its quota a namespace uses to count as close to it."""


def quota(view: FleetView, query: Query) -> Reply:
    """GPU quota and use per namespace."""
    rows = facts.quotas(view, query.namespaces, query.env, query.team)
    if query.has(r"over (the |their |its )?quota|exceed|above (the )?quota"):
        rows = [q for q in rows if q.over_quota]
    elif query.has(r"\bno (gpu )?quota|without (a |any )?(gpu )?quota|unlimited"):
        rows = [q for q in rows if q.gpu_quota is None]
    elif query.has(r"close to|near(ly)?|almost|running out|at (their|the) (quota|limit)"):
        rows = sorted(
            (q for q in rows if q.gpu_quota and q.gpu_used >= NEAR_QUOTA * q.gpu_quota),
            key=lambda q: -q.gpu_used / (q.gpu_quota or 1.0),
        )
    lines = [
        f"- {q.namespace}: {q.gpu_used:g} of "
        + (
            f"{q.gpu_quota:g} GPU-eq used, {q.free:g} free"
            if q.gpu_quota is not None
            else "no quota"
        )
        + (" (OVER QUOTA)" if q.over_quota else "")
        for q in rows
    ]
    return Reply(
        text=f"GPU quota of {len(rows)} namespace(s):\n" + "\n".join(lines)
        if rows
        else "No namespace matches (none is over quota)."
        if query.has(r"over|exceed|above")
        else "No namespace matches.",
        entities=[q.namespace for q in rows],
        facts={"quotas": as_json(rows)},
        lookups=[lookup("namespace_quotas", "ok" if rows else "no_data")],
    )


def serving(view: FleetView, query: Query) -> Reply:
    """What is deployed in a namespace / environment, or where a model is deployed."""
    if query.unknown and not (query.namespaces or query.env or query.models):
        return unknown_or_which(view, query)
    rows = facts.serving(view, query.namespaces, query.env, query.models)
    lines = [
        f"- {s.namespace}/{s.name}: {s.model} v{s.version}, {s.ready}/{s.replicas} replicas "
        f"ready, {s.requests_per_s:g} req/s, p95 {s.p95_latency_ms:g} ms, GPU {s.gpu}"
        + (f" on {', '.join(s.nodes)}" if s.nodes else "")
        for s in rows
    ]
    scope = ", ".join([*query.namespaces, *(e.value for e in query.envs)])
    scope = " in " + scope if scope else ""
    if query.models:
        scope = f" of {', '.join(query.models)}{scope}"
    totals = ""
    if len(rows) > 1:
        p95 = sorted(s.p95_latency_ms for s in rows)
        totals = (
            f" ({sum(s.requests_per_s for s in rows):,.1f} req/s in all; p95 latency median "
            f"{p95[len(p95) // 2]:g} ms, mean {sum(p95) / len(p95):.1f} ms, max {p95[-1]:g} ms)"
        )
    return Reply(
        text=f"{len(rows)} deployment(s){scope}{totals}:\n" + "\n".join(lines)
        if rows
        else f"Nothing is deployed{scope}.",
        entities=sorted({e for s in rows for e in (s.model, s.namespace)}),
        facts={
            "deployments": as_json(rows),
            "count": len(rows),
            "requests_per_s": round(sum(s.requests_per_s for s in rows), 3),
        },
        lookups=[
            lookup(
                "list_deployments",
                "ok" if rows else "no_data",
                namespace=query.namespaces,
                env=query.env,
                model=query.models,
            )
        ],
    )
