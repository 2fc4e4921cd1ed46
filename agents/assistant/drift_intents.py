"""Tier-0 intents over drift now and incidents (open, by kind, why, what was done).

Drift is measured at question time on the newest telemetry window (read only, the same
`drift_now` the LLM tiers call as `drift_status`); an incident's status and what was done
come from the incident store and the data incidents remediation opened.
"""

import re

from pydantic import BaseModel

from agents.assistant import ops_intents
from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply, as_json, lookup, unknown_or_which
from agents.assistant.query import Query
from tools.catalog.drift_tools import DRIFT_KINDS, DriftNow, IncidentBrief, ModelDrift, drift_now
from tools.domain import Environment

INCIDENT_ID = re.compile(r"\binc-[0-9a-f]{6,}(?:-\d+)?\b")
_FEATURE = re.compile(r"\b(?:feature\s+)?(f\d{2,3})\b")
_KIND_WORDS = {
    "data_quality": r"data[- ]quality|\bdq\b|pipeline break|upstream|null|schema|stale",
    "drift": r"\bdrift",
    "latency_regression": r"latency|slow",
    "bad_deploy": r"bad deploy|deploy",
}
NO_TELEMETRY = "No telemetry in this world, so drift cannot be measured (nothing was scanned)."


def _drift(view: FleetView, query: Query) -> DriftNow | None:
    source = view.ctx.telemetry
    if source is None:
        return None
    feature = _FEATURE.search(query.text)
    return drift_now(
        source(),
        models=list(query.models) or None,
        feature=feature.group(1) if feature else None,
        pipeline=query.pipelines[0] if len(query.pipelines) == 1 else None,
    )


def drift(view: FleetView, query: Query) -> Reply:
    """Which models drift now (only those), or whether the named models drift, with scores."""
    if query.unknown and not (query.models or query.pipelines):
        return unknown_or_which(view, query)
    found = _drift(view, query)
    if found is None:
        return Reply(text=NO_TELEMETRY, facts={"drifting": [], "count": 0, "telemetry": False})
    rows = found.drifting
    if query.env is not None and not query.models:
        rows = [r for r in rows if view.models[r.model].env is query.env]
    window = f"newest window {found.window_start:%Y-%m-%d %H:%M}, {found.scanned} models scanned"
    if query.models:
        lines = [drift_line(r.model, r.drifting, r) for r in rows]
        missing = [m for m in query.models if m not in {r.model for r in rows}]
        lines += [f"- {m}: no telemetry for it in the newest window." for m in missing]
        drifting = [r.model for r in rows if r.drifting]
        return Reply(
            text=f"Drift now ({window}):\n" + "\n".join(lines),
            entities=list(query.models),
            facts={"drift": as_json(rows), "drifting": as_json(drifting), "count": len(drifting)},
            lookups=[lookup("drift_status", models=query.models)],
        )
    scope = _scope(query)
    if not rows:
        return Reply(
            text=f"No model{scope} is drifting now ({window}).",
            facts={"drifting": [], "count": 0, "incidents": as_json(found.incidents)},
            lookups=[lookup("drift_status", "no_data")],
        )
    lines = [drift_line(r.model, True, r) for r in rows]
    return Reply(
        text=f"{len(rows)} model(s){scope} drifting now ({window}):\n" + "\n".join(lines),
        entities=[r.model for r in rows],
        facts={
            "drifting": [r.model for r in rows],
            "count": len(rows),
            "drift": as_json(rows),
        },
        lookups=[lookup("drift_status")],
    )


def _scope(query: Query) -> str:
    parts = [*query.pipelines]
    feature = _FEATURE.search(query.text)
    if feature:
        parts.append(f"feature {feature.group(1)}")
    if query.env is not None:
        parts.append(query.env.value)
    return f" ({', '.join(parts)})" if parts else ""


def drift_line(model: str, drifting: bool, row: ModelDrift) -> str:
    """One model's line in a drift answer: drifted features, drops, estimates, incident."""
    estimate = (
        f"; {row.metric} estimated {row.estimated_metric:g} from predictions (labels delayed) "
        f"vs {row.estimate_reference:g} on the reference"
        if row.estimated_drop
        and row.estimated_metric is not None
        and row.estimate_reference is not None
        else ""
    )
    if not drifting:
        extra = f" (noise in {', '.join(row.drifted_features)})" if row.drifted_features else ""
        return f"- {model}: not drifting{extra}{estimate}."
    scores = ", ".join(f"{s.feature} {s.test} {s.score:g} > {s.threshold:g}" for s in row.scores)
    perf = (
        f"; {row.metric} {row.metric_value:g} vs reference {row.reference_metric:g}"
        if row.performance_drop and row.metric_value is not None and row.reference_metric
        else ""
    )
    return (
        f"- {model}: drifting in {', '.join(row.drifted_features) or 'performance'}"
        f" ({scores or 'performance dropped'}){perf}{estimate}; incident {row.incident or '-'}"
    )


class IncidentView(BaseModel):
    """An incident now: what the scan groups, and what the store says happened to it."""

    id: str
    kind: str
    pipeline: str | None
    models: list[str]
    cause: str
    status: str
    done: str
    """What was done about it (acknowledged, remediation action, data incident)."""


