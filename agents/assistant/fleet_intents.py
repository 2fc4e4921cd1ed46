"""Tier-0 intents over nodes, jobs, policy texts, approvals and what changed in the fleet.

Each answers from the same facts as the catalogue's tools (`list_nodes`, `get_job`,
`policy_text`, `low_carbon_window`) and the history in `history.py`.
"""

import re

from agents.assistant import ops_intents
from agents.assistant.context import FleetView
from agents.assistant.history import fleet_changes, time_range
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.query import Query
from tools.catalog.capacity_tools import WindowArgs, low_carbon_window
from tools.catalog.node_tools import node_gpus
from tools.domain import JobStatus
from tools.errors import NotFoundError

JOB_ID = re.compile(r"\bjob-\d+\b")
APPROVAL_ID = re.compile(r"\bapr-[0-9a-z]+\b")
_DOWN = r"\bdown\b|not ready|notready|unhealthy|offline|\blost\b|failed|broken|dead"
_STATUS_WORDS = {
    JobStatus.QUEUED: r"queued|waiting|pending|stuck",
    JobStatus.RUNNING: r"running|in progress",
    JobStatus.FAILED: r"\bfail|crash",
    JobStatus.SUCCEEDED: r"succeeded|finished|completed|done",
}


def nodes(view: FleetView, query: Query) -> Reply:
    """Nodes that are down, or the idle GPUs of each ready node (per environment)."""
    rows = node_gpus(view.ctx.cluster, query.env)
    if query.pools:
        rows = [n for n in rows if n.pool in query.pools]
    gpu_type = re.search(r"\b(h100|a100|l4)\b", query.text)
    if gpu_type:
        rows = [n for n in rows if n.gpu_type.lower().startswith(gpu_type.group(1))]
    scope = f" in {query.env.value}" if query.env else ""
    if query.has(r"health|overview|status|state of"):
        lines = [
            f"- {n.node} ({n.pool}): {'ready' if n.ready else 'DOWN (not ready)'}, "
            f"{len(n.idle_gpus)} of {n.gpus} GPUs idle, {n.allocated_gpu_eq:g} GPU-eq allocated"
            for n in rows
        ]
        not_ready = [n.node for n in rows if not n.ready]
        return Reply(
            text=f"{len(rows)} node(s){scope}, {len(not_ready)} down:\n" + "\n".join(lines),
            entities=[n.node for n in rows],
            facts={"nodes": as_json(rows), "down": as_json(not_ready)},
            lookups=[lookup("list_nodes", env=query.env)],
        )
    if query.has(_DOWN) and not query.has(r"\bidle\b|\bfree\b|unused"):
        down = [n for n in rows if not n.ready]
        lines = [f"- {n.node} ({n.pool}, {n.env.value}): {n.gpus}x {n.gpu_type}" for n in down]
        return Reply(
            text=f"{len(down)} node(s){scope} down (not ready)"
            + (":\n" + "\n".join(lines) if lines else ": none, every node is ready."),
            entities=[n.node for n in down],
            facts={"down": as_json([n.node for n in down]), "count": len(down)},
            lookups=[lookup("list_nodes", "ok" if down else "no_data", down_only=True)],
        )
    if query.has(r"reserved|allocated|in use|busy|occupied"):
        used = [n for n in rows if n.allocated_gpu_eq > 0]
        lines = [
            f"- {n.node} ({n.pool}): {n.allocated_gpu_eq:g} of {n.gpus} GPU-eq allocated"
            for n in used
        ]
        return Reply(
            text=f"{len(used)} node(s){scope} with GPUs allocated"
            + (":\n" + "\n".join(lines) if lines else ": none."),
            entities=[n.node for n in used],
            facts={"allocated": as_json(used), "count": len(used)},
            lookups=[lookup("list_nodes", "ok" if used else "no_data", env=query.env)],
        )
    idle = [n for n in rows if n.ready and n.idle_gpus]
    down_names = [n.node for n in rows if not n.ready]
    lines = [
        f"- {n.node} ({n.pool}, {n.gpu_type}): {len(n.idle_gpus)} of {n.gpus} GPUs idle "
        f"(GPU {', '.join(map(str, n.idle_gpus))})"
        for n in idle
    ]
    total = sum(len(n.idle_gpus) for n in idle)
    note = f"\nNot counted: {', '.join(down_names)} (down)." if down_names else ""
    return Reply(
        text=f"{total} whole GPU(s){scope} idle (nothing allocated) on {len(idle)} ready node(s)"
        + (":\n" + "\n".join(lines) if lines else ".")
        + note,
        entities=[n.node for n in idle],
        facts={"idle_by_node": as_json(idle), "idle_gpus": total, "down": as_json(down_names)},
        lookups=[lookup("list_nodes", "ok" if idle else "no_data", with_idle_gpus=True)],
    )


