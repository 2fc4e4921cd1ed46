"""Tier-0 intents over decisions and their record: who decided what; is the audit log intact."""

import re

from agents.assistant.context import FleetView
from agents.assistant.history import time_range
from agents.assistant.intent import Intent, Reply, as_json, lookup
from agents.assistant.query import Query

_DECIDED = (
    r"\bdid [\w.@-]+ (approve|reject|decide)|\b(approved|rejected|decided) by\b|"
    r"how many (approvals|requests) (did|has) \w+|who (approved|rejected) (what|which)|"
    r"(approved|rejected|decided) (requests|approvals)|decisions? (of|by|made)"
)
_PERSON = re.compile(
    r"\bdid ([\w.@-]+) (?:approve|reject|decide)|\b(?:approved|rejected|decided) by ([\w.@-]*\w)"
)
"""Who the question asks about ("what did bob approve", "approved by risk.lead")."""
_STATUS = {"approved": r"\bapprov(e|ed)\b", "rejected": r"\breject(ed)?\b"}
_INTACT = (
    r"audit (log|trail|chain|records?)s? .*\b(intact|valid|verif|tamper|ok\b|consistent|trust)|"
    r"(intact|tamper\w*|verify|verified) .*audit|\btamper(ed|ing)?\b"
)


def decisions(view: FleetView, query: Query) -> Reply:
    """Approval requests decided (by a person, within the days asked)."""
    queue = view.ctx.approvals
    if queue is None:
        return Reply(text="No approval queue in this world.", facts={"decisions": [], "count": 0})
    now = view.ctx.clock()
    decided = [r for r in queue.requests(now) if r.status in ("approved", "rejected")]
    named = _PERSON.search(query.text)
    who = next((g for g in named.groups() if g), None) if named else None
    status = [s for s, word in _STATUS.items() if query.has(word)]
    span = time_range(query.text, now)
    rows = [
        r
        for r in decided
        if (who is None or r.decided_by == who)
        and (len(status) != 1 or r.status == status[0])
        and r.decided_at is not None
        and (span.since is None or r.decided_at >= span.since)
    ]
    lines = [
        f"- {r.id}: {r.action} on {', '.join(r.models)} {r.status} by {r.decided_by} "
        f"at {r.decided_at:%Y-%m-%d %H:%M}" + (f" ({r.note})" if r.note else "")
        for r in rows
    ]
    scope = (f" by {who}" if who else "") + f" {span.label}"
    what = status[0] if len(status) == 1 else "decided"
    return Reply(
        text=f"{len(rows)} request(s) {what}{scope}"
        + (":\n" + "\n".join(lines) if lines else ": none."),
        entities=sorted({m for r in rows for m in r.models}) + [r.id for r in rows],
        facts={
            "decisions": as_json(
                [{"id": r.id, "status": r.status, "by": r.decided_by} for r in rows]
            ),
            "count": len(rows),
            "by": who,
        },
        lookups=[lookup("approval_requests", by=who)],
    )


def audit_intact(view: FleetView, query: Query) -> Reply:
    """Whether the audit log's chain, signatures and witnesses verify."""
    audit = view.ctx.audit
    if audit is None:
        return Reply(text="No audit log in this world.", facts={"ok": None})
    result = audit.verify()
    if result.ok:
        text = (
            f"The audit log is intact: {result.records} records, chain, signatures and "
            f"witnesses verify (head {result.head[:16]})."
        )
    else:
        text = "The audit log does NOT verify:\n" + "\n".join(f"- {p}" for p in result.problems)
    text += "".join(f"\nWarning: {w}" for w in result.warnings)
    return Reply(
        text=text,
        facts={"ok": result.ok, "records": result.records, "problems": as_json(result.problems)},
        lookups=[lookup("audit_verify", "ok" if result.ok else "failed")],
    )


DECISION_INTENTS: tuple[Intent, ...] = (
    Intent("audit_intact", "Is the audit log intact?", lambda q: q.has(_INTACT), audit_intact),
    Intent(
        "decisions",
        "What did bob approve this week?",
        lambda q: not q.models and q.has(_DECIDED),
        decisions,
    ),
)
