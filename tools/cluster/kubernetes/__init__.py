"""The live cluster adapter."""

from tools.cluster.kubernetes.adapter import KubernetesCluster, TrainingContainer

__all__ = ["KubernetesCluster", "TrainingContainer"]
