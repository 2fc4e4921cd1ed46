"""Scale-to-zero, right-sizing, consolidation and carbon-aware job windows on built worlds."""

from datetime import timedelta
from pathlib import Path

import pytest

from agents.capacity.explain import explain
from agents.capacity.plan import build_plan
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from tests.support.twin_specs import A100, ENV_TAINT, START, deployment, mig_request, tiny_spec
from tests.test_twin_invariants import check_invariants
from tools.capacity.consolidation import consolidate
from tools.capacity.energy import CapacityConfig, CarbonCurve, load_carbon_curve
from tools.capacity.rightsizing import right_sizing_candidates, scale_to_zero_candidates
from tools.capacity.usage import capacity_report, job_kwh
from tools.capacity.windows import schedule_jobs
from tools.catalog import READ_ONLY_TOOLS, ToolContext
from tools.cluster.sim import SimCluster
from tools.domain import Environment, JobSpec, JobStatus
from tools.errors import ConfigError
from tools.registry import MlflowRegistry
from tools.runtime.runner import ToolRunner

CONFIG = CapacityConfig()
PROD = Environment.PROD


def test_scale_to_zero_and_right_sizing_are_found_exactly() -> None:
    deps = [
        deployment("idle", "growth-prod", PROD, mig_request("1g.10gb"), requests_per_s=0.0,
                   last_request_at=START - timedelta(days=10)),
        deployment("quiet", "growth-prod", PROD, mig_request("1g.10gb"), requests_per_s=0.0,
                   last_request_at=START - timedelta(days=3)),
        deployment("roomy", "growth-prod", PROD, mig_request("3g.40gb"), gpu_utilisation=0.2,
                   gpu_memory_gb=15.0, replicas=2),
        deployment("hot", "growth-prod", PROD, mig_request("3g.40gb"), gpu_utilisation=0.9,
                   gpu_memory_gb=15.0),
        deployment("tiny", "growth-prod", PROD, mig_request("2g.20gb"), gpu_utilisation=0.1,
                   gpu_memory_gb=8.0),
        deployment("unknown-memory", "growth-prod", PROD, mig_request("2g.20gb"),
                   gpu_utilisation=0.1),
    ]  # fmt: skip
    spec = tiny_spec(deps)
    idle = scale_to_zero_candidates(spec.deployments, START, CONFIG)
    assert [(s.name, s.replicas, round(s.idle_days)) for s in idle] == [("idle", 1, 10)]
    assert idle[0].gpu_equivalents == pytest.approx(1 / 7)
    assert idle[0].cost_per_day == pytest.approx(1 / 7 * 2.5 * 24)
    sized = right_sizing_candidates(spec.deployments, [p.pool for p in spec.pools], CONFIG)
    found = {(r.name, r.current, r.target.mig_profile) for r in sized}
    assert found == {("roomy", "3g.40gb", "2g.20gb"), ("tiny", "2g.20gb", "1g.10gb")}
    roomy = next(r for r in sized if r.name == "roomy")
    assert roomy.utilisation_after == pytest.approx(0.3)
    assert roomy.gpu_equivalents_saved == pytest.approx(2 * 1 / 7)


def test_consolidation_empties_a_fragmented_gpu_and_the_twin_executes_it(tmp_path: Path) -> None:
    deps = [
        deployment("b", "growth-prod", PROD, mig_request("3g.40gb")),
        deployment("a", "growth-prod", PROD, mig_request("1g.10gb"), replicas=2),
        deployment("c", "growth-prod", PROD, mig_request("1g.10gb"), replicas=2),
    ]
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(deps, prod_nodes=1))
    twin.scale("growth-prod", "a", 0)  # frees the 1g slots on gpu0; c sits alone on gpu1
    plan = consolidate(twin.nodes(), twin.deployments(), twin.node_pools())
    assert [(m.name, m.from_gpu, m.to_gpu) for m in plan.moves] == [("c", 1, 0), ("c", 1, 0)]
    assert plan.gpus_freed == {"prod-h100": 1} and plan.nodes_freed == []
    for m in plan.moves:
        twin.move_replica(m.namespace, m.name, m.replica, m.to_node, m.to_gpu)
        twin.move_replica(m.namespace, m.name, m.replica, m.to_node, m.to_gpu)  # idempotent
    assert {p.gpu_index for p in twin.deployment("growth-prod", "c").placements} == {0}
    gpu1 = twin.nodes(PROD)[0].gpus[1]
    assert all(s.occupant is None for s in gpu1.slots)
    check_invariants(twin)