def jobs(view: FleetView, query: Query) -> Reply:
    """One job's state (job-00004), or the jobs in a state / namespace / environment."""
    cluster = view.ctx.cluster
    wanted = JOB_ID.findall(query.text)
    if wanted:
        lines, entities, found = [], [], []
        for job_id in wanted:
            try:
                j = cluster.job(job_id)
            except NotFoundError:
                lines.append(f"There is no job {job_id}; `lotsen cluster jobs` lists them.")
                continue
            where = f" on {j.placement.node}" if j.placement else ""
            why = f" ({j.reason})" if j.reason else ""
            lines.append(
                f"{j.id}: {j.status.value}{where}{why}; retrains {j.spec.model} in "
                f"{j.spec.namespace}, submitted {j.submitted_at:%Y-%m-%d %H:%M}"
            )
            entities += [j.id, j.spec.model]
            found.append(j)
        return Reply(
            text="\n".join(lines),
            entities=entities,
            facts={"jobs": as_json([{"id": j.id, "status": j.status.value} for j in found])},
            lookups=[lookup("get_job", job_id=w) for w in wanted],
        )
    statuses = [s for s, pattern in _STATUS_WORDS.items() if query.has(pattern)]
    rows = [
        j
        for j in cluster.jobs()
        if (not statuses or j.status in statuses)
        and (not query.namespaces or j.spec.namespace in query.namespaces)
        and (not query.models or j.spec.model in query.models)
        and (query.env is None or j.spec.namespace.endswith(f"-{query.env.value}"))
    ]
    lines = [
        f"- {j.id}: {j.status.value}, {j.spec.model} in {j.spec.namespace}"
        + (f" on {j.placement.node}" if j.placement else "")
        + (f" ({j.reason})" if j.reason else "")
        for j in rows
    ]
    label = "/".join(s.value for s in statuses) + " " if statuses else ""
    return Reply(
        text=f"{len(rows)} {label}job(s)" + (":\n" + "\n".join(lines) if lines else ": none."),
        entities=[e for j in rows for e in (j.id, j.spec.model)],
        facts={"jobs": [j.id for j in rows], "count": len(rows)},
        lookups=[lookup("list_jobs", "ok" if rows else "no_data")],
    )