def incident_views(view: FleetView) -> list[IncidentView] | None:
    """Incidents of the newest window plus recorded open ones; None without either source."""
    source, store = view.ctx.telemetry, view.ctx.store
    if source is None and store is None:
        return None
    live: list[IncidentBrief] = []
    if source is not None:
        found = drift_now(source())
        live = found.incidents if found else []
    records = {r.key: r for r in store.incidents.occurrences()} if store is not None else {}
    data = store.data_incidents() if store is not None else []
    rows: dict[str, IncidentView] = {}
    for r in records.values():
        if r.status in ("resolved", "closed"):
            continue
        done = [f"status {r.status} by {r.changed_by}"]
        if r.acknowledged_by:
            done.append(f"acknowledged by {r.acknowledged_by}")
        if r.action:
            done.append(f"remediation: {r.action}")
        done += [f"data incident {d.id} ({d.status})" for d in data if d.pipeline == r.pipeline]
        rows[r.id] = IncidentView(
            id=r.id,
            kind=r.kind,
            pipeline=r.pipeline,
            models=r.models,
            cause=r.probable_cause,
            status=r.status,
            done="; ".join(done),
        )
    seen = {r.id for r in records.values()}
    for i in live:
        if i.id in seen or any(r.models == i.models and r.kind == i.kind for r in rows.values()):
            continue
        rows[i.id] = IncidentView(
            id=i.id,
            kind=i.kind,
            pipeline=i.pipeline,
            models=i.models,
            cause=i.cause,
            status="open (seen in the newest window; not yet recorded by a scan)",
            done="nothing yet",
        )
    return list(rows.values())


def _in_scope(view: FleetView, model: str, query: Query) -> bool:
    """Whether a model is of the team and environment asked (no env tag: counted as prod)."""
    found = view.models.get(model)
    if found is None:
        return False
    env = found.env or Environment.PROD
    return query.team in (None, found.owner) and query.env in (None, env)


def incidents(view: FleetView, query: Query) -> Reply:
    """Open incidents: all, by kind, one by id (why and what was done), or a model's."""
    if query.has(r"data incidents?"):
        return ops_intents.incidents(view, query)
    found = incident_views(view)
    if found is None:
        return Reply(
            text="No telemetry and no recorded incidents in this world: nothing to report.",
            facts={"incidents": [], "count": 0},
        )
    wanted = INCIDENT_ID.findall(query.text)
    if wanted:
        found = [i for i in found if i.id in wanted]
        if not found:
            return Reply(
                text=f"I know no open incident {', '.join(wanted)}.",
                facts={"incidents": [], "count": 0, "unknown_incident": wanted},
                lookups=[lookup("incidents", "no_data", id=wanted)],
            )
    kinds = [k for k, pattern in _KIND_WORDS.items() if query.has(pattern)]
    if kinds and not wanted:
        allowed = set(kinds) | (DRIFT_KINDS if "drift" in kinds else set())
        found = [i for i in found if i.kind in allowed]
    if query.models:
        found = [i for i in found if set(i.models) & set(query.models)]
    if query.pipelines:
        found = [i for i in found if i.pipeline in query.pipelines]
    if query.team is not None or query.env is not None:
        found = [i for i in found if any(_in_scope(view, m, query) for m in i.models)]
    lines = [
        f"- {i.id} [{i.kind}] {len(i.models)} model(s) "
        f"({', '.join(i.models[:12])}{', ...' if len(i.models) > 12 else ''}): "
        f"why: {i.cause}. Status: {i.status}. Done: {i.done}."
        for i in found
    ]
    scope = f" ({', '.join(k.replace('_', ' ') for k in kinds)})" if kinds and not wanted else ""
    scope += f" of the {query.team} team's models" if query.team else ""
    scope += f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"{len(found)} open incident(s){scope}"
        + (":\n" + "\n".join(lines) if lines else ": none."),
        entities=sorted({e for i in found for e in (i.id, *i.models, i.pipeline) if e}),
        facts={"incidents": as_json(found), "count": len(found)},
        lookups=[lookup("incidents", "ok" if found else "no_data")],
    )


_WHAT_NOW = (
    r"what (should|do|can) (we|i) do|what'?s (wrong|going on|happening) with|"
    r"\brecommend|next steps?|how (do|should) (we|i) (fix|handle)"
)
"""About a named model: its open incidents say why and what was done."""
_RECOVERED = r"recovered|back to normal|still (bad|broken|anomalous)|\bhealthy\b|ok now"
"""About a named model: the newest window's scan says whether it still drifts."""

DRIFT_INTENTS: tuple[Intent, ...] = (
    Intent(
        "incidents",
        "Which incidents are open, and why?",
        lambda q: (
            q.has(
                r"incidents?\b|\binc-[0-9a-f]|data[- ]quality (break|issue|problem)s?|"
                r"(upstream|pipeline) (break|outage)s?"
            )
            or (bool(q.models) and q.has(_WHAT_NOW))
            or q.has(r"need(s)? (retrain|fixing|a fix)|monitor (find|found|say|report)")
        ),
        incidents,
    ),
    Intent(
        "drift",
        "Which models are drifting right now?",
        lambda q: (
            q.has(r"\bdrift|\bshift(ed|ing)?\b|distribution (change|moved)")
            or (bool(q.models) and q.has(_RECOVERED))
        ),
        drift,
    ),
)
