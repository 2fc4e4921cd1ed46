"""The capacity planner says why a prod job waits for Kueue quota and proposes a queue patch.

The patch goes the capacity planner's one way: the compliance gate, a human for prod (four
eyes), dry-run first, executed once, audited.
"""

from datetime import UTC, datetime
from pathlib import Path

from agents.capacity.apply import ApplyWorld, apply_plan, capacity_key, execute_approved
from agents.capacity.plan import build_plan
from memory.approvals import ApprovalQueue
from memory.audit import AuditLog
from tests.support.kueue_twins import cq, pool
from tests.support.twin_specs import A100, START
from tools.capacity.energy import CapacityConfig
from tools.cluster.sim import ClusterSpec, SimCluster
from tools.domain import Environment, GpuType, JobSpec, JobStatus, Namespace, NodePool
from tools.domain.gpus import GpuSharing
from tools.domain.queues import (
    LocalQueue,
    QueueConfig,
    QueuePatch,
    ReclaimPolicy,
    ResourceFlavor,
)
from tools.policy.action import ActionKind
from tools.policy.gate import ComplianceGate
from tools.registry import MlflowRegistry

CONFIG = CapacityConfig()


def _shared_pool_twin(path: Path, *, prod_jobs: int, research_jobs: int) -> SimCluster:
    """prod-cq (nominal 8) and research-cq (nominal 2) share flavor a100 in cohort gpu-pool;
    research runs first and borrows what prod does not use."""
    prod_pool = pool("test-a100", 2).model_copy(
        update={
            "pool": NodePool(
                name="prod-a100",
                env=Environment.PROD,
                gpu_type=GpuType.A100,
                gpus_per_node=8,
                sharing=GpuSharing.EXCLUSIVE,
            )
        }
    )
    spec = ClusterSpec(
        seed=1,
        start=START,
        pools=[pool("test-a100", 2), prod_pool],
        namespaces=[
            Namespace(name="fraud-prod", env=Environment.PROD, owner="fraud"),
            Namespace(name="research", env=Environment.TEST, owner="research"),
        ],
        deployments=[],
        queues=QueueConfig(
            flavors=[
                ResourceFlavor(name="a100", node_labels={"nvidia.com/gpu.product": "A100-80GB"})
            ],
            cluster_queues=[
                cq("prod-cq", 8, cohort="gpu-pool", flavor="a100"),
                cq("research-cq", 2, cohort="gpu-pool", flavor="a100"),
            ],
            local_queues=[
                LocalQueue(namespace="fraud-prod", name="default", cluster_queue="prod-cq"),
                LocalQueue(namespace="research", name="default", cluster_queue="research-cq"),
            ],
        ),
    )
    twin = SimCluster.create(path, spec)
    for i in range(research_jobs):
        twin.submit_job(_job("research", f"r{i}", priority=0))
    for i in range(prod_jobs):
        twin.submit_job(_job("fraud-prod", f"p{i}", priority=100))
    return twin


def _job(namespace: str, key: str, priority: int) -> JobSpec:
    return JobSpec(
        namespace=namespace,
        model=f"{namespace}-model",
        gpu=A100,
        duration_s=36000,
        idempotency_key=key,
        priority=priority,
    )


def test_a_prod_job_waiting_for_lent_quota_is_diagnosed_with_a_queue_patch(
    tmp_path: Path,
) -> None:
    twin = _shared_pool_twin(tmp_path / "t.db", prod_jobs=3, research_jobs=8)
    waiting = [j for j in twin.jobs("fraud-prod") if j.status is JobStatus.QUEUED]
    assert len(waiting) == 1  # 8 nominal - 6 lent = 2 admitted
    plan = build_plan(twin, CONFIG)
    (wait,) = plan.queue_waits
    assert wait.job_id == waiting[0].id and wait.cluster_queue == "prod-cq"
    assert "nominal 8, 2 used; 6 lent in cohort gpu-pool (research-cq borrows 6)" in wait.message
    assert "reclaimWithinCohort=Never so it cannot reclaim" in wait.message
    # every borrowing workload has lower priority: the narrowest policy that frees quota
    assert wait.patch == QueuePatch(reclaim_within_cohort=ReclaimPolicy.LOWER_PRIORITY)
    (action,) = [a for a in plan.actions if a.action.kind is ActionKind.PATCH_QUEUE]
    assert action.cluster_queue == "prod-cq" and action.action.namespace == "fraud-prod"


def test_legitimate_borrowing_is_not_fixed(tmp_path: Path) -> None:
    # prod uses its own 8 and wants a 9th: research borrowing nothing of prod's is fine
    twin = _shared_pool_twin(tmp_path / "a.db", prod_jobs=9, research_jobs=2)
    plan = build_plan(twin, CONFIG)
    (wait,) = plan.queue_waits
    assert wait.patch is None and "cohort borrowing is legitimate" in wait.message
    assert not [a for a in plan.actions if a.action.kind is ActionKind.PATCH_QUEUE]
    # research borrowing prod's unused quota while no prod job waits: nothing to diagnose
    idle = _shared_pool_twin(tmp_path / "b.db", prod_jobs=0, research_jobs=8)
    assert build_plan(idle, CONFIG).queue_waits == []
    assert not [a for a in build_plan(idle, CONFIG).actions if a.cluster_queue]


def test_the_queue_patch_is_gated_approved_dry_run_first_and_audited_once(
    tmp_path: Path, registry: MlflowRegistry
) -> None:
    twin = _shared_pool_twin(tmp_path / "t.db", prod_jobs=3, research_jobs=8)
    now = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
    world = ApplyWorld(
        cluster=twin,
        audit=AuditLog(tmp_path / "audit.db", key_file=tmp_path / "audit.key"),
        approvals=ApprovalQueue(tmp_path / "approvals.db"),
        gate=ComplianceGate(registry=registry, cluster=twin, now=now),
        clock=lambda: now,
    )
    plan = build_plan(twin, CONFIG, proposer="carol")
    (outcome,) = [o for o in apply_plan(plan, world) if o.kind == "patch_queue"]
    assert outcome.status == "waiting_approval" and outcome.approval_id is not None
    before = twin.queues().cluster_queue("prod-cq")
    assert before is not None and before.preemption.reclaim_within_cohort is ReclaimPolicy.NEVER
    request = world.approvals.decide(outcome.approval_id, "erin", True, now, None)
    done = execute_approved(request, world)
    assert done.status == "executed"
    after = twin.queues().cluster_queue("prod-cq")
    assert after is not None
    assert after.preemption.reclaim_within_cohort is ReclaimPolicy.LOWER_PRIORITY
    assert all(j.status is JobStatus.RUNNING for j in twin.jobs("fraud-prod"))
    assert sum(j.status is JobStatus.RUNNING for j in twin.jobs("research")) == 7
    (action,) = [a for a in plan.actions if a.action.kind is ActionKind.PATCH_QUEUE]
    record = world.audit.find(capacity_key(plan.id, action.n))
    assert record is not None and record.data["approver"] == "erin"
    assert execute_approved(request, world).status == "already_done"
