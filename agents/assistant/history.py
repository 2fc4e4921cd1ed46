"""What changed in the fleet: alias moves (promotions, rollbacks) and audited actions.

Read from the registry's alias history and the audit log, in a time range taken from the
question ("last 24 hours", "since Monday", "yesterday", "this week"), by the world's clock.
The initial seeding of a demo world ("seeded") is the starting state, not a change.
"""

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from agents.assistant.context import FleetView
from tools.domain import Environment
from tools.domain.models import AliasChange

ChangeKind = Literal["promotion", "rollback", "alias_move", "action", "approval", "incident"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(
    r"\b(?:last|past|previous|in the last|within the last)\s+(\d+)?\s*"
    r"(h|hrs?|hours?|d|days?|w|weeks?|months?)\b|\b(\d+)\s*(h|hrs?|hours?)\b"
)
_UNIT_HOURS = {"h": 1, "d": 24, "w": 168, "m": 720}
_AUDITED: dict[str, ChangeKind] = {
    "action": "action",
    "action_failed": "action",
    "approved": "approval",
    "rejected": "approval",
    "approval_requested": "approval",
    "approval_expired": "approval",
    "incident_acknowledged": "incident",
    "incident_closed": "incident",
}


class TimeRange(BaseModel):
    """Changes at or after `since` (None: all recorded)."""

    since: datetime | None
    label: str


class ChangeEvent(BaseModel):
    """One change: who did what to which model, when and why."""

    at: datetime
    kind: ChangeKind
    model: str | None
    env: Environment | None
    actor: str
    what: str
    reason: str
    source: Literal["alias_history", "audit"]


def time_range(text: str, now: datetime, default_days: int | None = None) -> TimeRange:
    """The time range a (lower-case) question asks about, by the world's clock `now`."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for i, day in enumerate(WEEKDAYS):
        if re.search(rf"\bsince\s+(last\s+)?{day}\b|\bon\s+{day}\b", text):
            back = (now.weekday() - i) % 7
            return TimeRange(since=midnight - timedelta(days=back), label=f"since {day.title()}")
    if re.search(r"\byesterday\b", text):
        return TimeRange(since=midnight - timedelta(days=1), label="since yesterday")
    if re.search(r"\btoday\b|\bthis morning\b", text):
        return TimeRange(since=midnight, label="today")
    if re.search(r"\bthis week\b", text):
        return TimeRange(since=midnight - timedelta(days=now.weekday()), label="this week")
    match = _SPAN.search(text)
    if match is not None:
        count = int(match.group(1) or match.group(3) or 1)
        unit = (match.group(2) or match.group(4))[0]
        hours = count * _UNIT_HOURS[unit]
        return TimeRange(since=now - timedelta(hours=hours), label=_label(hours))
    if re.search(r"\b(overnight|last night)\b", text):
        return TimeRange(since=now - timedelta(hours=12), label="in the last 12 hours")
    if default_days is not None:
        return TimeRange(
            since=now - timedelta(days=default_days), label=f"in the last {default_days} days"
        )
    return TimeRange(since=None, label="ever recorded")


def _label(hours: int) -> str:
    if hours % 24 == 0 and hours > 24:
        return f"in the last {hours // 24} days"
    return f"in the last {hours} hours"


def fleet_changes(
    view: FleetView,
    since: datetime | None,
    *,
    env: Environment | None = None,
    models: list[str] | None = None,
    kinds: set[str] | None = None,
) -> list[ChangeEvent]:
    """Alias moves and audited actions at or after `since`, newest first."""
    moves = [_alias_event(view, c) for c in view.ctx.registry.alias_history()]
    events = [e for e in moves if e is not None]
    audit = view.ctx.audit
    if audit is not None:
        for r in audit.records():
            kind: ChangeKind | None = _AUDITED.get(r.kind)
            if kind is None:
                continue
            data = r.data
            reason = str(data.get("reason") or data.get("note") or data.get("reasons") or "")
            what = str(data.get("action") or data.get("detail") or r.kind).replace("_", " ")
            model = r.model
            events.append(
                ChangeEvent(
                    at=r.at,
                    kind=kind,
                    model=model,
                    env=_env(view, model),
                    actor=r.actor,
                    what=f"{r.kind.replace('_', ' ')}: {what}",
                    reason=reason,
                    source="audit",
                )
            )
    return sorted(
        (
            e
            for e in events
            if (since is None or e.at >= since)
            and (env is None or e.env is env)
            and (not models or (e.model is not None and e.model in models))
            and (kinds is None or e.kind in kinds)
        ),
        key=lambda e: e.at,
        reverse=True,
    )


def _env(view: FleetView, model: str | None) -> Environment | None:
    m = view.models.get(model) if model else None
    return m.env if m else None


def _alias_event(view: FleetView, c: AliasChange) -> ChangeEvent | None:
    if c.reason == "seeded":
        return None
    kind: ChangeKind = "alias_move"
    if "roll" in c.reason.lower() or "revert" in c.reason.lower():
        kind = "rollback"
    elif c.alias == "champion" and c.old_version is not None and c.new_version is not None:
        kind = "rollback" if c.new_version < c.old_version else "promotion"
    elif c.alias == "champion" and c.new_version is not None:
        kind = "promotion"
    old = f"v{c.old_version}" if c.old_version is not None else "unset"
    new = f"v{c.new_version}" if c.new_version is not None else "unset"
    return ChangeEvent(
        at=c.at,
        kind=kind,
        model=c.model,
        env=_env(view, c.model),
        actor=c.actor,
        what=f"{kind.replace('_', ' ')}: @{c.alias} {old} -> {new}",
        reason=c.reason,
        source="alias_history",
    )