def _queued_world(tmp_path: Path, quota: float) -> SimCluster:
    spec = tiny_spec()
    spec.namespaces[1].gpu_quota = quota  # growth-test
    twin = SimCluster.create(tmp_path / "c.db", spec)
    for key, hours in (("a", 4.0), ("b", 2.0), ("c", 2.0)):
        twin.submit_job(
            JobSpec(
                namespace="growth-test",
                model=key,
                gpu=A100,
                duration_s=hours * 3600,
                idempotency_key=key,
                tolerations=[ENV_TAINT],
            )
        )
    return twin


def test_jobs_go_to_the_cleanest_window_within_quota(tmp_path: Path) -> None:
    twin = _queued_world(tmp_path, quota=1.0)  # one job at a time: a runs 06-10, b, c queue
    assert [j.status for j in twin.jobs()] == [
        JobStatus.RUNNING,
        JobStatus.QUEUED,
        JobStatus.QUEUED,
    ]
    plan = schedule_jobs(twin.jobs(), twin.nodes(), twin.namespaces(), twin.now(), CONFIG)
    starts = {s.model: s.start for s in plan}
    # cleanest 2-hour window after a ends is 12-14 (150, 145 g/kWh); c may not overlap b
    assert starts == {"b": START.replace(hour=12), "c": START.replace(hour=14)}
    b = next(s for s in plan if s.model == "b")
    assert b.baseline_start == START.replace(hour=10)
    assert b.saving_g_co2e == pytest.approx(b.kwh * ((250 + 190) / 2 - (150 + 145) / 2))
    assert b.kwh == pytest.approx(job_kwh(twin.job("job-00002")))
    for s in plan:
        assert s.start is not None
        twin.defer_job(s.job_id, s.start)
    twin.advance(timedelta(hours=12))
    started = {j.spec.model: j.started_at for j in twin.jobs()}
    assert started["b"] == START.replace(hour=12) and started["c"] == START.replace(hour=14)
    check_invariants(twin)


def test_a_deadline_limits_the_window_and_an_impossible_one_is_explained(tmp_path: Path) -> None:
    twin = _queued_world(tmp_path, quota=2.0)  # two GPUs: a and b run, c queues until 08:00
    job_c = twin.jobs()[2]
    assert job_c.status is JobStatus.QUEUED
    tight = job_c.model_copy(
        update={"spec": job_c.spec.model_copy(update={"deadline": START.replace(hour=11)})}
    )
    jobs = [*twin.jobs()[:2], tight]
    (plan,) = schedule_jobs(jobs, twin.nodes(), twin.namespaces(), twin.now(), CONFIG)
    assert plan.start == START.replace(hour=9)  # 08-10 or 09-11: 09-11 is cleaner
    late = tight.model_copy(
        update={"spec": tight.spec.model_copy(update={"deadline": START.replace(hour=9)})}
    )
    (plan,) = schedule_jobs([*jobs[:2], late], twin.nodes(), twin.namespaces(), twin.now(), CONFIG)
    assert plan.start is None and "quota or slots stay taken" in plan.reason


def test_plan_and_report_on_a_twin(tmp_path: Path) -> None:
    deps = [
        deployment("idle", "growth-prod", PROD, mig_request("1g.10gb"), requests_per_s=0.0,
                   last_request_at=START - timedelta(days=30)),
        deployment("roomy", "growth-prod", PROD, mig_request("3g.40gb"), gpu_utilisation=0.2,
                   gpu_memory_gb=15.0),
    ]  # fmt: skip
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(deps))
    plan = build_plan(twin, CONFIG)
    kinds = [(a.action.kind.value, a.action.deployment) for a in plan.actions]
    assert kinds == [("scale", "idle"), ("resize", "roomy")]
    (prod,) = [p for p in plan.packing if p.pool == "prod-h100"]
    assert (prod.replicas, prod.current_gpus, prod.plan_gpus, prod.lower_bound) == (2, 1, 1, 1)
    report = capacity_report(twin, CONFIG)
    pool = next(p for p in report.pools if p.name == "prod-h100")
    assert pool.gpus == 4 and pool.requested == pytest.approx(4 / 7)
    assert pool.busy == pytest.approx(1 / 7 * 0.5 + 3 / 7 * 0.2)
    assert pool.cost_per_day == pytest.approx(4 * 2.5 * 24)
    assert pool.idle_gpu_hours_per_day == pytest.approx((4 - pool.busy) * 24)
    ns = next(n for n in report.namespaces if n.name == "growth-prod")
    assert ns.requested == pytest.approx(4 / 7) and ns.quota == 4.0


