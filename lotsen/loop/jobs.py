"""What one tick of the operating loop does, each step safe to run again after a crash.

- expire stale approval requests (audited once each: `approval_expired`);
- finish remediation runs a crashed leader left half-way (`lotsen remediate --resume`);
- scan the models that are due, record their incidents and remediate them on the same path
  as `lotsen remediate --auto` (a plan that needs a human is queued, never executed);
- re-scan compliance after every change (an executed action or a re-seed in the audit log);
- write the daily capacity report (once per day of the world's clock);
- queue notifications of new incidents and pending approval requests.

Every side effect is keyed: remediation runs by incident occurrence, audit records by
idempotency key, notifications by event; a tick re-run after a crash repeats nothing.
"""

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from lotsen.loop.notify import Notifier
from lotsen.loop.schedule import due, intervals
from memory.loop_state import LoopState
from memory.notifications import NotificationOutbox
from world.world import World

if TYPE_CHECKING:
    from tools.drift.incidents import Incident

CHANGES = frozenset({"action", "fleet_reseeded"})
"""Audit record kinds that change what compliance judges (an executed action, a re-seed)."""
COMPLIANCE_CURSOR = "compliance"
EXPIRY_LOOKBACK = timedelta(days=7)
REPORTS_DIR = "reports"
COMPLIANCE_FILE = "compliance_latest.json"


class TickReport(BaseModel):
    """What one tick did."""

    at: datetime
    """The world's clock when the tick began."""
    expired: list[str] = Field(default_factory=list)
    resumed: list[str] = Field(default_factory=list)
    scanned: list[str] = Field(default_factory=list)
    """Models scanned because they were due."""
    incidents: list[str] = Field(default_factory=list)
    remediation: list[str] = Field(default_factory=list)
    """`incident: action status` per incident handled."""
    compliance_failures: int | None = None
    """Failing findings of this tick's compliance re-scan (None: no change, no re-scan)."""
    capacity_report: str | None = None
    notifications_queued: int = 0

    def summary(self) -> str:
        """One line for logs and `lotsen loop status`."""
        parts = [f"{len(self.scanned)} model(s) scanned", f"{len(self.incidents)} incident(s)"]
        if self.remediation:
            parts.append(f"{len(self.remediation)} remediated")
        if self.resumed:
            parts.append(f"{len(self.resumed)} resumed")
        if self.expired:
            parts.append(f"{len(self.expired)} approval(s) expired")
        if self.compliance_failures is not None:
            parts.append(f"compliance re-scanned ({self.compliance_failures} failing)")
        if self.capacity_report:
            parts.append("capacity report written")
        if self.notifications_queued:
            parts.append(f"{self.notifications_queued} notification(s) queued")
        return ", ".join(parts)


def expire_approvals(world: World, actor: str) -> list[str]:
    """Mark pending requests past their expiry expired; audit each once."""
    now = world.clock()
    expired = []
    for request in world.approvals.requests(now, "expired"):  # marks lapsed ones first
        if request.expires_at < now - EXPIRY_LOOKBACK:
            continue
        key = f"approval_expired:{request.id}"
        if world.audit.find(key) is None:
            world.audit.append(
                "approval_expired",
                actor=actor,
                incident=request.incident_id,
                data={"approval": request.id, "agent": request.agent, "action": request.action},
                idempotency_key=key,
            )
            expired.append(request.id)
    return expired


def scan_and_remediate(
    world: World,
    state: LoopState,
    notifier: Notifier,
    report: TickReport,
    *,
    resume_first: bool,
) -> None:
    """Resume interrupted runs, scan the due models, remediate their incidents."""
    from agents.remediation.runner import remediate, remediated, resume
    from world.remediation import open_workflow

    settings = world.settings
    now = report.at
    due_models = _due_models(world, state, now)
    needs_resume = resume_first or bool(world.runs.runs("running"))
    if not due_models and not needs_resume:
        return
    incidents = _scan(world, due_models, now) if due_models else []
    with open_workflow(world, settings.loop_user) as wf:
        if needs_resume:
            report.resumed = [o.incident_id for o in resume(wf.world, wf.graph)]
        done = remediated(incidents, wf.world)
        for incident in incidents:
            report.incidents.append(incident.id)
            if incident.id not in done:
                report.notifications_queued += notifier.incident(incident, now)
        for o in remediate(incidents, wf.world, wf.graph, wf.proposer):
            if not o.skipped:
                report.remediation.append(f"{o.incident_id}: {o.action} {o.status}")
    state.mark_scanned(due_models, now)  # after remediation: a crash before scans them again
    report.scanned = due_models


