"""Pure placement logic: which GPU slot a replica or job can take.

Best fit: among free slots that match the request, take the one on the GPU that is already
the most allocated, so partially used GPUs fill up before empty ones are touched.
"""

from collections import defaultdict
from collections.abc import Iterable

from tools.domain import Environment, Gpu, GpuRequest, Node, Occupant, Placement, Slot


def tolerates(node: Node, tolerations: Iterable[str]) -> bool:
    """True if every NoSchedule taint on the node is tolerated."""
    allowed = set(tolerations)
    return all(t.key in allowed for t in node.taints if t.effect == "NoSchedule")


def find_slot(
    nodes: Iterable[Node], env: Environment, request: GpuRequest, tolerations: Iterable[str]
) -> tuple[Node, Gpu, Slot] | None:
    """The best free slot for a request in an environment, or None if nothing fits."""
    label = request.slot_label()
    tolerated = list(tolerations)
    best: tuple[float, str, int, Node, Gpu, Slot] | None = None
    for node in nodes:
        if not node.ready or node.env is not env or not tolerates(node, tolerated):
            continue
        for gpu in node.gpus:
            if gpu.type is not request.gpu_type or gpu.sharing is not request.sharing:
                continue
            slot = next((s for s in gpu.slots if s.label == label and s.occupant is None), None)
            if slot is None:
                continue
            key = (-gpu.allocated(), node.name, gpu.index)
            if best is None or key < best[:3]:
                best = (*key, node, gpu, slot)
    return None if best is None else best[3:]


def release(nodes: Iterable[Node], kind: str, namespace: str, name: str) -> list[Node]:
    """Free every slot held by a workload; return the nodes that changed."""
    changed = []
    for node in nodes:
        hit = False
        for gpu in node.gpus:
            for slot in gpu.slots:
                occ = slot.occupant
                if occ and (occ.kind, occ.namespace, occ.name) == (kind, namespace, name):
                    slot.occupant = None
                    hit = True
        if hit:
            changed.append(node)
    return changed


def release_at(node: Node, placement: Placement) -> None:
    """Free the slot of one placement."""
    for gpu in node.gpus:
        if gpu.index == placement.gpu_index:
            for slot in gpu.slots:
                if slot.id == placement.slot_id:
                    slot.occupant = None


def occupy(node: Node, gpu: Gpu, slot: Slot, occupant: Occupant) -> Placement:
    """Put a workload into a free slot and return where it landed."""
    assert slot.occupant is None, "slot already taken"
    slot.occupant = occupant
    return Placement(node=node.name, gpu_index=gpu.index, slot_id=slot.id)


def usage_by_namespace(nodes: Iterable[Node]) -> dict[str, float]:
    """GPU-equivalents held per namespace (ready and lost nodes alike)."""
    used: dict[str, float] = defaultdict(float)
    for node in nodes:
        for gpu in node.gpus:
            for slot in gpu.slots:
                if slot.occupant is not None:
                    used[slot.occupant.namespace] += slot.equivalents
    return dict(used)
