"""Consolidation within today's MIG layouts: which GPUs can be emptied by moving replicas.

The packing plan says how few GPUs the load needs if GPUs were partitioned anew; this says
what can be done now without touching any partition: drain the least-allocated GPUs by
moving their replicas into free slots of the same kind on fuller GPUs of the same pool.
A GPU running a job is never drained, and time-sliced GPUs are left alone (their pods share
memory without isolation, so packing them tighter risks out-of-memory). Emptied GPUs (and
whole nodes) can be powered down or handed back.
"""

from dataclasses import dataclass, field

from pydantic import BaseModel

from tools.capacity.demand import eligible_pools
from tools.domain import Deployment, GpuSharing, Node, NodePool


class Move(BaseModel):
    """Move one replica to another GPU."""

    namespace: str
    name: str
    replica: int
    from_node: str
    from_gpu: int
    to_node: str
    to_gpu: int
    slot_label: str


class Consolidation(BaseModel):
    """Moves and what they free."""

    moves: list[Move]
    gpus_freed: dict[str, int]
    """Per pool."""
    nodes_freed: list[str]


@dataclass
class _Gpu:
    node: str
    index: int
    pool: str
    free: dict[str, int] = field(default_factory=dict)
    """Free slots per label."""
    held: list[tuple[str, str, int, str]] = field(default_factory=list)
    """(namespace, name, replica, label) of deployment replicas."""
    has_job: bool = False
    allocated: float = 0.0
    received: bool = False
    """Took replicas from a drained GPU: it stays (no moving them twice)."""


def consolidate(
    nodes: list[Node],
    deployments: list[Deployment],
    pools: list[NodePool],
    *,
    released: frozenset[str] = frozenset(),
    pinned: frozenset[str] = frozenset(),
) -> Consolidation:
    """Drain as many GPUs as possible with moves inside each pool.

    Args:
        nodes: Cluster nodes (only ready ones are used).
        deployments: Deployments (their tolerations decide where replicas may go).
        pools: Node pools.
        released: `namespace/name` of deployments being scaled to zero: their slots count
            as free.
        pinned: `namespace/name` of deployments that must not be moved (e.g. being resized).
    """
    deps = {f"{d.namespace}/{d.name}": d for d in deployments}
    gpus = _model(nodes, released)
    moves: list[Move] = []
    drained: set[tuple[str, int]] = set()
    for gpu in sorted(gpus, key=lambda g: (g.allocated, g.node, g.index)):
        if gpu.has_job or gpu.received or not gpu.held:
            continue
        if any(f"{ns}/{name}" in pinned for ns, name, _, _ in gpu.held):
            continue
        tentative = _drain(gpu, gpus, drained, deps, pools)
        if tentative is None:
            continue
        drained.add((gpu.node, gpu.index))
        moves += tentative
    freed: dict[str, int] = {}
    for gpu in gpus:
        if (gpu.node, gpu.index) in drained:
            freed[gpu.pool] = freed.get(gpu.pool, 0) + 1
    empty_nodes = [
        n.name
        for n in nodes
        if n.ready
        and any((n.name, g.index) in drained for g in n.gpus)
        and all(not o.held or (o.node, o.index) in drained for o in gpus if o.node == n.name)
        and not any(o.has_job for o in gpus if o.node == n.name)
    ]
    return Consolidation(moves=moves, gpus_freed=freed, nodes_freed=empty_nodes)


def _model(nodes: list[Node], released: frozenset[str]) -> list[_Gpu]:
    out = []
    for node in nodes:
        if not node.ready:
            continue
        for gpu in node.gpus:
            if gpu.sharing is GpuSharing.TIME_SLICED:
                continue
            g = _Gpu(node.name, gpu.index, node.pool)
            for slot in gpu.slots:
                occ = slot.occupant
                if occ is None or (
                    occ.kind == "deployment" and f"{occ.namespace}/{occ.name}" in released
                ):
                    g.free[slot.label] = g.free.get(slot.label, 0) + 1
                    continue
                g.allocated += slot.equivalents
                if occ.kind == "job":
                    g.has_job = True
                else:
                    g.held.append((occ.namespace, occ.name, occ.replica, slot.label))
            out.append(g)
    return out


def _drain(
    gpu: _Gpu,
    gpus: list[_Gpu],
    drained: set[tuple[str, int]],
    deps: dict[str, Deployment],
    pools: list[NodePool],
) -> list[Move] | None:
    taken: list[tuple[_Gpu, str]] = []
    moves = []
    for ns, name, replica, label in gpu.held:
        dep = deps.get(f"{ns}/{name}")
        allowed = {p.name for p in eligible_pools(dep, pools)[0]} if dep else set()
        targets = [
            g
            for g in gpus
            if g is not gpu
            and (g.node, g.index) not in drained
            and g.pool == gpu.pool
            and g.pool in allowed
            and g.free.get(label, 0) > 0
            and g.held  # only onto GPUs that stay in use
        ]
        if not targets:
            for g, lab in taken:  # undo
                g.free[lab] += 1
            return None
        target = max(targets, key=lambda g: (g.allocated, g.node, -g.index))
        target.free[label] -= 1
        taken.append((target, label))
        moves.append(
            Move(
                namespace=ns,
                name=name,
                replica=replica,
                from_node=gpu.node,
                from_gpu=gpu.index,
                to_node=target.node,
                to_gpu=target.index,
                slot_label=label,
            )
        )
    for (target, _), held in zip(taken, gpu.held, strict=True):
        target.held.append(held)
        target.received = True
    gpu.held = []
    return moves
