"""API-shaped Kubernetes objects for the stub server."""

from typing import Any

from tests.support.k8s_stub import KubeState

Obj = dict[str, Any]


def node(
    name: str,
    env: str,
    product: str,
    capacity: dict[str, str],
    *,
    pool: str,
    ready: bool = True,
    taint: bool = False,
    extra_labels: dict[str, str] | None = None,
) -> Obj:
    labels = {
        "lotsen.io/env": env,
        "lotsen.io/pool": pool,
        "nvidia.com/gpu.product": product,
        **(extra_labels or {}),
    }
    spec: Obj = (
        {"taints": [{"key": "lotsen.io/env", "value": env, "effect": "NoSchedule"}]}
        if taint
        else {}
    )
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {
            "capacity": {"cpu": "64", **capacity},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def namespace(name: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> Obj:
    meta = {"name": name, "labels": labels, "annotations": annotations or {}}
    return {"kind": "Namespace", "apiVersion": "v1", "metadata": meta}


def service_account(name: str, namespace_name: str, annotations: dict[str, str]) -> Obj:
    meta = {"name": name, "namespace": namespace_name, "annotations": annotations}
    return {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta}


def network_policy(name: str, namespace_name: str, ingress: list[Obj] | None) -> Obj:
    """A policy on all pods: `ingress=None` is default deny, else the allowed sources."""
    spec: Obj = {"podSelector": {}, "policyTypes": ["Ingress"]}
    if ingress is not None:
        spec["ingress"] = ingress
    return {
        "kind": "NetworkPolicy",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace_name},
        "spec": spec,
    }


def quota(namespace_name: str, hard: dict[str, str], used: dict[str, str]) -> Obj:
    return {
        "kind": "ResourceQuota",
        "apiVersion": "v1",
        "metadata": {"name": "gpu", "namespace": namespace_name},
        "spec": {"hard": hard},
        "status": {"hard": hard, "used": used},
    }


def _containers(resource: str) -> list[Obj]:
    return [
        {
            "name": "server",
            "image": "registry.local/serve:1",
            "resources": {"limits": {resource: "1"}},
        }
    ]


def pod(
    name: str, namespace_name: str, node_name: str, resource: str, labels: dict[str, str]
) -> Obj:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace_name, "labels": labels},
        "spec": {"nodeName": node_name, "containers": _containers(resource)},
        "status": {"phase": "Running"},
    }


def deployment(
    name: str,
    namespace_name: str,
    *,
    model: str | None,
    version: int,
    replicas: int,
    resource: str,
    product: str | None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    labels = {"app": name}
    if model:
        labels |= {"lotsen.io/model": model, "lotsen.io/model-version": str(version)}
    pod_spec: Obj = {
        "containers": _containers(resource),
        "tolerations": [{"key": "lotsen.io/env", "operator": "Exists"}],
    }
    if product:
        pod_spec["nodeSelector"] = {"nvidia.com/gpu.product": product}
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": name,
            "namespace": namespace_name,
            "labels": labels,
            "annotations": annotations or {},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
        "status": {"replicas": replicas, "readyReplicas": replicas},
    }


H100 = "NVIDIA-H100-80GB-HBM3"
L4 = "NVIDIA-L4"


def platform() -> KubeState:
    """prod: 1 H100 node (2 GPUs, MIG 3g+2g+1g+1g each) + 1 lost node; dev: 1 L4 node
    time-sliced x4; a CPU-only node. One Lotsen model server in prod with 2 pods."""
    mig = {
        "nvidia.com/mig-3g.40gb": "2",
        "nvidia.com/mig-2g.20gb": "2",
        "nvidia.com/mig-1g.10gb": "4",
    }
    fraud_labels = {"app": "fraud", "lotsen.io/model": "fraud-0001"}
    return KubeState(
        nodes=[
            node(
                "prod-1",
                "prod",
                H100,
                mig,
                pool="prod-h100",
                taint=True,
                extra_labels={"nvidia.com/gpu.count": "2", "nvidia.com/mig.strategy": "mixed"},
            ),
            node(
                "prod-2",
                "prod",
                H100,
                mig,
                pool="prod-h100",
                taint=True,
                ready=False,
                extra_labels={"nvidia.com/gpu.count": "2"},
            ),
            node(
                "dev-1",
                "dev",
                L4,
                {"nvidia.com/gpu": "4"},
                pool="dev-l4",
                extra_labels={"nvidia.com/gpu.replicas": "4", "nvidia.com/gpu.count": "1"},
            ),
            node("cpu-1", "prod", "", {}, pool="cpu"),
        ],
        namespaces=[
            namespace(
                "fraud-prod",
                {"env": "prod", "owner": "fraud"},
                {"lotsen.io/access-reviewed-at": "2026-03-01T00:00:00+00:00"},
            ),
            namespace("fraud-test", {"env": "test", "owner": "fraud"}),
            namespace("scratch", {}),
        ],
        quotas=[
            quota(
                "fraud-prod",
                {"requests.nvidia.com/mig-1g.10gb": "4", "requests.nvidia.com/mig-3g.40gb": "1"},
                {"requests.nvidia.com/mig-1g.10gb": "2"},
            ),
            quota("fraud-test", {"requests.nvidia.com/gpu": "2"}, {"requests.nvidia.com/gpu": "0"}),
        ],
        service_accounts=[
            service_account(
                "serve", "fraud-prod", {"iam.gke.io/gcp-service-account": "fraud-prod@p.iam"}
            ),
            service_account(
                "train", "fraud-test", {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/fr"}
            ),
            service_account("default", "fraud-test", {}),
        ],
        network_policies=[
            network_policy("deny-all", "fraud-prod", None),
            network_policy(
                "from-prod",
                "fraud-prod",
                [{"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}]}],
            ),
            network_policy("allow-all", "fraud-test", [{"from": [{"namespaceSelector": {}}]}]),
        ],
        pods=[
            pod("fraud-a", "fraud-prod", "prod-1", "nvidia.com/mig-1g.10gb", fraud_labels),
            pod("fraud-b", "fraud-prod", "prod-1", "nvidia.com/mig-1g.10gb", fraud_labels),
        ],
        deployments=[
            deployment(
                "fraud",
                "fraud-prod",
                model="fraud-0001",
                version=3,
                replicas=2,
                resource="nvidia.com/mig-1g.10gb",
                product=H100,
                annotations={
                    "lotsen.io/requests-per-s": "120.5",
                    "lotsen.io/p95-latency-ms": "42",
                    "lotsen.io/last-request-at": "2026-11-02T05:59:00+00:00",
                },
            ),
            deployment(
                "web", "fraud-prod", model=None, version=1, replicas=1, resource="cpu", product=None
            ),
        ],
    )
