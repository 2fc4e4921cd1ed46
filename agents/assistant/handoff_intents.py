"""Tier-0 hand-offs: chat asks an agent to do its work, read only or as proposals.

"scan pipeline X now" runs the monitor's scan on the newest window (nothing recorded),
"plan capacity for prod" runs the capacity planner (its actions come back as proposals,
which `lotsen ask` / `lotsen chat` queue for approval through the gate, never executed
here). "explain incident ..." and "review promoting v7 of Y" are answered by the incident
and compliance intents (`drift_intents`, `compliance_intents`).
"""

from agents.assistant.context import FleetView
from agents.assistant.drift_intents import NO_TELEMETRY
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.mutations import GATE_NOTE
from agents.assistant.query import Query
from tools.catalog.drift_tools import drift_now


def scan_now(view: FleetView, query: Query) -> Reply:
    """The monitor's scan of the newest window for a pipeline, models or the fleet."""
    source = view.ctx.telemetry
    if source is None:
        return Reply(text=NO_TELEMETRY, facts={"scanned": 0, "incidents": []})
    models = list(query.models) or None
    pipeline = query.pipelines[0] if len(query.pipelines) == 1 else None
    found = drift_now(source(), models=models, pipeline=pipeline)
    if found is None:
        return Reply(text=NO_TELEMETRY, facts={"scanned": 0, "incidents": []})
    incidents = [
        i
        for i in found.incidents
        if (pipeline is None or i.pipeline == pipeline)
        and (models is None or set(i.models) & set(models))
    ]
    drifting = [r.model for r in found.drifting if r.drifting]
    scope = pipeline or (", ".join(models) if models else "the fleet")
    head = (
        f"Monitor scan of {scope} (newest window {found.window_start:%Y-%m-%d %H:%M}, "
        "read only: nothing recorded; `lotsen scan` records incidents)"
    )
    if not incidents and not drifting:
        return Reply(
            text=f"{head}: nothing found: none drifting, no incident.",
            facts={"incidents": [], "drifting": []},
            lookups=[lookup("drift_status", "no_data", pipeline=pipeline, models=models)],
        )
    lines = [f"- {i.id} [{i.kind}] {len(i.models)} model(s): {i.cause}" for i in incidents] + [
        f"- drifting: {', '.join(drifting)}"
    ] * bool(drifting)
    return Reply(
        text=f"{head}:\n" + "\n".join(lines),
        entities=sorted(
            {e for i in incidents for e in (i.id, i.pipeline, *i.models) if e} | set(drifting)
        ),
        facts={"incidents": as_json(incidents), "drifting": as_json(drifting)},
        lookups=[lookup("drift_status", pipeline=pipeline, models=models)],
    )


def plan_capacity(view: FleetView, query: Query) -> Reply:
    """The capacity planner's plan (tier 0); its actions are proposals for the gate."""
    from agents.capacity.plan import build_plan

    plan = build_plan(view.ctx.cluster, view.ctx.capacity, proposer=view.ctx.user)
    actions = [a for a in plan.actions if query.env is None or a.env in (None, query.env)]
    scope = f" for {query.env.value}" if query.env else ""
    lines = [f"- {a.action.detail}" + (f" ({a.saving})" if a.saving else "") for a in actions]
    return Reply(
        text=f"Capacity plan {plan.id}{scope}: {len(actions)} proposed action(s)"
        + (":\n" + "\n".join(lines) if lines else " (nothing to change).")
        + f"\nSaves up to {plan.savings.cost_per_day:g} EUR/day and "
        f"{plan.savings.gpu_equivalents:g} GPU-equivalents if all of the plan is applied.\n"
        + GATE_NOTE,
        entities=sorted({a.action.model for a in actions if a.action.model}),
        facts={"plan": plan.id, "actions": len(actions), "executed": False},
        proposals=[a.action for a in actions],
        lookups=[lookup("capacity_report"), lookup("capacity_savings")],
    )


HANDOFF_INTENTS: tuple[Intent, ...] = (
    Intent(
        "scan_now",
        "Scan pipeline growth-features-00 now",
        lambda q: q.has(r"\b(re)?scan\b|run (a |the )?(drift |monitor )?(scan|check)"),
        scan_now,
    ),
    Intent(
        "plan_capacity",
        "Plan capacity for prod",
        lambda q: q.has(r"\bplan\b.*\bcapacity\b|capacity plan|\bplan capacity|right-?siz"),
        plan_capacity,
    ),
)
