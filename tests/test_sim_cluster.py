import re
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.twin_specs import (
    A100,
    ENV_TAINT,
    L4_SHARED,
    START,
    deployment,
    mig_request,
    tiny_spec,
)
from tools.cluster.protocol import Cluster
from tools.cluster.sim import SimCluster
from tools.domain import GPU_CATALOGUE, Environment, GpuType, JobSpec, JobStatus, NodePool
from tools.domain.gpus import GpuSharing, gpu_power
from tools.errors import ConfigError, ConflictError, NotFoundError, StateError

PROD, TEST, DEV = Environment.PROD, Environment.TEST, Environment.DEV


def job(key: str, namespace: str = "growth-test", hours: float = 1.0) -> JobSpec:
    return JobSpec(
        namespace=namespace,
        model="churn",
        gpu=A100,
        duration_s=hours * 3600,
        idempotency_key=key,
        tolerations=[ENV_TAINT],
    )


@pytest.fixture
def twin(tmp_path: Path) -> SimCluster:
    deps = [deployment("small", "growth-prod", PROD, mig_request("1g.10gb"), replicas=3)]
    return SimCluster.create(tmp_path / "cluster.db", tiny_spec(deps))


def _slots(twin: SimCluster, name: str) -> list[tuple[str, int, str]]:
    return [
        (p.node, p.gpu_index, p.slot_id) for p in twin.deployment("growth-prod", name).placements
    ]


def test_twin_is_a_cluster(twin: SimCluster) -> None:
    cluster: Cluster = twin
    assert cluster.now() == START


def test_mig_replicas_pack_onto_matching_slices_best_fit(twin: SimCluster) -> None:
    # Two 1g.10gb slices per GPU: the first GPU fills before the next one is touched.
    assert _slots(twin, "small") == [
        ("prod-h100-000", 0, "g0-mig2"),
        ("prod-h100-000", 0, "g0-mig3"),
        ("prod-h100-000", 1, "g1-mig2"),
    ]
    node = twin.nodes(PROD)[0]
    assert [s.label for s in node.gpus[0].slots] == [
        "mig-3g.40gb",
        "mig-2g.20gb",
        "mig-1g.10gb",
        "mig-1g.10gb",
    ]
    assert twin.namespace("growth-prod").gpu_used == pytest.approx(3 / 7)


def test_replicas_beyond_capacity_stay_pending(tmp_path: Path) -> None:
    # 2 nodes x 2 GPUs = 4 slices of 3g.40gb; the 5th replica has nowhere to go.
    big = deployment("big", "growth-prod", PROD, mig_request("3g.40gb"), replicas=5)
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec([big]))
    dep = twin.deployment("growth-prod", "big")
    assert (dep.replicas, dep.ready_replicas) == (5, 4)


def test_taints_keep_untolerating_workloads_off_prod(tmp_path: Path) -> None:
    rogue = deployment("rogue", "growth-prod", PROD, mig_request("1g.10gb"), tolerations=[])
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec([rogue]))
    assert twin.deployment("growth-prod", "rogue").ready_replicas == 0


def test_time_sliced_gpu_takes_four_pods(tmp_path: Path) -> None:
    deps = [deployment(f"d{i}", "growth-dev", DEV, L4_SHARED) for i in range(5)]
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(deps))
    ready = [d.ready_replicas for d in twin.deployments("growth-dev")]
    assert sorted(ready) == [0, 1, 1, 1, 1]


def test_jobs_are_admitted_within_quota_and_queue_otherwise(twin: SimCluster) -> None:
    first, second = twin.submit_job(job("a", hours=1)), twin.submit_job(job("b", hours=3))
    third = twin.submit_job(job("c"))
    assert [first.status, second.status] == [JobStatus.RUNNING, JobStatus.RUNNING]
    assert third.status is JobStatus.QUEUED
    assert third.reason.startswith("quota: needs 1.00 GPU, 0.00 of 2.00 free")
    assert twin.namespace("growth-test").gpu_used == pytest.approx(2.0)

    finished = twin.advance(timedelta(hours=1, minutes=30))
    assert [j.id for j in finished] == [first.id]
    third = twin.job(third.id)
    assert third.status is JobStatus.RUNNING
    assert third.started_at == START + timedelta(hours=1)


