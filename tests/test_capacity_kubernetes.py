"""The capacity operations on Kubernetes: resize patches the GPU limit (dry-run first)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.k8s_objects import platform
from tests.support.k8s_stub import KubeState, serve_kube
from tools.cluster.kubernetes import KubernetesCluster
from tools.domain import GpuRequest, GpuSharing, GpuType
from tools.errors import ConfigError
from world.kube import kubernetes_cluster
from world.settings import Settings

SMALLER = GpuRequest(gpu_type=GpuType.H100, sharing=GpuSharing.MIG, mig_profile="2g.20gb")


@pytest.fixture
def kube() -> Iterator[tuple[KubernetesCluster, KubeState]]:
    state = platform()
    with serve_kube(state) as url:
        yield kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url=url)), state


def test_resize_patches_the_gpu_limit_after_a_dry_run(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    assert cluster.resize("fraud-prod", "fraud", SMALLER, dry_run=True).gpu == SMALLER
    writes = [(r.method, r.dry_run) for r in state.requests if r.method != "GET"]
    assert writes == [("PATCH", True)]
    assert cluster.resize("fraud-prod", "fraud", SMALLER).gpu == SMALLER
    assert [r.dry_run for r in state.requests if r.method != "GET"] == [True, True, False]
    (container,) = state.deployments[0]["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"] == {"nvidia.com/mig-2g.20gb": "1"}
    assert container["image"]  # merged by name, not replaced


def test_moves_and_holds_are_refused_with_the_reason(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    with pytest.raises(ConfigError, match="the scheduler places pods"):
        cluster.move_replica("fraud-prod", "fraud", 0, "prod-1", 0)
    with pytest.raises(ConfigError, match="not supported on Kubernetes yet"):
        cluster.defer_job("job-1", datetime(2026, 11, 2, 12, tzinfo=UTC))
    with pytest.raises(ConfigError, match="has no MIG profile"):
        cluster.resize("fraud-prod", "fraud", SMALLER.model_copy(update={"mig_profile": "9g"}))
    assert [r for r in state.requests if r.method != "GET"] == []
