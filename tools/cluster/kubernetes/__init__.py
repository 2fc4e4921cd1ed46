"""The live cluster adapter."""

from tools.cluster.kubernetes.adapter import KubernetesCluster

__all__ = ["KubernetesCluster"]