def test_same_idempotency_key_never_submits_twice(twin: SimCluster) -> None:
    first = twin.submit_job(job("retrain-churn-42"))
    again = twin.submit_job(job("retrain-churn-42", hours=9))
    assert again.id == first.id
    assert len(twin.jobs()) == 1


def test_job_without_any_fitting_slot_waits_with_a_reason(twin: SimCluster) -> None:
    spec = JobSpec(
        namespace="growth-test",
        model="m",
        gpu=mig_request("1g.10gb"),
        idempotency_key="k",
        tolerations=[ENV_TAINT],
    )
    queued = twin.submit_job(spec)
    assert queued.status is JobStatus.QUEUED
    assert queued.reason == "no test pool offers mig-1g.10gb H100-80GB slots"


def test_node_loss_reschedules_replicas_and_requeues_jobs(twin: SimCluster) -> None:
    running = twin.submit_job(job("a"))
    fault = twin.inject_node_loss("prod-h100-000")
    assert fault.kind == "node_loss"
    dep = twin.deployment("growth-prod", "small")
    assert dep.ready_replicas == 3
    assert {p.node for p in dep.placements} == {"prod-h100-001"}
    assert twin.job(running.id).status is JobStatus.RUNNING  # test node untouched

    twin.inject_node_loss("test-a100-000")
    requeued = twin.job(running.id)
    assert requeued.status is JobStatus.QUEUED
    assert requeued.reason == "no free whole A100-80GB slot in test pools"
    assert [f.kind for f in twin.faults()] == ["node_loss", "node_loss"]
    assert twin.faults()[1].detail["jobs_requeued"] == running.id

    twin.recover_node("test-a100-000")
    assert twin.job(running.id).status is JobStatus.RUNNING
    with pytest.raises(ConflictError, match="not down"):
        twin.recover_node("test-a100-000")


def test_node_loss_without_spare_capacity_leaves_replicas_pending(tmp_path: Path) -> None:
    deps = [deployment("small", "growth-prod", PROD, mig_request("1g.10gb"), replicas=2)]
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(deps, prod_nodes=1))
    twin.inject_node_loss("prod-h100-000")
    assert twin.deployment("growth-prod", "small").ready_replicas == 0
    twin.recover_node("prod-h100-000")
    assert twin.deployment("growth-prod", "small").ready_replicas == 2


def test_quota_cut_blocks_new_work_but_keeps_running_work(twin: SimCluster) -> None:
    running = twin.submit_job(job("a"))
    twin.inject_quota_cut("growth-test", 0.5)
    assert twin.job(running.id).status is JobStatus.RUNNING
    blocked = twin.submit_job(job("b"))
    assert blocked.status is JobStatus.QUEUED
    assert blocked.reason.startswith("quota:")
    ns = twin.namespace("growth-test")
    assert (ns.gpu_quota, ns.gpu_used) == (0.5, 1.0)


def test_noisy_neighbour_raises_latency_of_what_shares_the_gpu(twin: SimCluster) -> None:
    fault = twin.inject_noisy_neighbour("prod-h100-000", 0, factor=2.5)
    assert fault.detail["deployments"] == "growth-prod/small"
    assert twin.deployment("growth-prod", "small").p95_latency_ms == pytest.approx(125.0)
    with pytest.raises(NotFoundError, match="no GPU 7"):
        twin.inject_noisy_neighbour("prod-h100-000", 7)


def test_energy_follows_the_power_model(twin: SimCluster) -> None:
    before = {u.pool: u for u in twin.pool_usage()}
    twin.advance(timedelta(hours=2))
    after = {u.pool: u for u in twin.pool_usage()}
    prod = after["prod-h100"]
    # 4 GPUs; GPU0 busy 2 x 1/7 x 0.5, GPU1 busy 1/7 x 0.5, the rest idle.
    spec = GPU_CATALOGUE[GpuType.H100]
    watts = gpu_power(spec, 1 / 7) + gpu_power(spec, 0.5 / 7) + 2 * gpu_power(spec, 0)
    assert prod.power_w == pytest.approx(watts)
    assert prod.energy_kwh == pytest.approx(watts * 2 / 1000)
    assert before["prod-h100"].energy_kwh == 0
    assert twin.now() == START + timedelta(hours=2)


