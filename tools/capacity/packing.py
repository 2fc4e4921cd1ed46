"""Packing model-server replicas onto GPUs: an exact solver, its lower bounds, two baselines.

One packing group is one node pool (one environment, one GPU type, one sharing mode); GPUs
of different groups are never shared, so environments never mix on a GPU.

- MIG: every GPU may be partitioned anew; a GPU holds any set of MIG instances with at most
  7 compute and 8 memory slices (the twin's rule, `validate_mig_layout`). This is a
  cutting-stock problem over the few MIG profiles: enumerate every maximal layout
  ("pattern") and let an integer program choose how many GPUs get each one (scipy's HiGHS).
  Its LP relaxation is a lower bound at least as tight as the volume bound
  (ceil(compute slices / 7), ceil(memory slices / 8)). If the solver gives up, best-fit
  decreasing takes over.
- Exclusive: one replica per GPU; the plan is the bound.
- Time-sliced: a GPU takes as many pods as the pool's replicas setting allows and, when the
  models' memory is known, no more than fits its memory (time-slicing isolates nothing, so
  memory is the real limit); best-fit decreasing by memory, bound = max(pods/k, memory/GPU).
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tools.domain import GPU_CATALOGUE, Environment, GpuSharing, GpuType
from tools.domain.gpus import MIG_COMPUTE_SLICES, MIG_MEMORY_SLICES
from tools.errors import ConflictError

SOLVER_TIME_LIMIT_S = 10.0
WHOLE = "whole"
SHARED = "shared"


class InfeasiblePackingError(ConflictError):
    """Some replicas fit no GPU of the pools they may use; the message says which and why."""


@dataclass(frozen=True)
class Item:
    """One replica to place."""

    owner: str
    """`namespace/deployment`."""
    replica: int
    profile: str
    """MIG profile, `whole` or `shared`."""
    compute: int = MIG_COMPUTE_SLICES
    """Compute slices of 7 (MIG)."""
    memory: int = MIG_MEMORY_SLICES
    """Memory slices of 8 (MIG)."""
    memory_gb: float | None = None
    """Memory the model needs (time-sliced); None = an equal share of the GPU."""


@dataclass(frozen=True)
class Group:
    """GPUs that may be shared among items: one pool."""

    name: str
    env: Environment
    gpu_type: GpuType
    sharing: GpuSharing
    gpus_available: int
    gpus_per_node: int = 8
    time_slice_replicas: int = 1


@dataclass
class PlannedGpu:
    """One GPU of a plan: its partition and who runs where."""

    layout: list[str]
    occupants: list[tuple[str, int, str]] = field(default_factory=list)
    """(owner, replica, profile) per placed replica."""


@dataclass
class GroupPlan:
    """The plan for one group, with bounds and baselines on the same items."""

    group: Group
    replicas: int
    gpus: list[PlannedGpu]
    volume_bound: int
    lower_bound: int
    """max(volume bound, LP bound): no packing can use fewer GPUs."""
    first_fit: int
    """GPUs first-fit in arrival order needs (the baseline); 0 when not computed."""
    method: str
    """`ilp`, `bfd` (heuristic fallback) or `exact` (exclusive)."""

    @property
    def gpus_used(self) -> int:
        """GPUs the plan uses."""
        return len(self.gpus)

    @property
    def nodes_needed(self) -> int:
        """Nodes that hold the plan's GPUs."""
        return math.ceil(self.gpus_used / self.group.gpus_per_node)

    def overflow(self) -> str | None:
        """Why the plan does not fit the group's GPUs, or None when it does."""
        if self.gpus_used <= self.group.gpus_available:
            return None
        g = self.group
        return (
            f"pool {g.name}: its {self.replicas} replicas need {self.gpus_used} "
            f"{g.gpu_type} GPUs (no packing needs fewer than {self.lower_bound}) but only "
            f"{g.gpus_available} are ready"
        )


def mig_shape(gpu_type: GpuType, profile: str) -> tuple[int, int]:
    """(compute, memory) slices of a MIG profile; ConfigError if the GPU lacks it."""
    p = GPU_CATALOGUE[gpu_type].mig_profile(profile)
    return p.compute_slices, p.memory_slices


