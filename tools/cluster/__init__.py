"""The cluster: protocol, embedded twin, Kubernetes adapter."""

from tools.cluster.protocol import Cluster

__all__ = ["Cluster"]
