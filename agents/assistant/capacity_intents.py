"""Tier-0 intents backed by the capacity planner: idle GPUs, GPU-hours, cost, savings."""

from pydantic import BaseModel

from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.query import Query
from tools.capacity.rightsizing import scale_to_zero_candidates
from tools.capacity.usage import CapacityReport, Usage, capacity_report
from tools.domain import Environment

CURRENCY = "EUR"
"""Unit of the prices per GPU-hour (LOTSEN_GPU_HOUR_PRICE; the shipped defaults are EUR)."""
COUNTED = (
    "Counted: every GPU of the cluster's nodes at its price per GPU-hour, held around the "
    "clock; idle = not busy by measured utilisation (allocated but unused, or unallocated)."
)


_ENERGY = r"\benergy\b(?! team)|\bpower\b|\bwatts?\b|\bkwh\b|electricity"
_WEEK = r"\bweek|\b7 days"


def team_namespaces(view: FleetView, report: CapacityReport, query: Query) -> list[Usage]:
    """The report's rows of the namespaces the asked team owns (in the asked environment)."""
    owned = {ns.name for ns in view.namespaces if ns.owner == query.team}
    return [u for u in report.namespaces if u.name in owned and query.env in (None, u.env)]


def capacity(view: FleetView, query: Query) -> Reply:
    """Idle GPUs, idle GPU-hours, cost and CO2e per environment, pool or namespace."""
    if query.has(r"\bsav(e|es|ing|ings)\b"):
        return _savings(view, query)
    report = capacity_report(view.ctx.cluster, view.ctx.capacity)
    if query.team is not None and not query.namespaces:
        rows, by = team_namespaces(view, report, query), "namespace"
    elif query.pools:
        rows, by = [u for u in report.pools if u.name in query.pools], "pool"
    elif query.namespaces:
        rows, by = [u for u in report.namespaces if u.name in query.namespaces], "namespace"
    elif query.has(r"\bpools?\b"):
        rows, by = [u for u in report.pools if query.env in (None, u.env)], "pool"
    else:
        rows, by = [u for u in report.envs if query.env in (None, u.env)], "env"
    if query.has(_ENERGY) and not query.has(r"\bcost|idle"):
        return _energy(view, query, rows, by)
    facts = [_row(u) for u in rows]
    idle = round(sum(f.idle_gpus for f in facts), 3)
    hours = round(sum(f.idle_gpu_hours_per_day for f in facts), 1)
    cost = round(sum(f.cost_per_day for f in facts), 2)
    idle_cost = round(sum(f.idle_cost_per_day for f in facts), 2)
    lines = [
        f"- {f.name}: {f.gpus:g} GPUs, {f.busy:g} busy, {f.idle_gpus:g} idle "
        f"({f.unallocated:g} not allocated), {f.idle_gpu_hours_per_day:g} idle GPU-h/day, "
        f"idle cost {f.idle_cost_per_day:g} of {f.cost_per_day:g} {CURRENCY}/day, "
        f"{f.kg_co2e_per_day:g} kg CO2e/day"
        for f in facts
    ]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"{idle:g} GPU-equivalents are idle{scope} ({hours:g} idle GPU-hours per day). "
        f"Idle cost: {idle_cost:g} {CURRENCY}/day; total cost of the GPUs held: {cost:g} "
        f"{CURRENCY}/day. {COUNTED}\nBy {by}:\n" + "\n".join(lines),
        entities=[u.name for u in rows] if by != "env" else [],
        facts={
            "by": by,
            "rows": as_json(facts),
            "idle_gpus": idle,
            "idle_gpu_hours_per_day": hours,
            "cost_per_day": cost,
            "idle_cost_per_day": idle_cost,
            "currency": CURRENCY,
        },
        lookups=[lookup("capacity_report", by=by, env=query.env)],
    )


class CapacityRow(BaseModel):
    """One environment, pool or namespace: GPUs held versus busy, and what idling costs."""

    name: str
    env: Environment | None
    gpus: float
    requested: float
    busy: float
    idle_gpus: float
    """gpus - busy (GPU-equivalents)."""
    unallocated: float
    """gpus - requested."""
    idle_gpu_hours_per_day: float
    cost_per_day: float
    """Every GPU held, busy or not, at its price per GPU-hour."""
    idle_cost_per_day: float
    """The idle share of `cost_per_day` (idle GPUs / GPUs)."""
    kg_co2e_per_day: float