def greenest(view: FleetView, query: Query) -> Reply:
    """The lowest-carbon start for each queued job (carbon curve of the capacity config)."""
    named = JOB_ID.findall(query.text)
    queued = [
        j
        for j in view.ctx.cluster.jobs()
        if ((j.id in named) if named else (j.status is JobStatus.QUEUED))
    ]
    tools = view.ctx.tools()
    if not queued:
        hours = 1.0
        result = low_carbon_window.func(tools, WindowArgs(hours=hours))
        data = result.data if isinstance(result.data, dict) else {}
        return Reply(
            text="No job is queued now. For a 1-hour job the lowest-carbon start in the next "
            f"24 hours is {data.get('start')} ({data.get('g_co2e_per_kwh')} gCO2e/kWh, "
            f"{data.get('starting_now_g_co2e_per_kwh')} if started now).",
            facts={"queued": [], "window": as_json(data)},
            lookups=[lookup("list_jobs", "no_data", status="queued"), lookup("low_carbon_window")],
        )
    lines, windows = [], {}
    for j in queued:
        hours = max(j.spec.duration_s / 3600, 0.1)
        result = low_carbon_window.func(tools, WindowArgs(hours=min(hours, 24.0)))
        data = result.data if isinstance(result.data, dict) else {}
        windows[j.id] = data
        lines.append(
            f"- {j.id} ({j.spec.model}, {hours:g} h): start {data.get('start')} at "
            f"{data.get('g_co2e_per_kwh')} gCO2e/kWh "
            f"(now: {data.get('starting_now_g_co2e_per_kwh')})"
        )
    return Reply(
        text=f"Greenest start for {len(queued)} queued job(s), from the grid's carbon curve:\n"
        + "\n".join(lines),
        entities=[e for j in queued for e in (j.id, j.spec.model)],
        facts={"windows": as_json(windows)},
        lookups=[lookup("list_jobs", status="queued"), lookup("low_carbon_window")],
    )


def policy(view: FleetView, query: Query) -> Reply:
    """What a policy checks: its title, rationale, reference, severity and scope."""
    from tools.policy.spec import load_policies

    rules = list(view.ctx.policies) if view.ctx.policies is not None else load_policies()
    known = {p.id: p for p in rules}
    lines, found = [], []
    for pid in query.policies:
        p = known.get(pid)
        if p is None:
            lines.append(f"There is no policy {pid}; known: {', '.join(sorted(known))}.")
            continue
        found.append(pid)
        when = "; ".join(f"{k} in {', '.join(v)}" for k, v in p.when.items())
        lines.append(
            f"{p.id} ({p.severity}, applies to {p.scope}{', when ' + when if when else ''}): "
            f"{p.title}. Why: {p.rationale} Reference: {p.reference}."
        )
    return Reply(
        text="\n".join(lines),
        entities=found,
        facts={"policies": as_json(found)},
        lookups=[lookup("policy_text", policy_id=p) for p in query.policies],
    )


def approval(view: FleetView, query: Query) -> Reply:
    """One approval request: its state and why it waits (who may decide, what the gate said)."""
    queue = view.ctx.approvals
    wanted = APPROVAL_ID.findall(query.text)
    if queue is None:
        return Reply(
            text=f"There is no approval request {', '.join(wanted)}: no approval was ever "
            "requested in this world.",
            facts={"approvals": [], "unknown_approval": wanted},
        )
    lines, entities = [], []
    for request_id in wanted:
        try:
            a = queue.get(request_id)
        except NotFoundError:
            lines.append(f"There is no approval request {request_id}; `lotsen approvals list`.")
            continue
        entities += [a.id, *a.models]
        if a.status == "pending":
            lines.append(
                f"{a.id} waits for a human: {a.action} on {', '.join(a.models)} was proposed by "
                f"{a.proposer}; the gate said {a.verdict} because {'; '.join(a.reasons)}. "
                f"Anyone with the approver role except {a.proposer} (four eyes) can decide it "
                f"before {a.expires_at:%Y-%m-%d %H:%M} (`lotsen approvals approve|reject`)."
            )
        else:
            lines.append(
                f"{a.id} is {a.status}"
                + (f" by {a.decided_by}" if a.decided_by else "")
                + (f" ({a.note})" if a.note else "")
                + f": {a.action} on {', '.join(a.models)}."
            )
    return Reply(
        text="\n".join(lines),
        entities=entities,
        facts={"approvals": wanted},
        lookups=[lookup("pending_approvals", id=w) for w in wanted],
    )


_KINDS = {
    "rollback": r"roll(ed)?[- ]?backs?|revert",
    "promotion": r"promot|deploy",
    "approval": r"approv|reject",
    "action": r"\bscal(e|ed|ing)\b|action",
}


