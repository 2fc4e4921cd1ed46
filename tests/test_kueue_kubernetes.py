"""The Kubernetes adapter reads Kueue CRDs and CronJobs and patches ClusterQueues dry-run first.

Against the stub API server (tests/support/k8s_stub.py) serving kueue.x-k8s.io/v1beta1
objects as the CustomObjectsApi sees them.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.k8s_objects import platform
from tests.support.k8s_stub import KubeState, serve_kube
from tools.cluster.kubernetes import KubernetesCluster
from tools.cluster.protocol import Cluster
from tools.domain import GpuRequest, GpuSharing, GpuType, JobSpec
from tools.domain.queues import QueuePatch, ReclaimPolicy, WithinQueuePolicy
from tools.errors import NotFoundError
from world.kube import kubernetes_cluster
from world.settings import Settings

KUEUE = "/apis/kueue.x-k8s.io/v1beta1"


def _cq(name: str, nominal: str, **extra: Any) -> dict[str, Any]:
    gpu: dict[str, Any] = {"name": "nvidia.com/gpu", "nominalQuota": nominal, **extra}
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "cohort": "gpu-pool",
            "namespaceSelector": {},
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "nvidia.com/gpu"],
                    "flavors": [
                        {
                            "name": "h100",
                            "resources": [{"name": "cpu", "nominalQuota": "64"}, gpu],
                        }
                    ],
                }
            ],
        },
    }


def _workload(name: str, admitted: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [
            {
                "type": "QuotaReserved",
                "status": "True" if admitted else "False",
                "reason": "QuotaReserved" if admitted else "Pending",
                "message": "" if admitted else "couldn't assign flavors to pod set main",
            }
        ]
    }
    if admitted:
        status["admission"] = {
            "clusterQueue": "research-cq",
            "podSetAssignments": [{"name": "main", "flavors": {"nvidia.com/gpu": "h100"}}],
        }
    return {
        "metadata": {
            "name": name,
            "namespace": "fraud-prod",
            "creationTimestamp": "2026-11-02T06:00:00Z",
        },
        "spec": {
            "queueName": "default",
            "priority": 100,
            "podSets": [
                {
                    "name": "main",
                    "count": 2,
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "t", "resources": {"requests": {"nvidia.com/gpu": "1"}}}
                            ]
                        }
                    },
                }
            ],
        },
        "status": status,
    }


def _cronjob() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": "nightly-scoring",
            "namespace": "fraud-prod",
            "annotations": {"lotsen.io/uses": "fraud-prod/fraud-0001"},
        },
        "spec": {
            "schedule": "0 2 * * *",
            "suspend": False,
            "timeZone": "Europe/Stockholm",
            "jobTemplate": {
                "spec": {
                    "parallelism": 2,
                    "activeDeadlineSeconds": 5400,
                    "template": {
                        "spec": {
                            "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
                            "containers": [
                                {
                                    "name": "score",
                                    "image": "registry/score:1",
                                    "resources": {"limits": {"nvidia.com/mig-2g.20gb": "1"}},
                                }
                            ],
                        }
                    },
                }
            },
        },
    }


def _with_kueue(state: KubeState) -> KubeState:
    state.custom = {
        f"{KUEUE}/resourceflavors": [
            {"metadata": {"name": "h100"}, "spec": {"nodeLabels": {"lotsen.io/pool": "prod-h100"}}}
        ],
        f"{KUEUE}/clusterqueues": [
            _cq("prod-cq", "8", lendingLimit="6"),
            _cq("research-cq", "2", borrowingLimit="6"),
        ],
        f"{KUEUE}/localqueues": [
            {
                "metadata": {"name": "default", "namespace": "fraud-prod"},
                "spec": {"clusterQueue": "prod-cq"},
            }
        ],
        f"{KUEUE}/workloads": [_workload("job-a", True), _workload("job-b", False)],
        "/apis/batch/v1/cronjobs": [_cronjob()],
    }
    return state


@pytest.fixture
def kube() -> Iterator[tuple[KubernetesCluster, KubeState]]:
    state = _with_kueue(platform())
    with serve_kube(state) as url:
        yield kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url=url)), state


def test_reads_flavors_cluster_queues_and_local_queues(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, _ = kube
    config = cluster.queues()
    assert [(f.name, f.node_labels) for f in config.flavors] == [
        ("h100", {"lotsen.io/pool": "prod-h100"})
    ]
    prod = config.cluster_queue("prod-cq")
    assert prod is not None and prod.cohort == "gpu-pool"
    (gpu,) = prod.quotas  # cpu quota is not GPU capacity: left out
    assert (gpu.flavor, gpu.resource, gpu.nominal, gpu.lending_limit) == (
        "h100",
        "nvidia.com/gpu",
        8.0,
        6.0,
    )
    assert prod.preemption.reclaim_within_cohort is ReclaimPolicy.NEVER
    research = config.cluster_queue("research-cq")
    assert research is not None and research.quotas[0].borrowing_limit == 6.0
    lq = config.local_queue("fraud-prod", None)
    assert lq is not None and lq.cluster_queue == "prod-cq"


def test_reads_workload_status(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, _ = kube
    admitted, pending = cluster.workloads()
    assert (admitted.admitted, admitted.cluster_queue, admitted.flavor) == (
        True,
        "research-cq",
        "h100",
    )
    assert admitted.resources == {"nvidia.com/gpu": 2.0} and admitted.priority == 100
    assert not pending.admitted and pending.reason == "couldn't assign flavors to pod set main"


def test_reads_cronjobs_with_their_gpu_requests(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, _ = kube
    (cron,) = cluster.schedules()
    assert (cron.schedule, cron.suspend, cron.time_zone, cron.gpus) == (
        "0 2 * * *",
        False,
        "Europe/Stockholm",
        2,
    )
    assert cron.gpu is not None and cron.gpu.gpu_type is GpuType.H100
    assert (cron.gpu.sharing, cron.gpu.mig_profile) == (GpuSharing.MIG, "2g.20gb")
    assert cron.duration_s == 5400 and cron.uses == ["fraud-prod/fraud-0001"]
    assert cluster.schedules("other") == []


def test_patch_is_dry_run_first_and_keeps_other_resources(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    patch = QueuePatch(reclaim_within_cohort=ReclaimPolicy.ANY, flavor="h100", lending_limit=2)
    preview = cluster.patch_cluster_queue("prod-cq", patch, dry_run=True)
    assert preview.preemption.reclaim_within_cohort is ReclaimPolicy.ANY
    stored = state.custom[f"{KUEUE}/clusterqueues"][0]
    assert "preemption" not in stored["spec"]  # the dry run changed nothing
    cluster.patch_cluster_queue("prod-cq", patch)
    patches = [(r.path, r.dry_run) for r in state.requests if r.method == "PATCH"]
    assert patches == [(f"{KUEUE}/clusterqueues/prod-cq", True)] * 2 + [
        (f"{KUEUE}/clusterqueues/prod-cq", False)
    ]
    assert stored["spec"]["preemption"]["reclaimWithinCohort"] == "Any"
    resources = stored["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    assert resources == [
        {"name": "cpu", "nominalQuota": "64"},
        {"name": "nvidia.com/gpu", "nominalQuota": "8", "lendingLimit": "2"},
    ]
    again = cluster.queues().cluster_queue("prod-cq")
    assert again is not None and again.quotas[0].lending_limit == 2.0
    assert again.preemption.within_cluster_queue is WithinQueuePolicy.NEVER
    with pytest.raises(NotFoundError, match="ClusterQueue nope not found"):
        cluster.patch_cluster_queue("nope", patch)


def test_a_cluster_without_kueue_has_no_queues() -> None:
    state = platform()
    with serve_kube(state) as url:
        cluster: Cluster = kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url=url))
        config = cluster.queues()
    assert (config.flavors, config.cluster_queues, config.local_queues) == ([], [], [])


def test_jobs_go_to_the_namespaces_local_queue_and_carry_their_workload(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    spec = JobSpec(
        namespace="fraud-prod",
        model="fraud-0001",
        gpu=GpuRequest(gpu_type=GpuType.H100, sharing=GpuSharing.MIG, mig_profile="1g.10gb"),
        idempotency_key="retrain-fraud-kueue",
        priority=100,
    )
    job = cluster.submit_job(spec)
    (posted,) = [r.body for r in state.requests if r.method == "POST" and not r.dry_run]
    assert posted["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "default"
    before = next(j for j in cluster.jobs() if j.id == job.id)
    assert before.admission is None  # no Workload for it yet
    workloads = state.custom[f"{KUEUE}/workloads"]
    name = job.id.split("/", 1)[1]
    workloads[0]["metadata"]["ownerReferences"] = [{"kind": "Job", "name": name}]
    workloads[1]["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "someone-else"}]
    after = next(j for j in cluster.jobs() if j.id == job.id)
    assert after.admission is not None
    assert (after.admission.cluster_queue, after.admission.flavor) == ("research-cq", "h100")
    assert (after.spec.queue_name, after.spec.priority, after.admission.amount) == (
        "default",
        100,
        2.0,
    )