def test_carbon_curve_file_and_bad_curves(tmp_path: Path) -> None:
    path = tmp_path / "curve.yaml"
    path.write_text("[" + ", ".join(str(100 + h) for h in range(24)) + "]")
    curve = load_carbon_curve(path)
    assert curve.at(START) == 106 and curve.average_over(START, 2) == pytest.approx(106.5)
    path.write_text("[1, 2, 3]")
    with pytest.raises(ConfigError, match="needs 24 non-negative gCO2e/kWh values"):
        load_carbon_curve(path)
    assert load_carbon_curve(None) == CarbonCurve()


def test_capacity_tools_are_read_only_and_answer(tmp_path: Path, registry: MlflowRegistry) -> None:
    deps = [
        deployment("idle", "growth-prod", PROD, mig_request("1g.10gb"), requests_per_s=0.0,
                   last_request_at=START - timedelta(days=30)),
    ]  # fmt: skip
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec(deps))
    runner = ToolRunner(READ_ONLY_TOOLS, ToolContext(registry=registry, cluster=twin))
    assert {"capacity_report", "capacity_savings", "low_carbon_window"} <= {
        t.name for t in READ_ONLY_TOOLS
    }
    report = runner.call("capacity_report", {"by": "namespace", "env": "prod"})
    assert report.status == "ok" and isinstance(report.data, list)
    assert [r["name"] for r in report.data if isinstance(r, dict)] == ["growth-prod"]
    savings = runner.call("capacity_savings", {})
    assert savings.status == "ok" and isinstance(savings.data, dict)
    assert savings.data["scale_to_zero_total"] == 1
    window = runner.call("low_carbon_window", {"hours": 2, "within_hours": 12})
    assert window.status == "ok" and isinstance(window.data, dict)
    assert window.data["start"] == START.replace(hour=12).isoformat()  # 06:00 + 12 h: noon
    assert twin.deployment("growth-prod", "idle").replicas == 1  # nothing changed


def test_an_llm_tier_explains_and_a_bad_answer_falls_back(tmp_path: Path) -> None:
    twin = SimCluster.create(tmp_path / "c.db", tiny_spec())
    plan = build_plan(twin, CONFIG)
    tier = LlmTier(name="small", base_url="http://unused/v1", model="qwen")
    good = ScriptedChatModel([say('{"summary": "Pool is tight.", "highlights": ["no waste"]}')])
    ledger = UsageLedger()
    explained = explain(plan, LlmContext(tier=tier, model=good, ledger=ledger))
    good.assert_complete()
    assert explained.explained_by == "small"
    assert explained.explanation == "Pool is tight.\n- no waste"
    assert explained.actions == plan.actions  # the LLM never changes the plan
    bad = ScriptedChatModel([say("sure!"), say('{"summary": 3}')])
    fallback = explain(plan, LlmContext(tier=tier, model=bad, ledger=ledger))
    bad.assert_complete()
    assert fallback.explained_by == "tier0" and fallback.explanation.startswith("Plan ")
    assert explain(plan, None).explanation == fallback.explanation


def test_a_slot_smaller_than_the_servers_memory_must_grow() -> None:
    deps = [
        deployment("cramped", "growth-prod", PROD, mig_request("1g.10gb"), gpu_utilisation=0.1,
                   gpu_memory_gb=14.0, replicas=2),
        deployment("fits", "growth-prod", PROD, mig_request("1g.10gb"), gpu_utilisation=0.1,
                   gpu_memory_gb=9.0),
    ]  # fmt: skip
    spec = tiny_spec(deps)
    sized = right_sizing_candidates(spec.deployments, [p.pool for p in spec.pools], CONFIG)
    [grow] = sized
    assert (grow.name, grow.current, grow.too_small) == ("cramped", "1g.10gb", True)
    assert grow.target.mig_profile is not None
    offered = {p for pool in spec.pools for p in pool.pool.mig_layout}
    assert grow.target.mig_profile in offered
    memory = int(grow.target.mig_profile.split(".")[1].removesuffix("gb"))
    assert memory >= 14 and grow.gpu_equivalents_saved <= 0
