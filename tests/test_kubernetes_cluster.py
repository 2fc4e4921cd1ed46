import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests.support.k8s_objects import platform
from tests.support.k8s_stub import KubeState, serve_kube
from tools.cluster.kubernetes import KubernetesCluster
from tools.cluster.protocol import Cluster
from tools.domain import Environment, GpuRequest, GpuSharing, GpuType, JobSpec, JobStatus
from tools.errors import BackendUnavailableError, ConfigError, NotFoundError
from world.kube import kubernetes_cluster
from world.settings import Settings


@pytest.fixture
def kube() -> Iterator[tuple[KubernetesCluster, KubeState]]:
    state = platform()
    with serve_kube(state) as url:
        yield kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url=url)), state


def _writes(state: KubeState) -> list[tuple[str, str, bool]]:
    return [(r.method, r.path, r.dry_run) for r in state.requests if r.method != "GET"]


def test_reads_gpu_nodes_with_mig_slices_and_occupancy(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, _ = kube
    nodes = {n.name: n for n in cluster.nodes()}
    assert set(nodes) == {"prod-1", "prod-2", "dev-1"}  # the CPU node is not a GPU node
    prod = nodes["prod-1"]
    assert prod.env is Environment.PROD and prod.pool == "prod-h100" and prod.ready
    assert prod.taints[0].key == "lotsen.io/env"
    assert [s.label for s in prod.gpus[0].slots] == [
        "mig-1g.10gb",
        "mig-1g.10gb",
        "mig-2g.20gb",
        "mig-3g.40gb",
    ]
    occupied = [s.occupant.name for g in prod.gpus for s in g.slots if s.occupant]
    assert occupied == ["fraud-0001", "fraud-0001"]
    assert not nodes["prod-2"].ready
    dev = nodes["dev-1"]
    assert dev.gpus[0].sharing is GpuSharing.TIME_SLICED and len(dev.gpus[0].slots) == 4
    assert [n.name for n in cluster.nodes(Environment.DEV)] == ["dev-1"]


def test_reads_namespaces_with_quota_in_gpu_equivalents(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, _ = kube
    spaces = {ns.name: ns for ns in cluster.namespaces()}
    prod = spaces["fraud-prod"]
    assert (prod.env, prod.owner) == (Environment.PROD, "fraud")
    assert prod.gpu_quota == pytest.approx(4 / 7 + 3 / 7)
    assert prod.gpu_used == pytest.approx(2 / 7)
    assert spaces["scratch"].env is None and spaces["scratch"].gpu_quota is None
    with pytest.raises(NotFoundError, match="namespace 'nope' not found"):
        cluster.namespace("nope")


def test_reads_model_deployments_only(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, _ = kube
    (dep,) = cluster.deployments()
    assert (dep.model, dep.model_version, dep.replicas, dep.ready_replicas) == (
        "fraud-0001",
        3,
        2,
        2,
    )
    assert dep.gpu == GpuRequest(
        gpu_type=GpuType.H100, sharing=GpuSharing.MIG, mig_profile="1g.10gb"
    )
    assert (dep.requests_per_s, dep.p95_latency_ms) == (120.5, 42.0)
    with pytest.raises(NotFoundError, match="not a Lotsen model deployment"):
        cluster.deployment("fraud-prod", "web")
    with pytest.raises(NotFoundError, match="fraud-prod/gone not found"):
        cluster.deployment("fraud-prod", "gone")


def test_pool_usage_counts_ready_nodes_only(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, _ = kube
    usage = {u.pool: u for u in cluster.pool_usage()}
    prod = usage["prod-h100"]
    assert (prod.nodes_ready, prod.nodes_total, prod.gpus) == (1, 2, 2)
    assert prod.allocated == pytest.approx(2 / 7)
    assert prod.busy is None and prod.power_w is None
    assert {p.name for p in cluster.node_pools()} == {"prod-h100", "dev-l4"}


def test_scale_is_dry_run_first_then_applied(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, state = kube
    assert cluster.scale("fraud-prod", "fraud", 4).replicas == 4
    path = "/apis/apps/v1/namespaces/fraud-prod/deployments/fraud/scale"
    assert _writes(state) == [("PATCH", path, True), ("PATCH", path, False)]
    assert state.deployments[0]["spec"]["replicas"] == 4


def test_dry_run_sends_only_the_dry_run(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, state = kube
    assert cluster.set_model_version("fraud-prod", "fraud", 4, dry_run=True).model_version == 4
    assert [w[2] for w in _writes(state)] == [True]
    assert state.deployments[0]["metadata"]["labels"]["lotsen.io/model-version"] == "3"
    cluster.set_model_version("fraud-prod", "fraud", 4)
    assert cluster.deployment("fraud-prod", "fraud").model_version == 4
    assert (
        state.deployments[0]["spec"]["template"]["metadata"]["labels"]["lotsen.io/model-version"]
        == "4"
    )


def test_rejected_write_is_not_applied(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster, state = kube
    with pytest.raises(ConfigError, match="replicas must be >= 0"):
        cluster.scale("fraud-prod", "fraud", -1)
    with pytest.raises(NotFoundError):
        cluster.scale("fraud-prod", "gone", 2)
    assert [w[2] for w in _writes(state)] == [True]  # only the refused dry-run reached it


def test_jobs_are_created_once_per_idempotency_key(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    spec = JobSpec(
        namespace="fraud-test",
        model="fraud-0001",
        idempotency_key="retrain-fraud-7",
        gpu=GpuRequest(gpu_type=GpuType.A100),
        tolerations=["lotsen.io/env"],
    )
    first = cluster.submit_job(spec)
    again = cluster.submit_job(spec)
    assert first.id == again.id and first.id.startswith("fraud-test/lotsen-retrain-fraud-0001-")
    assert first.status is JobStatus.QUEUED
    assert len(state.jobs) == 1
    assert [w[2] for w in _writes(state)] == [True, False, True]  # the retry stops at 409
    assert [j.spec.idempotency_key for j in cluster.jobs()] == ["retrain-fraud-7"]
    assert cluster.job(first.id).spec.model == "fraud-0001"
    with pytest.raises(NotFoundError):
        cluster.submit_job(spec.model_copy(update={"namespace": "nope", "idempotency_key": "x"}))


def test_adapter_is_a_cluster(kube: tuple[KubernetesCluster, KubeState]) -> None:
    cluster: Cluster = kube[0]
    assert cluster.now().tzinfo is not None


def test_unreachable_api_is_one_clear_error() -> None:
    cluster = kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url="http://127.0.0.1:9"))
    with pytest.raises(
        BackendUnavailableError,
        match=re.escape("cannot reach the Kubernetes API at http://127.0.0.1:9"),
    ):
        cluster.nodes()


def test_token_is_sent_and_a_bad_one_is_refused() -> None:
    state = platform()
    state.token = "s3cret"
    with serve_kube(state) as url:
        good = kubernetes_cluster(Settings(kube_api_url=url, kube_token=SecretStr("s3cret")))
        assert len(good.nodes()) == 3
        bad = kubernetes_cluster(Settings(kube_api_url=url, kube_token=SecretStr("wrong")))
        with pytest.raises(ConfigError, match="refused access \\(401"):
            bad.namespaces()


def test_reads_compliance_facts_of_namespaces_and_deployments(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, _ = kube
    spaces = {ns.name: ns for ns in cluster.namespaces()}
    prod, test = spaces["fraud-prod"], spaces["fraud-test"]
    assert prod.identities == ["fraud-prod@p.iam"]
    assert (prod.network_default_deny, prod.ingress_from) == (True, ["prod"])
    assert prod.access_reviewed_at is not None and prod.access_reviewed_at.year == 2026
    assert test.identities == ["arn:aws:iam::1:role/fr"]
    assert (test.network_default_deny, test.ingress_from) == (False, ["*"])
    assert test.access_reviewed_at is None
    assert cluster.deployment("fraud-prod", "fraud").image == "registry.local/serve:1"