def changes(view: FleetView, query: Query) -> Reply:
    """What changed (fleet-wide or for named models) in a time range, with who and why."""
    now = view.ctx.clock()
    span = time_range(query.text, now)
    kinds = {k for k, pattern in _KINDS.items() if query.has(pattern)} or None
    if query.models and kinds is None and span.since is None:
        return ops_intents.changes(view, query)  # one model: aliases, audit, jobs, versions
    events = fleet_changes(
        view, span.since, env=query.env, models=list(query.models) or None, kinds=kinds
    )
    actors = {e.actor for e in events if re.search(rf"\b{re.escape(e.actor)}\b", query.text)}
    if actors:
        events = [e for e in events if e.actor in actors]
    scope = " ".join(
        x
        for x in (
            f"for {', '.join(query.models)}" if query.models else "",
            f"in {query.env.value}" if query.env else "",
            span.label,
        )
        if x
    )
    lines = [
        f"- {e.at:%Y-%m-%d %H:%M} {e.model or '-'}: {e.what} by {e.actor}"
        + (f" (why: {e.reason})" if e.reason else "")
        for e in events[:30]
    ]
    what = "/".join(sorted(kinds)) if kinds else "change"
    return Reply(
        text=f"{len(events)} {what}(s) {scope}"
        + (":\n" + "\n".join(lines) if lines else ": none recorded."),
        entities=list(dict.fromkeys(e.model for e in events if e.model)),
        facts={"changes": as_json(events[:30]), "count": len(events), "range": span.label},
        lookups=[lookup("recent_changes", "ok" if events else "no_data", since=span.since)],
    )


FLEET_INTENTS: tuple[Intent, ...] = (
    Intent(
        "approval_status",
        "Why is apr-1a2b3c4d5e waiting?",
        lambda q: APPROVAL_ID.search(q.text) is not None,
        approval,
    ),
    Intent(
        "greenest_time",
        "When is the greenest time for the queued jobs?",
        lambda q: q.has(
            r"greenest|lowest[- ]carbon|low[- ]carbon|cleanest|carbon[- ]aware|least co2|"
            r"best time to (run|train|schedule)|carbon intensity|grid intensity"
        ),
        greenest,
    ),
    Intent("job_status", "Status of job-00004?", lambda q: JOB_ID.search(q.text) is not None, jobs),
    Intent(
        "policy_text",
        "What does SEG-05 check?",
        lambda q: (
            bool(q.policies)
            and q.has(r"what (does|is)|explain|mean|check|require|say|about|describe")
            and not q.has(r"\bfail|violat|which (models|subjects)|who fails")
        ),
        policy,
    ),
    Intent(
        "nodes",
        "Which GPUs are idle in test?",
        lambda q: (
            not q.models
            and q.has(
                r"\bnodes?\b|which (\w+ )?gpus?|what gpus?|list (the )?(idle |free )?gpus|"
                r"gpus? .*\b(down|reserved)\b|where .*idle gpus?"
            )
        ),
        nodes,
    ),
    Intent(
        "jobs",
        "Which jobs are queued?",
        lambda q: q.has(
            r"\bjobs?\b|training runs?|(retrain(ing)?|training|job) queue|\bkueue\b|"
            r"what'?s queued|\bworkloads?\b"
        ),
        jobs,
    ),
    Intent(
        "changes",
        "What changed in prod in the last 24 hours?",
        lambda q: (
            q.has(
                r"what (has |have )?changed|\bchanges?\b|rolled back|roll-?backs?\b|"
                r"promot(ed|ions)|what happened|anything (new|changed)|who (approved|scaled)|"
                r"was .* (rolled|promoted|scaled)|deploy(s|ments)? (today|yesterday|this week)|"
                r"what did \w+ (do|change)|got (deployed|promoted|rolled back)|"
                r"audit (trail|log|records?|history) (for|of)|why (was|did|got) .*\bretrained\b"
            )
            and not q.has(r"alias(es)? history|history of")
            and not (q.models and q.has(r"challenger|champion|compared|versus|\bvs\b"))
        ),
        changes,
    ),
)