def _due_models(world: World, state: LoopState, now: datetime) -> list[str]:
    models = world.registry.list_models()
    watched = world.runs.watch_intervals()
    every = intervals(models, world.settings.loop_scan_every_hours, watched)
    return due(every, state.last_scans(), now)


def _scan(world: World, due_models: list[str], now: datetime) -> "list[Incident]":
    """The incidents touching a due model, recorded (others wait for their models' turn)."""
    from world.monitoring import scan_fleet

    if world.telemetry.latest_window() is None:
        return []
    from lotsen.service.metrics import observe_scan

    wanted = set(due_models)
    scan = scan_fleet(world, record=False)
    observe_scan(scan.seconds, scan.models)  # /metrics of a server running this loop
    mine = [i for i in scan.incidents if wanted.intersection(i.models)]
    return world.runs.incidents.observe(mine, now)


def rescan_compliance(world: World, state: LoopState, actor: str) -> int | None:
    """Re-scan compliance if the audit log shows a change since the last re-scan.

    Returns the failing findings, or None when nothing changed. The report is written to
    `<world>/compliance_latest.json`; an audit record (keyed by the log position it covers)
    says when and what it found.
    """
    from world.compliance import scan

    cursor = state.cursor(COMPLIANCE_CURSOR)
    head = world.audit.head().records
    if cursor is not None and head <= cursor:
        return None
    changed = cursor is None or any(
        r.kind in CHANGES for r in world.audit.records() if r.seq > cursor
    )
    if not changed:
        state.set_cursor(COMPLIANCE_CURSOR, head)
        return None
    result = scan(world)
    _write_json(world.files.root / COMPLIANCE_FILE, result.model_dump_json(indent=2))
    failures = len(result.failures())
    record = world.audit.append(
        "compliance_rescan",
        actor=actor,
        data={"through_record": head, "findings": len(result.findings), "failing": failures},
        idempotency_key=f"loop:compliance:{head}",
    )
    state.set_cursor(COMPLIANCE_CURSOR, record.seq)
    return failures


def daily_capacity_report(world: World, actor: str, now: datetime) -> str | None:
    """Write the day's capacity report once per day of the world's clock; return its path."""
    from tools.capacity.usage import capacity_report

    day = now.date().isoformat()
    key = f"loop:capacity:{day}"
    if world.audit.find(key) is not None:
        return None
    result = capacity_report(world.cluster, world.capacity)
    path = world.files.root / REPORTS_DIR / f"capacity-{day}.json"
    _write_json(path, result.model_dump_json(indent=2))
    idle = sum(u.idle_gpu_hours_per_day for u in result.pools)
    cost = sum(u.cost_per_day for u in result.pools)
    world.audit.append(
        "capacity_report",
        actor=actor,
        data={"day": day, "file": str(path), "idle_gpu_hours_per_day": idle, "cost_per_day": cost},
        idempotency_key=key,
    )
    return str(path)


def notify_pending(world: World, notifier: Notifier) -> int:
    """Queue every pending approval request not queued before (any agent's)."""
    now = world.clock()
    return sum(notifier.approval(r, now) for r in world.approvals.requests(now, "pending"))


def audit_failed_deliveries(world: World, outbox: NotificationOutbox, actor: str) -> None:
    """Record each notification that ran out of attempts in the audit log (once)."""
    for d in outbox.deliveries("failed"):
        world.audit.append(
            "notification_failed",
            actor=actor,
            data={
                "event": d.event,
                "channel": d.channel,
                "attempts": d.attempts,
                "error": d.last_error or "",
            },
            idempotency_key=f"notification_failed:{d.event}:{d.channel}",
        )


def _write_json(path: Path, text: str) -> None:
    """Write atomically (a crash leaves the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
