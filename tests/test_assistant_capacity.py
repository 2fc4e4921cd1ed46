"""The assistant answering through the capacity planner (report, scale-to-zero), read-only."""

from collections.abc import Callable
from typing import Any

import pytest

from agents.assistant import AssistantContext, answer
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, call_tool, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from tests.support.assistant_world import World, snapshot, world
from tools.capacity.energy import CapacityConfig
from tools.capacity.rightsizing import (
    right_sizing_candidates,
    scale_to_zero_candidates,
    slot_equivalents,
)
from tools.capacity.usage import capacity_report
from tools.domain import Deployment, Environment

__all__ = ["world"]  # the shared fixture


@pytest.fixture
def ctx(world: World) -> AssistantContext:
    return AssistantContext(world.registry, world.cluster, capacity=CapacityConfig(idle_days=10))


def test_idle_gpus_per_environment(ctx: AssistantContext, world: World) -> None:
    report = capacity_report(world.cluster, ctx.capacity)
    [test_env] = [u for u in report.envs if u.env is Environment.TEST]
    reply = answer("How many GPUs are idle in test?", ctx)
    assert (reply.intent, reply.facts["by"]) == ("capacity", "env")
    assert reply.facts["idle_gpus"] == pytest.approx(test_env.gpus - test_env.busy, abs=0.01)
    assert reply.facts["cost_per_day"] == pytest.approx(test_env.cost_per_day, abs=0.01)


def test_idle_gpu_hours_per_pool(ctx: AssistantContext, world: World) -> None:
    reply = answer("Idle GPU-hours per pool?", ctx)
    assert reply.facts["by"] == "pool"
    assert sorted(reply.entities) == sorted(p.name for p in world.cluster.node_pools())


def test_scale_to_zero_savings_are_not_a_change(ctx: AssistantContext, world: World) -> None:
    found = scale_to_zero_candidates(world.cluster.deployments(), world.cluster.now(), ctx.capacity)
    before = snapshot(world)
    reply = answer("What would scale-to-zero save?", ctx)
    assert reply.intent == "capacity" and reply.proposals == []
    assert reply.facts["cost_per_day"] == pytest.approx(
        sum(c.cost_per_day for c in found), abs=0.01
    )
    assert snapshot(world) == before


def test_idle_deployments_default_to_the_planners_threshold(ctx: AssistantContext) -> None:
    idle = answer("Which deployments are idle?", ctx).facts["idle"]
    assert isinstance(idle, dict) and idle["days"] == 10


def test_llm_tier_uses_the_capacity_tools(ctx: AssistantContext, world: World) -> None:
    model = ScriptedChatModel(
        [call_tool("capacity_report", {"by": "env"}), say("Most test GPUs are idle.")]
    )
    tier = LlmTier(name="small", base_url="http://unused/v1", model="qwen")
    ctx.llms = (LlmContext(tier=tier, model=model, ledger=UsageLedger()),)
    reply = answer("How many GPUs are idle?", ctx)
    model.assert_complete()
    assert [(c.name, c.status) for c in reply.tool_calls] == [("capacity_report", "ok")]
    assert "idle_gpu_hours_per_day" in str(model.calls[1].messages[-1].content)


def test_energy_questions_answer_power_and_kwh_not_cost(
    ctx: AssistantContext, world: World
) -> None:
    report = capacity_report(world.cluster, ctx.capacity)
    [prod] = [u for u in report.envs if u.env is Environment.PROD]
    day = answer("What is the power draw in prod?", ctx)
    assert (day.intent, day.facts["by"], day.facts["days"]) == ("capacity", "env", 1)
    assert day.facts["power_kw"] == pytest.approx(prod.power_w / 1000, abs=0.01)
    assert day.facts["kwh"] == pytest.approx(prod.power_w * 24 / 1000, abs=0.1)
    prod_pools = [p for p in world.cluster.pool_usage() if p.env is Environment.PROD]
    metered = sum(p.energy_kwh or 0.0 for p in prod_pools)
    assert day.facts["kwh_since_seeding"] == pytest.approx(metered, abs=0.1)
    week = answer("How much energy did the cluster use this week?", ctx)
    assert week.facts["days"] == 7 and "cost_per_day" not in week.facts
    assert week.facts["power_kw"] == pytest.approx(
        sum(u.power_w for u in report.envs) / 1000, abs=0.01
    )


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("Which models have the highest latency in prod?", "latency"),
        ("What's the busiest model in prod?", "traffic"),
        ("Which prod deployments use the most GPUs?", "gpus"),
    ],
)
def test_deployments_ranked(ctx: AssistantContext, world: World, question: str, key: str) -> None:
    prod = [d for d in world.cluster.deployments() if d.env is Environment.PROD and d.replicas]
    value: Callable[[Deployment], float] = {
        "latency": lambda d: d.p95_latency_ms,
        "traffic": lambda d: d.requests_per_s,
        "gpus": lambda d: slot_equivalents(d.gpu) * d.replicas,
    }[key]
    reply = answer(question, ctx)
    assert (reply.intent, reply.facts["by"]) == ("top_deployments", key)
    ranked: Any = reply.facts["ranked"]
    top = sorted(prod, key=lambda d: (-value(d), d.namespace, d.name))[:10]
    assert [m for m, _ in ranked] == [d.model for d in top]


def test_oversized_deployments_are_the_planners_right_sizing(
    ctx: AssistantContext, world: World
) -> None:
    expected = right_sizing_candidates(
        world.cluster.deployments(), world.cluster.node_pools(), ctx.capacity
    )
    reply = answer("which deployments could be scaled down?", ctx)
    assert (reply.intent, reply.facts["count"]) == ("right_sizing", len(expected))
    assert sorted(reply.entities) == sorted(r.model for r in expected)


def test_namespaces_close_to_their_quota(ctx: AssistantContext, world: World) -> None:
    near = [
        ns.name
        for ns in world.cluster.namespaces()
        if ns.gpu_quota and ns.gpu_used >= 0.8 * ns.gpu_quota
    ]
    reply = answer("which namespaces are close to their quota?", ctx)
    assert reply.intent == "quota" and sorted(reply.entities) == sorted(near)
    everything = answer("what is the GPU quota of each namespace?", ctx)
    assert len(everything.entities) > len(near)
