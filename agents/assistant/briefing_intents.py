"""Tier-0 intents for a shift's first questions: what needs attention, unready servers, teams."""

from collections import Counter

from agents.assistant import ops_facts
from agents.assistant.context import FleetView
from agents.assistant.drift_intents import incident_views
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.query import Query
from tools.domain import Deployment, JobStatus

_BRIEFING = (
    r"needs? (my |our )?attention|anything (on fire|wrong|broken|urgent)|what'?s (wrong|broken|up)|"
    r"(summary|overview|state|health|status) of the fleet|fleet (summary|overview|status|health)|"
    r"morning (briefing|report)|\bbriefing\b|what should i (look at|do) (first|today)"
)
_UNHEALTHY = (
    r"crash ?loop|unhealthy|not ready|degraded|deployments? (fail|down|broken)|"
    r"(failed|failing|broken|down) deployments?|did any deployments? fail"
)
_PER_TEAM = r"(each|every|per|by) team|teams? own the most"


def _unready(view: FleetView, query: Query) -> list[Deployment]:
    return [
        d
        for d in sorted(view.deployments, key=lambda d: (d.namespace, d.name))
        if d.ready_replicas < d.replicas and query.env in (None, d.env)
    ]


def unhealthy(view: FleetView, query: Query) -> Reply:
    """Deployments with fewer ready replicas than they ask for."""
    rows = _unready(view, query)
    lines = [
        f"- {d.namespace}/{d.name}: {d.ready_replicas}/{d.replicas} replicas ready ({d.model})"
        for d in rows
    ]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"{len(rows)} deployment(s){scope} with replicas not ready"
        + (":\n" + "\n".join(lines) if lines else ": none, every deployment is fully ready."),
        entities=[f"{d.namespace}/{d.name}" for d in rows],
        facts={"count": len(rows)},
        lookups=[lookup("list_deployments", env=query.env)],
    )


def briefing(view: FleetView, query: Query) -> Reply:
    """Open incidents, pending approvals, failed and queued jobs, nodes down, unready servers."""
    incidents = incident_views(view) or []
    kinds = Counter(i.kind for i in incidents)
    approvals = ops_facts.pending_approvals(view) or []
    jobs = Counter(j.status for j in view.ctx.cluster.jobs())
    down = sorted(n.name for n in view.ctx.cluster.nodes() if not n.ready)
    unready = _unready(view, query)
    lines = [
        f"- {len(incidents)} open incident(s)"
        + (f": {', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}" if kinds else ""),
        f"- {len(approvals)} approval request(s) waiting for a human",
        f"- {jobs[JobStatus.FAILED]} failed and {jobs[JobStatus.QUEUED]} queued retraining job(s)",
        f"- {len(down)} node(s) down" + (f": {', '.join(down)}" if down else ""),
        f"- {len(unready)} deployment(s) with replicas not ready",
    ]
    urgent = len(incidents) + len(approvals) + jobs[JobStatus.FAILED] + len(down) + len(unready)
    lead = "Needs attention" if urgent else "Nothing needs attention"
    return Reply(
        text=f"{lead}:\n" + "\n".join(lines) + "\nAsk about any of them for details "
        "(e.g. 'which incidents are open?', 'which approvals are pending?').",
        entities=[i.id for i in incidents] + [a.id for a in approvals] + down,
        facts={
            "incidents": len(incidents),
            "approvals": len(approvals),
            "failed_jobs": jobs[JobStatus.FAILED],
            "queued_jobs": jobs[JobStatus.QUEUED],
            "nodes_down": as_json(down),
            "unready_deployments": len(unready),
        },
        lookups=[lookup("incidents"), lookup("pending_approvals"), lookup("list_jobs")],
    )


def models_per_team(view: FleetView, query: Query) -> Reply:
    """How many models each team owns (of an environment)."""
    counts = Counter(m.owner for m in view.models.values() if query.env in (None, m.env))
    lines = [f"- {team}: {n}" for team, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    scope = f" in {query.env.value}" if query.env else ""
    return Reply(
        text=f"{sum(counts.values())} model(s){scope} owned by {len(counts)} team(s):\n"
        + "\n".join(lines),
        entities=sorted(counts),
        facts={"per_team": dict(counts)},
        lookups=[lookup("list_models", env=query.env)],
    )


BRIEFING_INTENTS: tuple[Intent, ...] = (
    Intent(
        "briefing",
        "What needs my attention?",
        lambda q: not q.models and q.has(_BRIEFING),
        briefing,
    ),
    Intent(
        "unhealthy",
        "Which deployments are not ready?",
        lambda q: not q.models and q.has(_UNHEALTHY) and not q.has(r"\bnodes?\b"),
        unhealthy,
    ),
    Intent(
        "models_per_team",
        "How many models does each team own?",
        lambda q: q.has(r"\bmodels?\b") and q.has(_PER_TEAM),
        models_per_team,
    ),
)
