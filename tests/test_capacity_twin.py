"""The twin's capacity operations (resize, move, defer) keep it consistent and are idempotent."""

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.twin_specs import A100, ENV_TAINT, START, deployment, mig_request, tiny_spec
from tests.test_twin_invariants import check_invariants
from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec, JobStatus
from tools.errors import ConfigError, ConflictError

DEPLOYMENTS = [
    deployment("small", "growth-prod", Environment.PROD, mig_request("1g.10gb"), replicas=2),
    deployment("big", "growth-prod", Environment.PROD, mig_request("3g.40gb"), replicas=2),
]
PROFILES = ["1g.10gb", "2g.20gb", "3g.40gb"]
TARGETS = [("prod-h100-000", 0), ("prod-h100-000", 1), ("prod-h100-001", 0), ("prod-h100-001", 1)]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("resize"), st.sampled_from(["small", "big"]), st.sampled_from(PROFILES)),
        st.tuples(
            st.just("move"), st.sampled_from(["small", "big"]), st.integers(0, 2),
            st.sampled_from(TARGETS),
        ),
        st.tuples(st.just("scale"), st.sampled_from(["small", "big"]), st.integers(0, 4)),
        st.tuples(st.just("job"), st.integers(0, 3), st.integers(0, 12)),
        st.tuples(st.just("advance"), st.floats(0.1, 6)),
    ),
    max_size=20,
)  # fmt: skip


def _apply(twin: SimCluster, op: tuple[object, ...]) -> None:
    try:
        match op:
            case ("resize", str(name), str(profile)):
                twin.resize("growth-prod", name, mig_request(profile))
            case ("move", str(name), int(replica), (str(node), int(gpu))):
                twin.move_replica("growth-prod", name, replica, node, gpu)
            case ("scale", str(name), int(replicas)):
                twin.scale("growth-prod", name, replicas)
            case ("job", int(key), int(hold_hours)):
                job = twin.submit_job(
                    JobSpec(
                        namespace="growth-test",
                        model="m",
                        gpu=A100,
                        duration_s=3600,
                        idempotency_key=f"k{key}",
                        tolerations=[ENV_TAINT],
                    )
                )
                if job.status is JobStatus.QUEUED:
                    twin.defer_job(job.id, twin.now() + timedelta(hours=hold_hours))
            case ("advance", float(hours)):
                twin.advance(timedelta(hours=hours))
    except ConflictError:
        pass  # refused as a whole: the invariants must still hold


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_capacity_operations_keep_the_twin_consistent(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        twin = SimCluster.create(Path(tmp) / "c.db", tiny_spec(DEPLOYMENTS))
        for op in ops:
            _apply(twin, op)
            check_invariants(twin)
            for job in (j for j in twin.jobs() if j.status is JobStatus.RUNNING):
                hold = job.spec.not_before
                assert hold is None or (job.started_at is not None and job.started_at >= hold)
        twin.close()


def test_resize_is_all_or_nothing_and_idempotent(tmp_path: Path) -> None:
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(DEPLOYMENTS))
    before = twin.deployment("growth-prod", "big")
    done = twin.resize("growth-prod", "big", mig_request("2g.20gb"))
    assert done.gpu.mig_profile == "2g.20gb" and done.ready_replicas == 2
    assert done.gpu_utilisation == pytest.approx(before.gpu_utilisation * 3 / 2)
    assert twin.resize("growth-prod", "big", mig_request("2g.20gb")) == done
    twin.scale("growth-prod", "small", 7)  # 7 of the 8 1g.10gb slots taken
    with pytest.raises(ConflictError, match=r"only 1 of 2 replicas find a free slot"):
        twin.resize("growth-prod", "big", mig_request("1g.10gb"))
    assert twin.deployment("growth-prod", "big") == done  # nothing changed
    with pytest.raises(ConfigError, match=r"has no MIG profile '9g\.99gb'"):
        twin.resize("growth-prod", "big", mig_request("9g.99gb"))
    check_invariants(twin)


def test_move_refuses_with_the_reason_and_defer_only_queued_jobs(tmp_path: Path) -> None:
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(DEPLOYMENTS))
    with pytest.raises(ConflictError, match="serves test, not prod"):
        twin.move_replica("growth-prod", "small", 0, "test-a100-000", 0)
    with pytest.raises(ConflictError, match="replica 7 of growth-prod/small is not running"):
        twin.move_replica("growth-prod", "small", 7, "prod-h100-001", 0)
    job = twin.submit_job(
        JobSpec(namespace="growth-test", model="m", gpu=A100, idempotency_key="x",
                tolerations=[ENV_TAINT])
    )  # fmt: skip
    assert job.status is JobStatus.RUNNING
    with pytest.raises(ConflictError, match="only a queued job can be rescheduled"):
        twin.defer_job(job.id, START + timedelta(hours=3))
