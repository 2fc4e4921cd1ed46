"""The capacity plan: packing versus bounds, and the actions that make the pool cheaper.

Everything here is tier 0 (deterministic). Actions are `ProposedAction`s with the exact
parameters to execute them; none runs without the compliance gate (see `apply.py`).
"""

import hashlib
import time
from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from tools.capacity.consolidation import Consolidation, Move, consolidate
from tools.capacity.demand import current_gpus_by_pool, memory_overcommitted, plan_packing
from tools.capacity.energy import CapacityConfig
from tools.capacity.packing import GroupPlan
from tools.capacity.queues import QueueDiagnosis, diagnose_waits
from tools.capacity.rightsizing import (
    RightSize,
    ScaleToZero,
    right_sizing_candidates,
    scale_to_zero_candidates,
)
from tools.capacity.schedules import Reservation, needed_deployments, reservations
from tools.capacity.windows import ScheduledJob, schedule_jobs
from tools.cluster.protocol import Cluster
from tools.domain import Deployment, Environment, GpuRequest, GpuSharing, GpuType
from tools.domain.queues import QueuePatch
from tools.policy.action import ActionKind, ProposedAction

AGENT = "capacity-planner"


class PoolPacking(BaseModel):
    """One pool: GPUs the model servers use now, in the plan, at the bound, by first fit."""

    pool: str
    env: Environment
    gpu_type: GpuType
    sharing: GpuSharing
    replicas: int
    current_gpus: int
    """GPUs hosting at least one model-server replica now."""
    overcommitted_gpus: int = 0
    """Time-sliced GPUs whose replicas now need more memory than the GPU has."""
    plan_gpus: int
    lower_bound: int
    volume_bound: int
    first_fit_gpus: int
    gpus_ready: int
    nodes_needed: int
    gpus_per_node: int
    method: str
    layouts: dict[str, int] = Field(default_factory=dict)
    """MIG layout (profiles joined by `+`) -> GPUs partitioned so."""

    @property
    def ratio_to_bound(self) -> float:
        """Plan GPUs / lower bound (1.0 = provably optimal)."""
        return self.plan_gpus / self.lower_bound if self.lower_bound else 1.0


class PlannedAction(BaseModel):
    """A proposed action with what it takes to execute it."""

    n: int
    """Position in the plan (part of its idempotency key)."""
    action: ProposedAction
    env: Environment | None = None
    replicas: int | None = None
    """SCALE: the new replica count."""
    gpu: GpuRequest | None = None
    """RESIZE: the new GPU request."""
    moves: list[Move] = Field(default_factory=list)
    """MOVE: replica moves, in order."""
    job_id: str | None = None
    not_before: datetime | None = None
    """SUBMIT_JOB: hold the queued job until then."""
    cluster_queue: str | None = None
    queue_patch: QueuePatch | None = None
    """PATCH_QUEUE: the ClusterQueue and the change."""
    saving: str = ""
    """What it saves, one line."""


class Savings(BaseModel):
    """What the actions save per day if all are applied."""

    cost_per_day: float
    gpu_equivalents: float
    g_co2e_jobs: float
    """Saved by moving queued jobs into cleaner windows (one-off)."""


class KeptForSchedule(BaseModel):
    """An idle deployment not scaled to zero because a scheduled run will call it."""

    namespace: str
    name: str
    cronjob: str
    next_run: datetime


class CapacityPlan(BaseModel):
    """What the capacity planner proposes, with the evidence."""

    id: str
    at: datetime
    proposer: str
    packing: list[PoolPacking]
    unplaceable: list[str]
    solve_s: float
    scale_to_zero: list[ScaleToZero]
    right_sizing: list[RightSize]
    consolidation: Consolidation
    jobs: list[ScheduledJob]
    queue_waits: list[QueueDiagnosis] = Field(default_factory=list)
    """Queued Kueue jobs waiting for quota, why, and the queue patch (if any)."""
    reserved: list[Reservation] = Field(default_factory=list)
    """GPU capacity CronJobs hold over the planning horizon."""
    kept_for_schedules: list[KeptForSchedule] = Field(default_factory=list)
    actions: list[PlannedAction]
    savings: Savings
    explanation: str = ""
    explained_by: str = "tier0"
    prompt_sha256: str = ""


