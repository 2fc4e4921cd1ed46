"""Carbon-aware scheduling of queued retraining jobs: the cleanest window before the deadline.

Each queued job gets the start (now, or a full hour within its deadline) that minimises its
emissions: energy x the carbon curve over its run. A start is allowed only if, for the whole
run, the namespace's quota and the free slots of the job's kind hold it next to what is
already running and what was scheduled before it (earliest deadline first). The baseline is
what the cluster does by itself: start at the first moment it fits.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from tools.capacity.energy import CapacityConfig
from tools.capacity.rightsizing import slot_equivalents
from tools.capacity.usage import job_kwh
from tools.cluster.sim.placement import tolerates
from tools.domain import Job, JobStatus, Namespace, Node

EPSILON = 1e-9


class ScheduledJob(BaseModel):
    """Where a queued job should run, and what that saves."""

    job_id: str
    namespace: str
    model: str
    hours: float
    deadline: datetime
    start: datetime | None
    """None: no window before the deadline (see reason)."""
    kwh: float
    g_co2e: float | None
    baseline_start: datetime | None
    """First moment it fits (what FIFO admission would do)."""
    baseline_g_co2e: float | None
    saving_g_co2e: float
    reason: str


@dataclass
class _Use:
    start: datetime
    end: datetime
    namespace: str
    label: str
    env: str
    equivalents: float


def schedule_jobs(
    jobs: list[Job],
    nodes: list[Node],
    namespaces: list[Namespace],
    now: datetime,
    config: CapacityConfig,
) -> list[ScheduledJob]:
    """The lowest-carbon feasible start for every queued job, earliest deadline first."""
    ns_by_name = {ns.name: ns for ns in namespaces}
    held = _deployment_use(nodes)
    uses = [_running_use(j, ns_by_name, now) for j in jobs if j.status is JobStatus.RUNNING]
    queued = [j for j in jobs if j.status is JobStatus.QUEUED]
    out = []
    for job in sorted(queued, key=lambda j: (_deadline(j, config), j.submitted_at, j.id)):
        ns = ns_by_name.get(job.spec.namespace)
        hours = job.spec.duration_s / 3600
        deadline = _deadline(job, config)
        energy = job_kwh(job)
        slots, eq = _slots(nodes, ns, job)
        starts = [now] + [
            now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=h)
            for h in range(1, int((deadline - now).total_seconds() // 3600) + 2)
        ]
        latest = deadline - timedelta(seconds=job.spec.duration_s)
        feasible = [
            s
            for s in starts
            if s <= latest and ns is not None and _fits(job, ns, s, eq, slots, held, uses)
        ]
        if not feasible:
            why = _why_not(ns, slots, latest, now)
            out.append(
                ScheduledJob(
                    job_id=job.id,
                    namespace=job.spec.namespace,
                    model=job.spec.model,
                    hours=hours,
                    deadline=deadline,
                    start=None,
                    kwh=energy,
                    g_co2e=None,
                    baseline_start=None,
                    baseline_g_co2e=None,
                    saving_g_co2e=0.0,
                    reason=why,
                )
            )
            continue
        cost = {s: energy * config.carbon.average_over(s, hours) for s in feasible}
        best = min(feasible, key=lambda s: (round(cost[s], 6), s))
        first = feasible[0]
        assert ns is not None and ns.env is not None
        uses.append(
            _Use(best, best + timedelta(hours=hours), ns.name, job.spec.gpu.slot_label(),
                 ns.env.value, eq)
        )  # fmt: skip
        saving = cost[first] - cost[best]
        out.append(
            ScheduledJob(
                job_id=job.id,
                namespace=ns.name,
                model=job.spec.model,
                hours=hours,
                deadline=deadline,
                start=best,
                kwh=energy,
                g_co2e=cost[best],
                baseline_start=first,
                baseline_g_co2e=cost[first],
                saving_g_co2e=saving,
                reason=(
                    f"starts {best:%m-%d %H:%M} at {config.carbon.average_over(best, hours):.0f} "
                    f"gCO2e/kWh instead of {first:%m-%d %H:%M} at "
                    f"{config.carbon.average_over(first, hours):.0f}: saves {saving:.0f} gCO2e"
                    if best != first
                    else "the first feasible start is already the cleanest"
                ),
            )
        )
    return out


def _deadline(job: Job, config: CapacityConfig) -> datetime:
    return job.spec.deadline or job.submitted_at + timedelta(hours=config.retrain_deadline_hours)


def _deployment_use(nodes: list[Node]) -> dict[str, float]:
    """GPU-equivalents held by model servers per namespace (they stay for the whole window)."""
    held: dict[str, float] = {}
    for node in nodes:
        for gpu in node.gpus:
            for slot in gpu.slots:
                occ = slot.occupant
                if occ is not None and occ.kind == "deployment":
                    held[occ.namespace] = held.get(occ.namespace, 0.0) + slot.equivalents
    return held


def _running_use(job: Job, namespaces: dict[str, Namespace], now: datetime) -> _Use:
    assert job.started_at is not None
    ns = namespaces.get(job.spec.namespace)
    env = ns.env.value if ns and ns.env else ""
    return _Use(
        job.started_at,
        job.started_at + timedelta(seconds=job.spec.duration_s),
        job.spec.namespace,
        job.spec.gpu.slot_label(),
        env,
        slot_equivalents(job.spec.gpu),
    )


def _slots(nodes: list[Node], ns: Namespace | None, job: Job) -> tuple[int, float]:
    """Slots of the job's kind its namespace may use that no model server holds, and their size."""
    if ns is None or ns.env is None:
        return 0, 0.0
    request, count, eq = job.spec.gpu, 0, 0.0
    for node in nodes:
        if not node.ready or node.env is not ns.env or not tolerates(node, job.spec.tolerations):
            continue
        for gpu in node.gpus:
            if gpu.type is not request.gpu_type or gpu.sharing is not request.sharing:
                continue
            for slot in gpu.slots:
                if slot.label == request.slot_label() and (
                    slot.occupant is None or slot.occupant.kind == "job"
                ):
                    count += 1
                    eq = slot.equivalents
    return count, eq


def _fits(
    job: Job,
    ns: Namespace,
    start: datetime,
    eq: float,
    slots: int,
    held: dict[str, float],
    uses: list[_Use],
) -> bool:
    end = start + timedelta(seconds=job.spec.duration_s)
    overlapping = [u for u in uses if u.start < end and u.end > start]
    label, env = job.spec.gpu.slot_label(), ns.env.value if ns.env else ""
    for t in [start] + [u.start for u in overlapping if u.start > start]:
        active = [u for u in overlapping if u.start <= t < u.end]
        if sum(1 for u in active if u.label == label and u.env == env) + 1 > slots:
            return False
        if ns.gpu_quota is not None:
            used = held.get(ns.name, 0.0) + sum(
                u.equivalents for u in active if u.namespace == ns.name
            )
            if used + eq > ns.gpu_quota + EPSILON:
                return False
    return True


def _why_not(ns: Namespace | None, slots: int, latest: datetime, now: datetime) -> str:
    if ns is None or ns.env is None:
        return "its namespace is unknown or has no env label, so no pool may run it"
    if slots == 0:
        return f"no {ns.env} pool offers a slot of its kind that it tolerates"
    if latest < now:
        return f"its deadline leaves no time to run it (latest start was {latest:%m-%d %H:%M})"
    return "quota or slots stay taken until its deadline"