def pack_group(group: Group, items: list[Item], *, baseline: bool = True) -> GroupPlan:
    """The best packing of `items` onto GPUs of `group`; `baseline` adds first-fit's count."""
    match group.sharing:
        case GpuSharing.MIG:
            return _pack_mig(group, items, baseline)
        case GpuSharing.EXCLUSIVE:
            gpus = [PlannedGpu([WHOLE], [(i.owner, i.replica, WHOLE)]) for i in items]
            n = len(items)
            return GroupPlan(group, n, gpus, n, n, n, "exact")
        case GpuSharing.TIME_SLICED:
            return _pack_time_sliced(group, items)


def raise_if_infeasible(plans: list[GroupPlan], unplaceable: list[str]) -> None:
    """Raise InfeasiblePackingError naming everything that does not fit."""
    problems = unplaceable + [p for plan in plans if (p := plan.overflow())]
    if problems:
        raise InfeasiblePackingError("infeasible packing: " + "; ".join(problems))


# --- MIG ------------------------------------------------------------------------------
def _pack_mig(group: Group, items: list[Item], baseline: bool) -> GroupPlan:
    if not items:
        return GroupPlan(group, 0, [], 0, 0, 0, "ilp")
    shapes = {i.profile: (i.compute, i.memory) for i in items}
    demand = Counter(i.profile for i in items)
    profiles = sorted(demand, key=lambda p: (-shapes[p][0], -shapes[p][1], p))
    volume = max(
        math.ceil(sum(i.compute for i in items) / MIG_COMPUTE_SLICES),
        math.ceil(sum(i.memory for i in items) / MIG_MEMORY_SLICES),
    )
    patterns = _maximal_patterns([shapes[p] for p in profiles])
    import numpy as np  # here, not at module level: planning imports them, reading does not
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    a = np.array(patterns, dtype=float).T  # rows: profiles, columns: patterns
    d = np.array([demand[p] for p in profiles], dtype=float)
    cost = np.ones(len(patterns))
    lp = linprog(cost, A_ub=-a, b_ub=-d, bounds=(0, None), method="highs")
    lp_bound = math.ceil(lp.fun - 1e-6) if lp.status == 0 else volume
    bound = max(volume, lp_bound)
    result = milp(
        cost,
        constraints=LinearConstraint(a, lb=d, ub=np.inf),
        integrality=np.ones(len(patterns)),
        bounds=Bounds(0, np.inf),
        options={"time_limit": SOLVER_TIME_LIMIT_S},
    )
    first_fit = len(_first_fit(items)) if baseline else 0
    heuristic = None if result.status == 0 else _best_fit_decreasing(items)  # 0 = optimal
    if result.x is not None and (heuristic is None or round(result.fun) <= len(heuristic)):
        counts = [round(v) for v in result.x]
        gpus = _decode(patterns, counts, profiles, items)
        return GroupPlan(group, len(items), gpus, volume, bound, first_fit, "ilp")
    heuristic = heuristic if heuristic is not None else _best_fit_decreasing(items)
    return GroupPlan(group, len(items), heuristic, volume, bound, first_fit, "bfd")