def build_plan(cluster: Cluster, config: CapacityConfig, proposer: str = AGENT) -> CapacityPlan:
    """Read the cluster once and plan (tier 0)."""
    now = cluster.now()
    pools, nodes, deployments = cluster.node_pools(), cluster.nodes(), cluster.deployments()
    started = time.perf_counter()
    plans, unplaceable = plan_packing(pools, nodes, deployments)
    solve_s = time.perf_counter() - started
    current = current_gpus_by_pool(nodes)
    ready_nodes = Counter(n.pool for n in nodes if n.ready)
    schedules = cluster.schedules()
    horizon = timedelta(hours=config.schedule_horizon_hours)
    needed = needed_deployments(schedules, now, horizon)
    idle, kept = _spare_scheduled(scale_to_zero_candidates(deployments, now, config), needed)
    idle_keys = {f"{s.namespace}/{s.name}" for s in idle}
    resize = [
        r
        for r in right_sizing_candidates(deployments, pools, config)
        if f"{r.namespace}/{r.name}" not in idle_keys
    ]
    # Moves use only slots free now: any other action may wait for an approval (or be
    # rejected), so no move may depend on one. Deployments other actions touch stay put.
    merged = consolidate(
        nodes,
        deployments,
        pools,
        pinned=frozenset(idle_keys | {f"{r.namespace}/{r.name}" for r in resize}),
    )
    all_jobs, namespaces = cluster.jobs(), cluster.namespaces()
    jobs = schedule_jobs(all_jobs, nodes, namespaces, now, config)
    waits = diagnose_waits(all_jobs, cluster.queues(), namespaces, now)
    by_key = {(d.namespace, d.name): d for d in deployments}
    actions = _actions(proposer, idle, resize, merged, jobs, now, by_key)
    actions += _queue_actions(proposer, waits, first=len(actions) + 1)
    over = memory_overcommitted(nodes, deployments)
    packing = [
        _summary(p, current.get(p.group.name, 0), ready_nodes).model_copy(
            update={"overcommitted_gpus": over.get(p.group.name, 0)}
        )
        for p in plans
    ]
    plan_id = hashlib.sha256(
        (now.isoformat() + "".join(a.model_dump_json() for a in actions)).encode()
    ).hexdigest()[:6]
    return CapacityPlan(
        id=plan_id,
        at=now,
        proposer=proposer,
        packing=packing,
        unplaceable=unplaceable,
        solve_s=solve_s,
        scale_to_zero=idle,
        right_sizing=resize,
        consolidation=merged,
        jobs=jobs,
        queue_waits=waits,
        reserved=reservations(schedules, now, horizon),
        kept_for_schedules=kept,
        actions=actions,
        savings=Savings(
            cost_per_day=sum(s.cost_per_day for s in idle)
            + sum(r.cost_per_day_saved for r in resize),
            gpu_equivalents=sum(s.gpu_equivalents for s in idle)
            + sum(r.gpu_equivalents_saved for r in resize),
            g_co2e_jobs=sum(j.saving_g_co2e for j in jobs),
        ),
    )


def _spare_scheduled(
    idle: list[ScaleToZero], needed: dict[str, tuple[str, datetime]]
) -> tuple[list[ScaleToZero], list[KeptForSchedule]]:
    """Drop scale-to-zero candidates a CronJob run within the horizon calls."""
    keep, kept = [], []
    for s in idle:
        hit = needed.get(f"{s.namespace}/{s.name}")
        if hit is None:
            keep.append(s)
        else:
            kept.append(
                KeptForSchedule(namespace=s.namespace, name=s.name, cronjob=hit[0], next_run=hit[1])
            )
    return keep, kept


def _queue_actions(proposer: str, waits: list[QueueDiagnosis], first: int) -> list[PlannedAction]:
    out: list[PlannedAction] = []
    for w in waits:
        if w.patch is None:
            continue
        action = ProposedAction(
            kind=ActionKind.PATCH_QUEUE,
            proposer=proposer,
            model=None,
            namespace=w.affects,
            detail=f"patch ClusterQueue {w.cluster_queue}: {w.patch.describe()} ({w.message})",
        )
        out.append(
            PlannedAction(
                n=first + len(out),
                action=action,
                cluster_queue=w.cluster_queue,
                queue_patch=w.patch,
                saving=f"admits {w.job_id} from lent quota",
            )
        )
    return out


