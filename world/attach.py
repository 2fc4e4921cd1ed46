"""Attach mode: Lotsen on an MLflow registry it did not seed.

With `LOTSEN_MLFLOW_URI` set and no seeded world, the registry's models, versions, aliases
and tags are read as they are (the tag contract, README) and Lotsen keeps its own stores in
`<data_dir>/attached/` (`world.layout.attached_world`). The cluster is Kubernetes
(`LOTSEN_CLUSTER=kubernetes`) or, with `sim`, an empty twin: no nodes, namespaces or
deployments, so cluster reads are empty and cluster actions find nothing to act on.
"""

from datetime import UTC, datetime
from pathlib import Path

from tools.cluster.sim import SimCluster
from tools.cluster.sim.spec import ClusterSpec


def attached_twin(path: Path) -> SimCluster:
    """The twin of attach mode, created empty on first use (its clock starts now)."""
    if path.exists():
        return SimCluster(path)
    spec = ClusterSpec(seed=0, start=datetime.now(UTC), pools=[], namespaces=[], deployments=[])
    return SimCluster.create(path, spec)
