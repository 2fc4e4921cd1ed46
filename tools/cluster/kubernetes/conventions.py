"""Labels and annotations through which Lotsen reads a Kubernetes cluster.

Nodes: `lotsen.io/env` (dev|test|prod), a pool label (`lotsen.io/pool` or the cloud's
node-pool label), and the NVIDIA GPU operator's `nvidia.com/gpu.product`,
`nvidia.com/gpu.count`, `nvidia.com/gpu.replicas` labels and `nvidia.com/mig-*` capacity.
Namespaces: `env` and `owner` labels; GPU quota in a ResourceQuota
(`requests.nvidia.com/gpu`, `requests.nvidia.com/mig-<profile>`).
Deployments: `lotsen.io/model`, `lotsen.io/model-version`, `lotsen.io/alias` labels, a
`nvidia.com/gpu.product` node selector, and serving metrics as annotations written by the
metrics exporter (`lotsen.io/requests-per-s`, `lotsen.io/p95-latency-ms`,
`lotsen.io/gpu-utilisation`, `lotsen.io/last-request-at`).
"""

import re

from tools.domain import GpuType

ENV_LABEL = "lotsen.io/env"
POOL_LABELS = (
    "lotsen.io/pool",
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "kubernetes.azure.com/agentpool",
)
PRODUCT_LABEL = "nvidia.com/gpu.product"
COUNT_LABEL = "nvidia.com/gpu.count"
REPLICAS_LABEL = "nvidia.com/gpu.replicas"
GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"

MODEL_LABEL = "lotsen.io/model"
VERSION_LABEL = "lotsen.io/model-version"
ALIAS_LABEL = "lotsen.io/alias"
MANAGED_LABEL = "lotsen.io/managed"
IDEMPOTENCY_ANNOTATION = "lotsen.io/idempotency-key"
RPS_ANNOTATION = "lotsen.io/requests-per-s"
P95_ANNOTATION = "lotsen.io/p95-latency-ms"
UTILISATION_ANNOTATION = "lotsen.io/gpu-utilisation"
LAST_REQUEST_ANNOTATION = "lotsen.io/last-request-at"

_PRODUCT_MARKERS = (("H100", GpuType.H100), ("A100", GpuType.A100), ("L4", GpuType.L4))


def gpu_type_of(product: str | None) -> GpuType | None:
    """Map an NVIDIA product label (e.g. `NVIDIA-H100-80GB-HBM3`) to a known GPU type."""
    if not product:
        return None
    tokens = set(re.split(r"[-_\s]+", product.upper()))
    return next((gpu_type for marker, gpu_type in _PRODUCT_MARKERS if marker in tokens), None)


ACCESS_REVIEW_ANNOTATION = "lotsen.io/access-reviewed-at"
"""Namespace annotation: ISO timestamp of the last access review."""
IDENTITY_ANNOTATIONS = (
    "iam.gke.io/gcp-service-account",
    "eks.amazonaws.com/role-arn",
    "azure.workload.identity/client-id",
)
"""ServiceAccount annotations that bind a cloud identity (workload identity / IRSA)."""
