"""The twin's power model over time: energy accrued per GPU, and use per pool."""

from tools.cluster.sim.store import Tx
from tools.domain import GPU_CATALOGUE, NodePool, PoolUsage
from tools.domain.gpus import gpu_power

JOULES_PER_KWH = 3.6e6


def accrue_energy(tx: Tx, seconds: float) -> None:
    """Add `seconds` of each ready GPU's power-model draw to its energy."""
    if seconds <= 0:
        return
    for node in tx.nodes().values():
        if not node.ready:
            continue
        for gpu in node.gpus:
            gpu.energy_j += gpu_power(GPU_CATALOGUE[gpu.type], gpu.utilisation()) * seconds
        tx.save_node(node)


def pool_usage(pool: NodePool, tx: Tx) -> PoolUsage:
    """Allocation, use, power and energy of one pool."""
    nodes = [n for n in tx.nodes().values() if n.pool == pool.name]
    ready = [n for n in nodes if n.ready]
    gpus = [g for n in ready for g in n.gpus]
    spec = GPU_CATALOGUE[pool.gpu_type]
    return PoolUsage(
        pool=pool.name,
        env=pool.env,
        gpu_type=pool.gpu_type,
        nodes_ready=len(ready),
        nodes_total=len(nodes),
        gpus=len(gpus),
        capacity=sum(s.equivalents for g in gpus for s in g.slots),
        allocated=sum(g.allocated() for g in gpus),
        busy=sum(g.utilisation() for g in gpus),
        power_w=sum(gpu_power(spec, g.utilisation()) for g in gpus),
        energy_kwh=sum(g.energy_j for n in nodes for g in n.gpus) / JOULES_PER_KWH,
    )