def _maximal_patterns(shapes: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Every count vector over `shapes` that fits one GPU and cannot take one more."""
    found: list[tuple[int, ...]] = []

    def extend(index: int, counts: list[int], compute: int, memory: int) -> None:
        if index == len(shapes):
            if any(counts) and all(
                compute + c > MIG_COMPUTE_SLICES or memory + m > MIG_MEMORY_SLICES
                for c, m in shapes
            ):
                found.append(tuple(counts))
            return
        c, m = shapes[index]
        n = 0
        while compute + n * c <= MIG_COMPUTE_SLICES and memory + n * m <= MIG_MEMORY_SLICES:
            counts.append(n)
            extend(index + 1, counts, compute + n * c, memory + n * m)
            counts.pop()
            n += 1

    extend(0, [], 0, 0)
    return found


def _decode(
    patterns: list[tuple[int, ...]], counts: list[int], profiles: list[str], items: list[Item]
) -> list[PlannedGpu]:
    """GPUs from pattern counts; replicas of one deployment spread over different GPUs."""
    gpus: list[PlannedGpu] = []
    for pattern, count in sorted(zip(patterns, counts, strict=True), key=lambda pc: -pc[1]):
        for _ in range(count):
            layout = [p for p, n in zip(profiles, pattern, strict=True) for _ in range(n)]
            gpus.append(PlannedGpu(layout))
    by_profile: dict[str, list[Item]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.owner, i.replica)):
        by_profile[item.profile].append(item)
    for profile, queue in by_profile.items():
        # slot k of every GPU before slot k+1 of any: consecutive replicas land apart
        slots = sorted(
            (k, g)
            for g, gpu in enumerate(gpus)
            for k in range(sum(1 for p in gpu.layout if p == profile))
        )
        for item, (_, g) in zip(queue, slots, strict=False):
            gpus[g].occupants.append((item.owner, item.replica, profile))
    return [g for g in gpus if g.occupants]


def best_fit_decreasing(items: list[Item]) -> list[PlannedGpu]:
    """MIG items by size, each onto the GPU it leaves fullest (the heuristic fallback)."""
    return _best_fit_decreasing(items)


def first_fit(items: list[Item]) -> list[PlannedGpu]:
    """MIG items in arrival order, each onto the first GPU it fits (the baseline)."""
    return _first_fit(items)


def _best_fit_decreasing(items: list[Item]) -> list[PlannedGpu]:
    order = sorted(items, key=lambda i: (-i.compute, -i.memory, i.owner, i.replica))
    return _fit(order, best=True)


def _first_fit(items: list[Item]) -> list[PlannedGpu]:
    return _fit(items, best=False)


def _fit(items: list[Item], *, best: bool) -> list[PlannedGpu]:
    gpus: list[PlannedGpu] = []
    free: list[list[int]] = []  # [compute, memory] left per GPU
    for item in items:
        fits = [g for g, (c, m) in enumerate(free) if c >= item.compute and m >= item.memory]
        if fits:
            g = min(fits, key=lambda k: (free[k][0] - item.compute, k)) if best else fits[0]
        else:
            gpus.append(PlannedGpu([]))
            free.append([MIG_COMPUTE_SLICES, MIG_MEMORY_SLICES])
            g = len(gpus) - 1
        free[g][0] -= item.compute
        free[g][1] -= item.memory
        gpus[g].layout.append(item.profile)
        gpus[g].occupants.append((item.owner, item.replica, item.profile))
    return gpus


# --- time-sliced ----------------------------------------------------------------------
def _pack_time_sliced(group: Group, items: list[Item]) -> GroupPlan:
    k = group.time_slice_replicas
    gpu_gb = float(GPU_CATALOGUE[group.gpu_type].memory_gb)
    need = [i.memory_gb if i.memory_gb is not None else gpu_gb / k for i in items]
    bound = max(math.ceil(len(items) / k), math.ceil(sum(need) / gpu_gb - 1e-9)) if items else 0
    order = sorted(range(len(items)), key=lambda j: (-need[j], items[j].owner, items[j].replica))
    plan = _fit_shared([items[j] for j in order], [need[j] for j in order], k, gpu_gb, best=True)
    first = _fit_shared(items, need, k, gpu_gb, best=False)
    return GroupPlan(group, len(items), plan, bound, bound, len(first), "bfd")


def _fit_shared(
    items: list[Item], need: list[float], k: int, gpu_gb: float, *, best: bool
) -> list[PlannedGpu]:
    gpus: list[PlannedGpu] = []
    free: list[float] = []
    for item, gb in zip(items, need, strict=True):
        fits = [g for g in range(len(gpus)) if len(gpus[g].occupants) < k and free[g] >= gb - 1e-9]
        if fits:
            g = min(fits, key=lambda j: (free[j], j)) if best else fits[0]
        else:
            gpus.append(PlannedGpu([SHARED] * k))
            free.append(gpu_gb)
            g = len(gpus) - 1
        free[g] -= gb
        gpus[g].occupants.append((item.owner, item.replica, SHARED))
    return gpus
