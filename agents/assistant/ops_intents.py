"""Tier-0 intents over operations state: data incidents, approvals, recent changes."""

from agents.assistant import facts, ops_facts
from agents.assistant.context import FleetView
from agents.assistant.intent import Reply, as_json, lookup, per_model
from agents.assistant.query import Query

NO_STORE = (
    "No remediation state in this world yet (`lotsen remediate --auto` creates it), "
    "so there is nothing of that kind to show."
)


def incidents(view: FleetView, query: Query) -> Reply:
    """Open data incidents opened by the remediation workflow."""
    found = ops_facts.open_data_incidents(view)
    if found is None:
        return Reply(text=NO_STORE, facts={"incidents": [], "count": 0})
    lines = [
        f"- {i.id}: pipeline {i.pipeline or '-'} (owner {i.owner or '-'}), "
        f"{len(i.models)} model(s), {i.cause}"
        for i in found
    ]
    return Reply(
        text=f"{len(found)} open data incident(s)" + (":\n" + "\n".join(lines) if lines else "."),
        entities=sorted({e for i in found for e in (i.pipeline, *i.models) if e}),
        facts={"incidents": as_json(found), "count": len(found)},
        lookups=[lookup("open_data_incidents", "ok" if found else "no_data")],
    )


def approvals(view: FleetView, query: Query) -> Reply:
    """Approval requests waiting for a human."""
    found = ops_facts.pending_approvals(view)
    if found is None:
        return Reply(text=NO_STORE, facts={"approvals": [], "count": 0})
    lines = [
        f"- {a.id}: {a.action} on {', '.join(a.models)} (proposed by {a.proposer}; "
        f"{'; '.join(a.reasons)}), expires {a.expires_at:%Y-%m-%d %H:%M}"
        for a in found
    ]
    hint = "\nDecide with `lotsen approvals approve|reject ID --as NAME`." if found else ""
    return Reply(
        text=f"{len(found)} approval request(s) pending"
        + (":\n" + "\n".join(lines) if lines else ": none.")
        + hint,
        entities=sorted({m for a in found for m in a.models}),
        facts={"approvals": as_json(found), "count": len(found)},
        lookups=[lookup("pending_approvals", "ok" if found else "no_data")],
    )


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "-"


def _changes(view: FleetView, query: Query, model: str) -> Reply:
    f = facts.recent_changes(view, model, query.days)
    lines = [
        f"- {c.at:%Y-%m-%d %H:%M} alias {c.alias}: {_v(c.old_version)} -> "
        f"{_v(c.new_version)} by {c.actor} ({c.reason})"
        for c in f.alias_moves
    ]
    lines += [f"- audit #{r['seq']} {r['at']}: {r['kind']} by {r['actor']}" for r in f.audit]
    lines += [f"- job {j['id']} in {j['namespace']}: {j['status']}" for j in f.jobs]
    stale = {k: v for k, v in f.serving_versions.items() if f.champion not in (None, v)}
    lines += [f"- {k} serves v{v} while champion is v{f.champion}" for k, v in stale.items()]
    window = f" in the last {query.days} days" if query.days is not None else ""
    return Reply(
        text=f"Changes for {model}{window}: "
        + (f"{len(lines)} item(s):\n" + "\n".join(lines) if lines else "none recorded."),
        entities=[model, *(k.split("/")[0] for k in f.serving_versions)],
        facts={"changes": as_json(f)},
        lookups=[
            lookup("alias_history", name=model),
            lookup("audit_records", model=model),
            lookup("list_jobs", model=model),
        ],
    )


changes = per_model(_changes)
