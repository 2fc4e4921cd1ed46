"""Scale-to-zero candidates (idle, by `tools.capacity.idle`) and right-sizing (a smaller slot).

Right-sizing only proposes slots a pool of the deployment's environment offers today, so
every proposal can be applied: a replica busy 20% of a `3g.40gb` whose model needs 15 GB
fits a `2g.20gb` at 30%. Without a known memory need, the planner assumes the model needs
all the memory of its current slot, and only a slot with as much memory qualifies.
"""

from datetime import datetime

from pydantic import BaseModel

from tools.capacity.demand import eligible_pools
from tools.capacity.energy import HOURS_PER_DAY, CapacityConfig, kwh, slot_power_w
from tools.capacity.idle import DAY, idle_deployments, idle_for
from tools.domain import GPU_CATALOGUE, Deployment, Environment, GpuRequest, GpuSharing, NodePool
from tools.domain.gpus import MIG_COMPUTE_SLICES

EPSILON = 1e-9


class ScaleToZero(BaseModel):
    """An idle deployment that can be scaled to zero."""

    namespace: str
    name: str
    model: str
    env: Environment
    replicas: int
    idle_days: float
    """Days since its last request (always known: an unknown one is never a candidate)."""
    gpu_equivalents: float
    """What it holds now and would give back."""
    cost_per_day: float
    kg_co2e_per_day: float


class RightSize(BaseModel):
    """A deployment that would run on a smaller slot, or needs a larger one (too small)."""

    namespace: str
    name: str
    model: str
    env: Environment
    replicas: int
    current: str
    """Current slot kind, e.g. `3g.40gb` or `whole`."""
    target: GpuRequest
    utilisation_now: float
    utilisation_after: float
    memory_need_gb: float
    gpu_equivalents_saved: float
    """Over all replicas (negative when the slot is too small and must grow)."""
    cost_per_day_saved: float
    too_small: bool = False
    """The deployment's declared memory does not fit its slot: it must grow, whatever it costs."""


def scale_to_zero_candidates(
    deployments: list[Deployment], now: datetime, config: CapacityConfig
) -> list[ScaleToZero]:
    """Idle deployments (`is_idle` at `config.idle_days`), with what scaling them frees."""
    found = []
    for dep in idle_deployments(deployments, now, config.idle_days):
        quiet = idle_for(dep, now)
        assert quiet is not None, "idle means a known last request"
        idle = quiet / DAY
        eq = slot_equivalents(dep.gpu) * dep.replicas
        watts = slot_power_w(dep.gpu.gpu_type, eq, dep.gpu_utilisation)
        found.append(
            ScaleToZero(
                namespace=dep.namespace,
                name=dep.name,
                model=dep.model,
                env=dep.env,
                replicas=dep.replicas,
                idle_days=idle,
                gpu_equivalents=eq,
                cost_per_day=eq * config.price(dep.gpu.gpu_type) * HOURS_PER_DAY,
                kg_co2e_per_day=kwh(watts, HOURS_PER_DAY) * config.carbon.mean() / 1000,
            )
        )
    return found


def right_sizing_candidates(
    deployments: list[Deployment], pools: list[NodePool], config: CapacityConfig
) -> list[RightSize]:
    """Deployments whose load and memory fit a smaller slot that a pool offers."""
    found = []
    for dep in deployments:
        if dep.replicas == 0 or dep.gpu.sharing is GpuSharing.TIME_SLICED:
            continue
        pools_ok, _ = eligible_pools(
            dep.model_copy(update={"gpu": dep.gpu.model_copy(update={"sharing": GpuSharing.MIG})}),
            pools,
        )
        spec = GPU_CATALOGUE[dep.gpu.gpu_type]
        compute_now = _compute_slices(dep.gpu)
        memory_now = (
            spec.mig_profile(dep.gpu.mig_profile).memory_gb
            if dep.gpu.mig_profile
            else spec.memory_gb
        )
        need_gb = dep.gpu_memory_gb if dep.gpu_memory_gb is not None else float(memory_now)
        busy = dep.gpu_utilisation * compute_now
        offered = {spec.mig_profile(p) for pool in pools_ok for p in pool.mig_layout}
        too_small = dep.gpu.mig_profile is not None and need_gb > memory_now + EPSILON
        fitting = [
            p
            for p in offered
            if (p.compute_slices >= compute_now if too_small else p.compute_slices < compute_now)
            and p.memory_gb + EPSILON >= need_gb
            and (too_small or busy <= config.target_utilisation * p.compute_slices + EPSILON)
        ]
        if not fitting:
            continue
        best = min(fitting, key=lambda p: (p.compute_slices, p.memory_gb, p.name))
        saved = (compute_now - best.compute_slices) / MIG_COMPUTE_SLICES * dep.replicas
        found.append(
            RightSize(
                namespace=dep.namespace,
                name=dep.name,
                model=dep.model,
                env=dep.env,
                replicas=dep.replicas,
                current=dep.gpu.mig_profile or "whole",
                target=GpuRequest(
                    gpu_type=dep.gpu.gpu_type, sharing=GpuSharing.MIG, mig_profile=best.name
                ),
                utilisation_now=dep.gpu_utilisation,
                utilisation_after=busy / best.compute_slices,
                memory_need_gb=need_gb,
                gpu_equivalents_saved=saved,
                cost_per_day_saved=saved * config.price(dep.gpu.gpu_type) * HOURS_PER_DAY,
                too_small=too_small,
            )
        )
    return found


def slot_equivalents(request: GpuRequest, time_slice_replicas: int = 4) -> float:
    """GPU-equivalents of one slot of this request (time-sliced: 1/replicas of the pool)."""
    match request.sharing:
        case GpuSharing.MIG:
            return _compute_slices(request) / MIG_COMPUTE_SLICES
        case GpuSharing.EXCLUSIVE:
            return 1.0
        case GpuSharing.TIME_SLICED:
            return 1.0 / time_slice_replicas


def _compute_slices(request: GpuRequest) -> int:
    if request.sharing is GpuSharing.MIG and request.mig_profile:
        return GPU_CATALOGUE[request.gpu_type].mig_profile(request.mig_profile).compute_slices
    return MIG_COMPUTE_SLICES
