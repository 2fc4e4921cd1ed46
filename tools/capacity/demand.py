"""From cluster objects to packing input: which pool each replica may use, and why not.

A replica may go to a pool of its own environment with its GPU type and sharing mode whose
NoSchedule taints it tolerates. Among several such pools it stays with the one it runs on
now (else the first by name). What fits nowhere is named with the reason.
"""

from collections import Counter
from collections.abc import Iterable

from tools.capacity.packing import SHARED, WHOLE, Group, GroupPlan, Item, mig_shape, pack_group
from tools.domain import GPU_CATALOGUE, Deployment, GpuSharing, Node, NodePool
from tools.errors import ConfigError


def eligible_pools(dep: Deployment, pools: Iterable[NodePool]) -> tuple[list[NodePool], str]:
    """Pools the deployment may run in, and (when none) why not."""
    same = [
        p
        for p in pools
        if p.env is dep.env and p.gpu_type is dep.gpu.gpu_type and p.sharing is dep.gpu.sharing
    ]
    if not same:
        kind = dep.gpu.mig_profile or dep.gpu.sharing.value
        return [], f"no {dep.env} pool offers {dep.gpu.gpu_type} {kind} GPUs"
    allowed = set(dep.tolerations)
    ok = [p for p in same if all(t.key in allowed for t in p.taints if t.effect == "NoSchedule")]
    if not ok:
        taints = ", ".join(
            f"{t.key}={t.value} of pool {p.name}"
            for p in same
            for t in p.taints
            if t.key not in allowed
        )
        return [], f"does not tolerate taint {taints}"
    return ok, ""


def items_of(dep: Deployment) -> list[Item]:
    """One packing item per desired replica.

    Raises:
        ConfigError: the GPU type has no such MIG profile.
    """
    owner = f"{dep.namespace}/{dep.name}"
    match dep.gpu.sharing:
        case GpuSharing.MIG:
            if dep.gpu.mig_profile is None:
                raise ConfigError(f"deployment {owner} asks for MIG without a mig_profile")
            c, m = mig_shape(dep.gpu.gpu_type, dep.gpu.mig_profile)
            return [Item(owner, r, dep.gpu.mig_profile, c, m) for r in range(dep.replicas)]
        case GpuSharing.EXCLUSIVE:
            return [Item(owner, r, WHOLE) for r in range(dep.replicas)]
        case GpuSharing.TIME_SLICED:
            gb = dep.gpu_memory_gb
            return [Item(owner, r, SHARED, memory_gb=gb) for r in range(dep.replicas)]


def plan_packing(
    pools: list[NodePool],
    nodes: list[Node],
    deployments: list[Deployment],
    *,
    baseline: bool = True,
) -> tuple[list[GroupPlan], list[str]]:
    """Pack every deployment's desired replicas; return the plans and what fits nowhere.

    With `baseline`, each plan also carries the GPU count first-fit needs (for comparison).
    """
    ready = Counter(n.pool for n in nodes if n.ready)
    pool_of_node = {n.name: n.pool for n in nodes}
    by_pool: dict[str, list[Item]] = {p.name: [] for p in pools}
    unplaceable: list[str] = []
    for dep in deployments:
        if dep.replicas == 0:
            continue
        ok, why = eligible_pools(dep, pools)
        if not ok:
            unplaceable.append(f"{dep.namespace}/{dep.name} ({dep.replicas} replicas): {why}")
            continue
        here = {pool_of_node.get(p.node) for p in dep.placements}
        chosen = next((p for p in ok if p.name in here), ok[0])
        by_pool[chosen.name].extend(items_of(dep))
    plans = []
    for pool in pools:
        if not by_pool[pool.name]:
            continue
        group = Group(
            name=pool.name,
            env=pool.env,
            gpu_type=pool.gpu_type,
            sharing=pool.sharing,
            gpus_available=ready[pool.name] * pool.gpus_per_node,
            gpus_per_node=pool.gpus_per_node,
            time_slice_replicas=pool.time_slice_replicas,
        )
        plans.append(pack_group(group, by_pool[pool.name], baseline=baseline))
    return plans, unplaceable


def current_gpus_by_pool(nodes: Iterable[Node]) -> dict[str, int]:
    """GPUs that host at least one model-server replica now, per pool."""
    used: Counter[str] = Counter()
    for node in nodes:
        for gpu in node.gpus:
            if any(s.occupant and s.occupant.kind == "deployment" for s in gpu.slots):
                used[node.pool] += 1
    return dict(used)


def memory_overcommitted(nodes: Iterable[Node], deployments: list[Deployment]) -> dict[str, int]:
    """Time-sliced GPUs per pool whose replicas need more memory than the GPU has.

    Time-slicing isolates nothing: such a GPU runs out of memory under load. Replicas of
    unknown memory count as an equal share.
    """
    need = {(d.namespace, d.name): d.gpu_memory_gb for d in deployments}
    found: Counter[str] = Counter()
    for node in nodes:
        for gpu in node.gpus:
            if gpu.sharing is not GpuSharing.TIME_SLICED:
                continue
            size = float(GPU_CATALOGUE[gpu.type].memory_gb)
            share = size / max(len(gpu.slots), 1)
            used = sum(
                need.get((s.occupant.namespace, s.occupant.name)) or share
                for s in gpu.slots
                if s.occupant is not None and s.occupant.kind == "deployment"
            )
            if used > size + 1e-9:
                found[node.pool] += 1
    return dict(found)