def test_dry_run_validates_but_changes_nothing(twin: SimCluster) -> None:
    preview = twin.scale("growth-prod", "small", 5, dry_run=True)
    assert (preview.replicas, preview.ready_replicas) == (5, 5)
    assert twin.deployment("growth-prod", "small").replicas == 3
    twin.submit_job(job("a"), dry_run=True)
    assert twin.jobs() == []


def test_scale_down_frees_slots(twin: SimCluster) -> None:
    dep = twin.scale("growth-prod", "small", 1)
    assert dep.ready_replicas == 1
    assert twin.namespace("growth-prod").gpu_used == pytest.approx(1 / 7)
    assert twin.set_model_version("growth-prod", "small", 4).model_version == 4


def test_reset_returns_to_the_seeded_state(twin: SimCluster, tmp_path: Path) -> None:
    fresh = SimCluster.create(
        tmp_path / "fresh.db",
        tiny_spec([deployment("small", "growth-prod", PROD, mig_request("1g.10gb"), replicas=3)]),
    )
    twin.submit_job(job("a"))
    twin.inject_node_loss("prod-h100-000")
    twin.inject_quota_cut("growth-prod", 0)
    twin.advance(timedelta(hours=5))
    twin.reset()
    assert twin.now() == START
    assert twin.jobs() == [] and twin.faults() == []
    assert twin.nodes() == fresh.nodes()
    assert twin.deployments() == fresh.deployments()
    assert twin.namespaces() == fresh.namespaces()


def test_state_is_shared_across_processes(twin: SimCluster, tmp_path: Path) -> None:
    twin.submit_job(job("from-parent"))
    child = textwrap.dedent(f"""
        from pathlib import Path
        from tools.cluster.sim import SimCluster
        twin = SimCluster(Path({str(tmp_path / "cluster.db")!r}))
        assert [j.spec.idempotency_key for j in twin.jobs()] == ["from-parent"]
        twin.inject_node_loss("prod-h100-001")
    """)
    subprocess.run([sys.executable, "-c", child], check=True, cwd=Path(__file__).parents[1])
    assert not next(n for n in twin.nodes() if n.name == "prod-h100-001").ready
    assert [f.target for f in twin.faults()] == ["prod-h100-001"]


def test_bad_input_is_named(twin: SimCluster) -> None:
    with pytest.raises(NotFoundError, match="unknown namespace 'nope'"):
        twin.namespace("nope")
    with pytest.raises(NotFoundError, match="no deployment 'x' in namespace 'growth-prod'"):
        twin.deployment("growth-prod", "x")
    with pytest.raises(NotFoundError, match="unknown node 'n9'"):
        twin.inject_node_loss("n9")
    with pytest.raises(NotFoundError, match="unknown namespace"):
        twin.submit_job(job("k", namespace="nope"))
    with pytest.raises(ConfigError, match="replicas must be >= 0"):
        twin.scale("growth-prod", "small", -1)
    with pytest.raises(ConfigError, match=re.escape("no MIG profile '5g.50gb'")):
        twin.submit_job(
            JobSpec(
                namespace="growth-test", model="m", gpu=mig_request("5g.50gb"), idempotency_key="k"
            )
        )
    with pytest.raises(ConfigError, match="only moves forward"):
        twin.advance(timedelta(hours=-1))


def test_mig_layout_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    spec = tiny_spec()
    spec.pools[0].pool = NodePool(
        name="p",
        env=PROD,
        gpu_type=GpuType.H100,
        gpus_per_node=1,
        sharing=GpuSharing.MIG,
        mig_layout=("4g.40gb", "4g.40gb"),
    )
    with pytest.raises(ConfigError, match="needs 8/7 compute"):
        SimCluster.create(tmp_path / "c.db", spec)


def test_foreign_and_corrupt_twin_files_are_refused(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(StateError, match="not a SQLite database"):
        SimCluster(corrupt)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StateError, match="something else"):
        SimCluster(foreign)
    with pytest.raises(NotFoundError, match="twin is empty"):
        SimCluster(tmp_path / "empty.db").now()