def _summary(plan: GroupPlan, current: int, ready_nodes: Counter[str]) -> PoolPacking:
    g = plan.group
    layouts = Counter("+".join(sorted(gpu.layout)) for gpu in plan.gpus)
    return PoolPacking(
        pool=g.name,
        env=g.env,
        gpu_type=g.gpu_type,
        sharing=g.sharing,
        replicas=plan.replicas,
        current_gpus=current,
        plan_gpus=plan.gpus_used,
        lower_bound=plan.lower_bound,
        volume_bound=plan.volume_bound,
        first_fit_gpus=plan.first_fit,
        gpus_ready=g.gpus_available,
        nodes_needed=plan.nodes_needed,
        gpus_per_node=g.gpus_per_node,
        method=plan.method,
        layouts=dict(layouts) if g.sharing is GpuSharing.MIG else {},
    )


def _actions(
    proposer: str,
    idle: list[ScaleToZero],
    resize: list[RightSize],
    merged: Consolidation,
    jobs: list[ScheduledJob],
    now: datetime,
    deployments: dict[tuple[str, str], Deployment],
) -> list[PlannedAction]:
    out: list[PlannedAction] = []

    def add(action: ProposedAction, **params: object) -> None:
        out.append(PlannedAction.model_validate({"n": len(out) + 1, "action": action, **params}))

    for s in idle:
        add(
            ProposedAction(
                kind=ActionKind.SCALE,
                proposer=proposer,
                model=s.model,
                namespace=s.namespace,
                deployment=s.name,
                detail=f"scale to zero: no request for {s.idle_days:.0f} days",
            ),
            env=s.env,
            replicas=0,
            saving=f"{s.gpu_equivalents:.2f} GPU, {s.cost_per_day:.2f}/day",
        )
    by_dep: dict[tuple[str, str], list[Move]] = {}
    for m in merged.moves:
        by_dep.setdefault((m.namespace, m.name), []).append(m)
    for (ns, name), moves in by_dep.items():
        dep = deployments[(ns, name)]
        add(
            ProposedAction(
                kind=ActionKind.MOVE,
                proposer=proposer,
                namespace=ns,
                deployment=name,
                model=dep.model,
                detail=f"consolidate: move {len(moves)} replica(s) so that GPUs can be emptied",
            ),
            env=dep.env,
            moves=moves,
            saving="frees GPUs: " + ", ".join(f"{m.from_node}/gpu{m.from_gpu}" for m in moves),
        )
    for r in resize:
        add(
            ProposedAction(
                kind=ActionKind.RESIZE,
                proposer=proposer,
                model=r.model,
                namespace=r.namespace,
                deployment=r.name,
                detail=(
                    f"slot too small: {r.current} holds less than the {r.memory_need_gb:g} GB "
                    f"the server needs; grow to {r.target.mig_profile}"
                    if r.too_small
                    else f"right-size {r.current} -> {r.target.mig_profile}: busy "
                    f"{r.utilisation_now:.0%} now, {r.utilisation_after:.0%} after, "
                    f"needs {r.memory_need_gb:g} GB"
                ),
            ),
            env=r.env,
            gpu=r.target,
            saving=(
                f"costs {-r.gpu_equivalents_saved:.2f} GPU, {-r.cost_per_day_saved:.2f}/day more"
                if r.too_small
                else f"{r.gpu_equivalents_saved:.2f} GPU, {r.cost_per_day_saved:.2f}/day"
            ),
        )
    for j in jobs:
        if j.start is None or j.start <= now or j.saving_g_co2e <= 0:
            continue
        add(
            ProposedAction(
                kind=ActionKind.SUBMIT_JOB,
                proposer=proposer,
                model=j.model,
                namespace=j.namespace,
                detail=f"reschedule {j.job_id} into a low-carbon window: {j.reason}",
            ),
            job_id=j.job_id,
            not_before=j.start,
            saving=f"{j.saving_g_co2e:.0f} gCO2e",
        )
    return out
