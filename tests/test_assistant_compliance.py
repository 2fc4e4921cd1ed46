"""The assistant answering through the compliance reviewer (scan and gate), read-only."""

from typing import Any

import pytest

from agents.assistant import AssistantContext, answer
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, call_tool, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from tests.support.assistant_world import World, logging_gap, snapshot, world
from tools.domain import AiActRisk, Environment
from tools.fleet.spec import FleetSpec

__all__ = ["world"]  # the shared fixture


@pytest.fixture
def ctx(world: World) -> AssistantContext:
    return AssistantContext(world.registry, world.cluster, user="erin")


def test_which_models_fail_a_policy(ctx: AssistantContext, small_fleet: FleetSpec) -> None:
    gap = logging_gap(small_fleet)
    reply = answer("Which models fail policy AIA-01?", ctx)
    assert reply.intent == "compliance"
    assert reply.facts["failing"] == {"AIA-01": [gap]} and reply.entities == [gap]


def test_compliance_status_of_a_model(ctx: AssistantContext, small_fleet: FleetSpec) -> None:
    gap = logging_gap(small_fleet)
    reply = answer(f"Is {gap} compliant?", ctx)
    assert reply.intent == "compliance"
    assert reply.facts["compliant"] == {gap: False}
    failing = reply.facts["failing_policies"]
    assert isinstance(failing, dict) and "AIA-01" in failing[gap]  # type: ignore[operator]


def test_unknown_policy_is_named(ctx: AssistantContext) -> None:
    reply = answer("Which models fail policy ZZZ-99?", ctx)
    assert reply.intent == "compliance" and "There is no policy ZZZ-99" in reply.text


def test_allowed_into_prod_is_a_gate_review_only(
    ctx: AssistantContext, world: World, small_fleet: FleetSpec
) -> None:
    plan = next(
        p
        for p in small_fleet.models
        if p.model.env is Environment.PROD and p.model.ai_act_risk is AiActRisk.HIGH
    )
    before = snapshot(world)
    reply = answer(f"Is {plan.model.name} allowed into prod?", ctx)
    assert reply.intent == "compliance" and reply.proposals == []
    gate = reply.facts["gate"]
    assert isinstance(gate, list) and isinstance(gate[0], dict)
    assert gate[0]["verdict"] in ("needs_approval", "deny")  # prod + high-risk: never "allow"
    assert any("AIA-06" in str(r) for r in gate[0]["reasons"])  # type: ignore[union-attr]
    assert snapshot(world) == before


def test_proposals_carry_the_gate_verdict(ctx: AssistantContext, small_fleet: FleetSpec) -> None:
    plan = next(
        p
        for p in small_fleet.models
        if p.model.env is Environment.PROD and p.model.ai_act_risk is not AiActRisk.HIGH
    )
    reply = answer(f"retrain {plan.model.name}", ctx)
    [proposal] = reply.proposals
    gate = reply.facts["gate"]
    assert isinstance(gate, list) and isinstance(gate[0], dict)
    assert gate[0]["proposal"] == proposal.detail
    assert gate[0]["verdict"] == "needs_approval"  # prod always needs a human (SEG-05)


def test_llm_tier_reaches_the_compliance_reviewer(world: World, small_fleet: FleetSpec) -> None:
    gap = logging_gap(small_fleet)
    plan = next(p for p in small_fleet.models if p.model.name == gap)
    model = ScriptedChatModel(
        [
            call_tool("compliance_findings", {"policy_id": "AIA-01"}),
            call_tool(
                "review_action",
                {"kind": "set_alias", "model": gap, "version": plan.champion, "alias": "champion"},
            ),
            say(f"{gap} fails AIA-01 and its promotion needs a human."),
        ]
    )
    tier = LlmTier(name="small", base_url="http://unused/v1", model="qwen")
    ctx = AssistantContext(
        world.registry,
        world.cluster,
        llms=(LlmContext(tier=tier, model=model, ledger=UsageLedger()),),
    )
    before = snapshot(world)
    reply = answer(f"Is {gap} compliant?", ctx)
    model.assert_complete()
    assert reply.tier == "small" and reply.entities == [gap]
    assert [(c.name, c.status) for c in reply.tool_calls] == [
        ("compliance_findings", "ok"),
        ("review_action", "ok"),
    ]
    findings = str(model.calls[1].messages[-1].content)
    assert gap in findings and "AIA-01" in findings
    assert '"verdict":"needs_approval"' in str(model.calls[2].messages[-1].content)
    assert reply.proposals == [] and snapshot(world) == before


def test_a_topic_names_its_policy(ctx: AssistantContext, small_fleet: FleetSpec) -> None:
    gap = logging_gap(small_fleet)
    fleet = answer("Which high-risk models don't log their inferences?", ctx)
    assert fleet.intent == "compliance" and fleet.facts["failing"] == {"AIA-01": [gap]}
    one = answer(f"Does {gap} log its inferences?", ctx)
    assert one.facts["failing_policies"] == {gap: ["AIA-01"]}
    minimal = next(
        p.model.name for p in small_fleet.models if p.model.ai_act_risk is AiActRisk.MINIMAL
    )
    assert "does not apply" in answer(f"does {minimal} log its inferences?", ctx).text


def test_the_ai_act_keeps_to_its_own_policies(ctx: AssistantContext) -> None:
    everything = answer("Which policies fail?", ctx)
    act = answer("Are we compliant with the EU AI Act?", ctx)
    failing: Any = act.facts["failing"]
    assert all(pid.startswith("AIA-") for pid in failing)
    all_failing: Any = everything.facts["failing"]
    assert failing == {p: s for p, s in all_failing.items() if p.startswith("AIA-")}
    assert len(all_failing) > len(failing)  # the world fails other policies too


def test_segregation_questions_keep_to_the_seg_policies(ctx: AssistantContext) -> None:
    everything: Any = answer("Which policies fail?", ctx).facts["failing"]
    isolated = answer("Is prod isolated from dev?", ctx)
    failing: Any = isolated.facts["failing"]
    assert isolated.intent == "compliance"
    assert failing == {p: s for p, s in everything.items() if p.startswith("SEG-")}
    assert "SEG-01" in isolated.text and "AIA-01" not in isolated.text
    secrets = answer("Which secrets are shared across environments?", ctx)
    assert "(checked: SEG-03)" in secrets.text
