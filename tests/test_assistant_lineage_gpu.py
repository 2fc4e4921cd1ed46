"""The assistant at tier 0 on a version's lineage (where it was validated, what data trained
it, its change kind) and on the GPU, slice and nodes a model's deployment runs on."""

from typing import Any

import pytest

from agents.assistant import AssistantContext, answer
from tests.support.assistant_world import World, world
from tools.registry import CHAMPION

__all__ = ["world"]  # the shared fixture


@pytest.fixture
def ctx(world: World) -> AssistantContext:
    return AssistantContext(world.registry, world.cluster, user="alice")


def _deployed(world: World) -> str:
    return sorted(d.model for d in world.cluster.deployments() if d.placements)[0]


def test_the_champions_lineage_is_answered(ctx: AssistantContext, world: World) -> None:
    model = _deployed(world)
    champion = world.registry.get_alias(model, CHAMPION)
    reply = answer(
        f"where was the current {model} champion validated and what data was it trained on?", ctx
    )
    assert reply.intent == "versions" and model in reply.entities
    assert f"trained on {champion.lineage.training_data}" in reply.text
    if champion.lineage.promoted_from is not None:
        assert f"validated in {champion.lineage.promoted_from.value}" in reply.text


def test_comparing_challenger_and_champion_is_not_the_change_log(
    ctx: AssistantContext, world: World
) -> None:
    model = _deployed(world)
    reply = answer(f"what changed in the {model} challenger compared to the champion?", ctx)
    assert reply.intent == "versions"
    assert answer(f"what changed for {model} this week?", ctx).intent == "changes"


def test_a_models_gpu_slice_nodes_and_replicas(ctx: AssistantContext, world: World) -> None:
    model = _deployed(world)
    [dep] = [d for d in world.cluster.deployments() if d.model == model][:1]
    reply = answer(f"which GPU and MIG profile does {model} run on, and how many replicas?", ctx)
    assert reply.intent == "model_gpu"
    rows: Any = reply.facts["deployments"]
    [row] = [r for r in rows if r["name"] == dep.name][:1]
    assert row["gpu"].startswith(dep.gpu.gpu_type.value)
    assert row["nodes"] == sorted({p.node for p in dep.placements})
    assert f"{dep.ready_replicas}/{dep.replicas} replicas" in reply.text
    # the nodes question without a model still lists nodes
    assert answer("which GPUs are idle in test?", ctx).intent == "nodes"
