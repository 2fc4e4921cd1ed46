"""Tier-0 intents over remediation's traces: watch list, quarantine, broken pipelines."""

from agents.assistant import ops_facts
from agents.assistant.context import FleetView
from agents.assistant.drift_intents import incident_views
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.ops_intents import NO_STORE
from agents.assistant.query import Query

_WATCH = r"watch ?list|being watched|under watch|\bwatched\b"
_QUARANTINE = r"quarantin"
_PIPELINE_HEALTH = (
    r"pipelines? .*\b(broken|healthy|down|failing|ok|okay|fine|working)\b|"
    r"(broken|failing|unhealthy) pipelines?"
)


def watch_list(view: FleetView, query: Query) -> Reply:
    """Models a remediation put on the watch list (scanned more often), with the interval."""
    store = view.ctx.store
    if store is None:
        return Reply(text=NO_STORE, facts={"watched": [], "count": 0})
    every = store.watch_intervals()
    rows = sorted(m for m in every if not query.models or m in query.models)
    lines = [f"- {m}: scanned every {every[m]:g} h" for m in rows]
    return Reply(
        text=f"{len(rows)} model(s) on the watch list"
        + (":\n" + "\n".join(lines) if rows else "."),
        entities=rows,
        facts={"watched": as_json({m: every[m] for m in rows}), "count": len(rows)},
        lookups=[lookup("watch_list")],
    )


def quarantine(view: FleetView, query: Query) -> Reply:
    """Windows kept out of training and reference data after a data incident."""
    store = view.ctx.store
    if store is None:
        return Reply(text=NO_STORE, facts={"quarantined": [], "count": 0})
    rows = [(m, w) for m, w in store.quarantined() if not query.models or m in query.models]
    lines = [f"- {m}: window {w[:16].replace('T', ' ')}" for m, w in rows]
    return Reply(
        text=f"{len(rows)} window(s) quarantined (kept out of training and reference data)"
        + (":\n" + "\n".join(lines) if rows else "."),
        entities=sorted({m for m, _ in rows}),
        facts={"quarantined": as_json(rows), "count": len(rows)},
        lookups=[lookup("quarantine")],
    )


def pipeline_health(view: FleetView, query: Query) -> Reply:
    """Pipelines with an open data incident (all, or the ones named)."""
    broken: dict[str, str] = {}
    for i in incident_views(view) or []:  # what the monitor sees now, and recorded ones
        if i.kind == "data_quality" and i.pipeline:
            broken.setdefault(i.pipeline, f"{i.cause} ({i.id}, {len(i.models)} model(s))")
    for d in ops_facts.open_data_incidents(view) or []:  # opened for the pipeline's owner
        if d.pipeline:
            broken.setdefault(d.pipeline, f"{d.cause} ({d.id}, {len(d.models)} model(s))")
    asked = query.pipelines or sorted(broken)
    lines = [
        f"- {p}: broken, {broken[p]}" if p in broken else f"- {p}: no open data incident"
        for p in asked
    ]
    bad = [p for p in asked if p in broken]
    lead = (
        f"{len(bad)} of {len(asked)} pipeline(s) asked about have an open data incident"
        if query.pipelines
        else f"{len(bad)} pipeline(s) with an open data incident"
    )
    return Reply(
        text=lead + (":\n" + "\n".join(lines) if lines else "; every pipeline is healthy."),
        entities=asked,
        facts={"broken": as_json(bad), "count": len(bad)},
        lookups=[lookup("open_data_incidents")],
    )


REMEDIATION_INTENTS: tuple[Intent, ...] = (
    Intent(
        "watch_list", "Which models are on the watch list?", lambda q: q.has(_WATCH), watch_list
    ),
    Intent(
        "quarantine", "Which windows are quarantined?", lambda q: q.has(_QUARANTINE), quarantine
    ),
    Intent(
        "pipeline_health",
        "Is pipeline growth-features-00 healthy?",
        lambda q: q.has(_PIPELINE_HEALTH),
        pipeline_health,
    ),
)
