"""The Kubernetes Job trainer against the stub API server: created, watched, ended."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agents.remediation.trainers import TrainingRequest
from agents.remediation.trainers.kubernetes import KubernetesJobTrainer
from tests.support.k8s_objects import platform
from tests.support.k8s_stub import KubeState, serve_kube
from tools.cluster.kubernetes import KubernetesCluster
from world.kube import kubernetes_cluster
from world.settings import Settings

END = datetime(2026, 11, 2, tzinfo=UTC)
REQUEST = TrainingRequest(
    model="fraud-0001",
    parent_version=4,
    run_tag="inc-9:fraud-0001:retrain",
    window_start=END - timedelta(days=30),
    window_end=END,
    namespace="fraud-test",
    timeout=timedelta(hours=2),
)


@pytest.fixture
def kube() -> Iterator[tuple[KubernetesCluster, KubeState]]:
    state = platform()
    with serve_kube(state) as url:
        yield kubernetes_cluster(Settings(cluster="kubernetes", kube_api_url=url)), state


def trainer(
    cluster: KubernetesCluster, state: KubeState, ends: dict[str, object]
) -> KubernetesJobTrainer:
    """A trainer whose wait makes the Job end with `ends` as its status (after two polls)."""
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            [job] = state.jobs
            job["status"] = ends

    return KubernetesJobTrainer(
        cluster,
        image="ghcr.io/acme/fraud-train:1.4",
        command=["python", "-m", "fraud.train"],
        env={"FEATURE_STORE": "feast-prod"},
        poll_s=0.01,
        sleep=sleep,
    )


def test_the_job_runs_the_models_image_with_the_request_and_is_watched_to_success(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    ended = trainer(cluster, state, {"succeeded": 1}).run(REQUEST)
    assert ended.status == "succeeded", ended.detail
    [job] = state.jobs
    assert ended.job == f"fraud-test/{job['metadata']['name']}"
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/fraud-train:1.4"
    assert container["command"] == ["python", "-m", "fraud.train"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "FEATURE_STORE": "feast-prod",
        "LOTSEN_MODEL": "fraud-0001",
        "LOTSEN_PARENT_VERSION": "4",
        "LOTSEN_RUN_TAG_KEY": "lotsen.idempotency_key",
        "LOTSEN_RUN_TAG": "inc-9:fraud-0001:retrain",
        "LOTSEN_WINDOW_START": "2026-10-03T00:00:00+00:00",
        "LOTSEN_WINDOW_END": "2026-11-02T00:00:00+00:00",
    }
    assert job["spec"]["activeDeadlineSeconds"] == 7200
    # created once (dry-run first), then only read until it ended
    posts = [r.dry_run for r in state.requests if r.method == "POST"]
    assert posts == [True, False]
    reads = [
        r for r in state.requests if r.method == "GET" and r.path.endswith(job["metadata"]["name"])
    ]
    assert len(reads) == 3  # after the create, and after each of the two waits


def test_a_failed_job_is_a_failure_with_its_reason(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    failed = {
        "failed": 3,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
            }
        ],
    }
    ended = trainer(cluster, state, failed).run(REQUEST)
    assert ended.status == "failed"
    assert ended.detail == "BackoffLimitExceeded: Job has reached the specified backoff limit"


def test_a_job_still_running_at_the_timeout_is_timed_out(
    kube: tuple[KubernetesCluster, KubeState],
) -> None:
    cluster, state = kube
    clock = iter(range(0, 100_000, 3600))  # every read of the clock: an hour later
    slow = KubernetesJobTrainer(
        cluster,
        image="ghcr.io/acme/fraud-train:1.4",
        sleep=lambda _: None,
        monotonic=lambda: float(next(clock)),
    )
    ended = slow.run(REQUEST)  # the stub's Job never ends
    assert ended.status == "timed_out"
    assert "after 2:00:00" in ended.detail
    assert "command" not in state.jobs[0]["spec"]["template"]["spec"]["containers"][0]