def _row(u: Usage) -> CapacityRow:
    return CapacityRow(
        name=u.name,
        env=u.env,
        gpus=round(u.gpus, 3),
        requested=round(u.requested, 3),
        busy=round(u.busy, 3),
        idle_gpus=round(u.gpus - u.busy, 3),
        unallocated=round(u.gpus - u.requested, 3),
        idle_gpu_hours_per_day=round(u.idle_gpu_hours_per_day, 1),
        cost_per_day=round(u.cost_per_day, 2),
        idle_cost_per_day=round(u.cost_per_day * (u.gpus - u.busy) / u.gpus, 2) if u.gpus else 0.0,
        kg_co2e_per_day=round(u.kg_co2e_per_day, 2),
    )


def _energy(view: FleetView, query: Query, rows: list[Usage], by: str) -> Reply:
    """Power drawn now and the energy it amounts to, per environment, pool or namespace."""
    days = 7 if query.has(_WEEK) else (query.days or 1)
    kw = round(sum(u.power_w for u in rows) / 1000, 2)
    kwh = round(kw * 24 * days, 1)
    names, envs = {u.name for u in rows}, {u.env for u in rows}
    since = [
        p.energy_kwh
        for p in view.pools
        if p.energy_kwh is not None and (p.pool in names if by == "pool" else p.env in envs)
    ]
    if by == "namespace":
        since = []  # the twin meters pools, not namespaces
    lines = [
        f"- {u.name}: {u.power_w / 1000:.2f} kW now, {u.power_w * 24 * days / 1000:.1f} kWh "
        f"over {days} day(s) at that draw, {u.kg_co2e_per_day * days:.1f} kg CO2e"
        + (f", {u.j_per_1k_inferences:.0f} J per 1,000 requests" if u.j_per_1k_inferences else "")
        + (f", {u.kwh_per_retrain:.2f} kWh per retrain" if u.kwh_per_retrain else "")
        for u in rows
    ]
    measured = f" Measured since the cluster was seeded: {sum(since):.1f} kWh." if since else ""
    return Reply(
        text=f"The GPUs draw {kw:g} kW now: {kwh:g} kWh over {days} day(s) at that draw "
        f"(the power model's estimate from utilisation, not a meter).{measured}\nBy {by}:\n"
        + "\n".join(lines),
        entities=[u.name for u in rows] if by != "env" else [],
        facts={
            "by": by,
            "power_kw": kw,
            "days": days,
            "kwh": kwh,
            "kwh_since_seeding": round(sum(since), 1) if since else None,
        },
        lookups=[lookup("capacity_report", by=by, env=query.env)],
    )


def _savings(view: FleetView, query: Query) -> Reply:
    found = [
        c
        for c in scale_to_zero_candidates(
            view.deployments, view.ctx.cluster.now(), view.ctx.capacity
        )
        if query.env in (None, c.env)
    ]
    cost = round(sum(c.cost_per_day for c in found), 2)
    gpus = round(sum(c.gpu_equivalents for c in found), 3)
    lines = [
        f"- {c.namespace}/{c.name}: {c.gpu_equivalents:g} GPU-eq, {c.cost_per_day:.2f}/day"
        for c in found
    ]
    return Reply(
        text=f"Scaling {len(found)} idle deployment(s) to zero would free {gpus:g} "
        f"GPU-equivalents and save {cost:g} per day (proposals only: "
        "`lotsen capacity plan` / `apply` go through the gate):\n" + "\n".join(lines),
        entities=sorted({e for c in found for e in (c.name, c.namespace)}),
        facts={
            "scale_to_zero": as_json(found),
            "gpu_equivalents": gpus,
            "cost_per_day": cost,
        },
        lookups=[lookup("capacity_savings")],
    )


CAPACITY_INTENTS: tuple[Intent, ...] = (
    Intent(
        "capacity",
        "How many GPUs are idle in test, and what do they cost per day?",
        lambda q: q.has(
            r"idle gpus?|gpus? (are |is |sit |sitting )?idle|gpu[- ]hours|\bcost|co2|carbon|"
            r"\benergy\b(?! team)|\bpower\b|\bwatts?\b|\bkwh\b|wast|\bspend|\bsav(e|es|ing|ings)\b"
        ),
        capacity,
    ),
)
