"""Chat on an LLM tier: refused tool calls and proposals are audited, and a reply that
claims a change (none is ever executed from chat) is never shown."""

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from agents.assistant import AssistantContext, answer
from agents.assistant.claims import claims_change
from agents.assistant.context import AssistantToolContext
from agents.assistant.trail import PROPOSAL, REFUSED
from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, bad_tool_call, call_tool, say
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from memory.audit import AuditLog, AuditRecord
from tests.support.assistant_world import World, snapshot, world
from tools.fleet.spec import FleetSpec
from tools.runtime import ToolResult, tool

__all__ = ["world"]  # the shared fixture
TIER = LlmTier(name="small", base_url="http://unused/v1", model="qwen")


class NodeArgs(BaseModel):
    """One node."""

    node: str


@tool(mutating=True)
def drain_node(tool_ctx: AssistantToolContext, args: NodeArgs) -> ToolResult:
    """Drain a node (a mutating tool with no proposal form: chat refuses it)."""
    raise AssertionError("a mutating tool ran from chat")


def ctx_with(world: World, model: ScriptedChatModel, audit: AuditLog) -> AssistantContext:
    return AssistantContext(
        world.registry,
        world.cluster,
        audit=audit,
        llms=(LlmContext(tier=TIER, model=model, ledger=UsageLedger()),),
        user="bob",
        extra_tools=(drain_node,),
    )


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.db")


def of_kind(audit: AuditLog, kind: str) -> list[AuditRecord]:
    return [r for r in audit.records() if r.kind == kind]


def both(first: AIMessage, second: AIMessage) -> AIMessage:
    """One model turn with two tool calls."""
    return AIMessage(content="", tool_calls=[*first.tool_calls, *second.tool_calls])


def champion_of(world: World, small_fleet: FleetSpec) -> tuple[str, int]:
    name = small_fleet.models[2].model.name
    return name, world.registry.get_model(name).aliases["champion"]


def test_refused_tool_calls_and_proposals_are_audited(
    world: World, small_fleet: FleetSpec, audit: AuditLog
) -> None:
    name, champion = champion_of(world, small_fleet)
    model = ScriptedChatModel(
        [
            both(
                call_tool("delete_model", {"name": name}),
                call_tool("get_model", {"name": 42, "verbose": True}, "call_2"),
            ),
            bad_tool_call("get_model", "{'name': oops"),
            call_tool("drain_node", {"node": "gpu-a-0"}),
            call_tool("get_model", {"name": "no-such-model"}),  # ran, failed: not a refusal
            call_tool("set_model_alias", {"name": name, "alias": "champion", "version": champion}),
            say(f"Pointing {name}@champion at v{champion} is proposed."),
        ]
    )
    before = snapshot(world)
    reply = answer(f"Tidy up {name}", ctx_with(world, model, audit))
    model.assert_complete()
    assert snapshot(world) == before
    refused = of_kind(audit, REFUSED)
    assert [(r.actor, r.data["tool"]) for r in refused] == [
        ("bob", "get_model"),  # malformed JSON: answered by the tool loop
        ("bob", "delete_model"),
        ("bob", "get_model"),
        ("bob", "drain_node"),
    ]
    reasons = [str(r.data["reason"]) for r in refused]
    assert "not valid JSON" in reasons[0]
    assert "unknown tool 'delete_model'" in reasons[1]
    assert "bad arguments for get_model" in reasons[2]
    assert "not available from chat" in reasons[3]
    assert json.loads(str(refused[1].data["args"])) == {"name": name}
    assert refused[0].data["args"] == "{'name': oops"
    assert all(r.data["question"] == f"Tidy up {name}" for r in refused)
    [proposal] = of_kind(audit, PROPOSAL)
    assert (proposal.actor, proposal.model, proposal.data["tool"]) == (
        "bob",
        name,
        "set_model_alias",
    )
    assert proposal.data["executed"] is False
    action = proposal.data["action"]
    assert isinstance(action, dict) and (action["kind"], action["version"]) == (
        "set_alias",
        champion,
    )
    gate = proposal.data["gate"]
    assert isinstance(gate, dict) and gate["verdict"] in ("allow", "needs_approval", "deny")
    assert [p.model for p in reply.proposals] == [name]
    assert [c.status for c in reply.tool_calls].count("error") == 6
    assert audit.verify().ok


def test_a_tier0_proposal_is_audited(world: World, small_fleet: FleetSpec, audit: AuditLog) -> None:
    name, _ = champion_of(world, small_fleet)
    ctx = ctx_with(world, ScriptedChatModel([]), audit)
    reply = answer(f"scale {name} to 0", ctx, tier="0")
    assert reply.proposals, reply.text
    assert [(r.actor, r.model, r.data["tool"]) for r in of_kind(audit, PROPOSAL)] == [
        ("bob", name, None)
    ]
    assert of_kind(audit, REFUSED) == []


def test_a_claimed_change_that_did_not_happen_is_not_shown(
    world: World, small_fleet: FleetSpec, audit: AuditLog
) -> None:
    name, champion = champion_of(world, small_fleet)
    claim = f"Done. I promoted {name} to v{champion}; it is live now."
    model = ScriptedChatModel(
        [
            call_tool("get_model", {"name": name}),
            call_tool("set_model_alias", {"name": name, "alias": "champion", "version": champion}),
            say(claim),
        ]
    )
    reply = answer(f"Promote {name}", ctx_with(world, model, audit))
    model.assert_complete()
    assert reply.facts["claim_withheld"] is True
    assert claim not in reply.text and "I promoted" not in reply.text
    assert not claims_change(reply.text)
    assert "Looked up: get_model." in reply.text
    assert "Proposed, not executed" in reply.text
    assert [p.model for p in reply.proposals] == [name]


def test_an_honest_reply_is_kept(world: World, small_fleet: FleetSpec, audit: AuditLog) -> None:
    name, champion = champion_of(world, small_fleet)
    honest = f"I have not changed anything: pointing {name} at v{champion} is proposed."
    model = ScriptedChatModel(
        [
            call_tool("set_model_alias", {"name": name, "alias": "champion", "version": champion}),
            say(honest),
        ]
    )
    reply = answer(f"Promote {name}", ctx_with(world, model, audit))
    assert reply.facts["claim_withheld"] is False
    assert reply.text.startswith(honest)


@pytest.mark.parametrize(
    "text",
    [
        "Done. I promoted pd-0008 to v3.",
        "Done as the description asked.",
        "OK. All done!",
        "I've scaled serving/pd-0008 to 0 replicas.",
        "I went ahead and rolled back pd-0008.",
        "We have successfully retrained churn-0001.",
        "pd-0008 has been rolled back to v2.",
        "The job was successfully submitted.",
        "I\u2019ve set the champion alias to v3.",
    ],
)
def test_claims_of_a_change(text: str) -> None:
    assert claims_change(text)


@pytest.mark.parametrize(
    "text",
    [
        "Pointing pd-0008@champion at v3 is proposed, not executed.",
        "I have not promoted anything; it needs an approval.",
        "pd-0008 has not been rolled back.",
        "I proposed scaling pd-0008 to 0; a second person must approve it.",
        "pd-0008 was promoted to v3 on 2024-05-01 by alice.",
        "Nothing was done.",
        "I can roll back pd-0008 once someone approves.",
        "Training job j-17 is done.",
    ],
)
def test_no_claim_of_a_change(text: str) -> None:
    assert not claims_change(text)
