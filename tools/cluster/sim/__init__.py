"""The embedded cluster: a persisted digital twin."""

from tools.cluster.sim.spec import ClusterSpec, PoolSpec
from tools.cluster.sim.twin import SimCluster

__all__ = ["ClusterSpec", "PoolSpec", "SimCluster"]
