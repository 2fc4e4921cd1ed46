"""Property test: any sequence of twin operations keeps the cluster consistent."""

import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.twin_specs import A100, ENV_TAINT, L4_SHARED, deployment, mig_request, tiny_spec
from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec, JobStatus
from tools.errors import ConflictError

DEPLOYMENTS = [
    deployment("small", "growth-prod", Environment.PROD, mig_request("1g.10gb"), replicas=2),
    deployment("big", "growth-prod", Environment.PROD, mig_request("3g.40gb"), replicas=2),
    deployment("dev", "growth-dev", Environment.DEV, L4_SHARED, replicas=2),
]
NODES = ["prod-h100-000", "prod-h100-001", "test-a100-000", "dev-l4-000"]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("scale"), st.sampled_from(DEPLOYMENTS), st.integers(0, 6)),
        st.tuples(st.just("job"), st.integers(0, 5), st.floats(0.5, 6)),
        st.tuples(st.just("lose"), st.sampled_from(NODES)),
        st.tuples(st.just("recover"), st.sampled_from(NODES)),
        st.tuples(st.just("advance"), st.floats(0.1, 8)),
    ),
    max_size=25,
)


def apply(twin: SimCluster, op: tuple[object, ...]) -> None:
    match op:
        case ("scale", dep, replicas):
            assert isinstance(replicas, int)
            twin.scale(dep.namespace, dep.name, replicas)  # type: ignore[attr-defined]
        case ("job", key, hours):
            assert isinstance(hours, float)
            twin.submit_job(
                JobSpec(
                    namespace="growth-test",
                    model="m",
                    gpu=A100,
                    duration_s=hours * 3600,
                    idempotency_key=f"k{key}",
                    tolerations=[ENV_TAINT],
                )
            )
        case ("lose", node):
            try:
                twin.inject_node_loss(str(node))
            except ConflictError:
                pass
        case ("recover", node):
            try:
                twin.recover_node(str(node))
            except ConflictError:
                pass
        case ("advance", hours):
            assert isinstance(hours, float)
            twin.advance(timedelta(hours=hours))


def check_invariants(twin: SimCluster) -> None:
    nodes = {n.name: n for n in twin.nodes()}
    holders: Counter[tuple[str, str, str]] = Counter()
    for node in nodes.values():
        for gpu in node.gpus:
            for slot in gpu.slots:
                if slot.occupant is not None:
                    assert node.ready, f"{node.name} is down but {slot.id} is occupied"
                    holders[(slot.occupant.kind, slot.occupant.namespace, slot.occupant.name)] += 1
    for dep in twin.deployments():
        assert dep.ready_replicas <= dep.replicas
        assert holders[("deployment", dep.namespace, dep.name)] == dep.ready_replicas
        for p in dep.placements:
            slot = next(
                s
                for g in nodes[p.node].gpus
                for s in g.slots
                if s.id == p.slot_id and g.index == p.gpu_index
            )
            assert slot.occupant is not None and slot.occupant.name == dep.name
    for job in twin.jobs():
        running = job.status is JobStatus.RUNNING
        assert holders[("job", job.spec.namespace, job.id)] == int(running)
        assert (job.placement is not None) == (running or job.status is JobStatus.SUCCEEDED)
    for ns in twin.namespaces():
        assert ns.gpu_quota is None or ns.gpu_used <= ns.gpu_quota + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_any_operation_sequence_keeps_the_twin_consistent(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = tiny_spec(DEPLOYMENTS)
        spec.namespaces[0].gpu_quota = 2.0  # tight enough that scaling up hits it
        twin = SimCluster.create(Path(tmp) / "c.db", spec)
        check_invariants(twin)
        for op in ops:
            apply(twin, op)
            check_invariants(twin)
        twin.close()
