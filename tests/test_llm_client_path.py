"""The real client path (langchain-openai -> openai -> httpx) against the scripted server."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from llm.call import CallFailed, LlmContext, invoke_streaming
from llm.chat import chat_model
from llm.doubles import Reply, ScriptedOpenAIServer, ServerProfile
from llm.structured import decide
from llm.tiers import LlmTier
from llm.tool_loop import run_tool_loop
from llm.usage import UsageLedger
from prompts import render_prompt
from tests.support.twin_specs import deployment, mig_request, tiny_spec
from tests.test_structured_decisions import PROMPT, TIER0_CHOICE, Remediation, valid
from tools.catalog import READ_ONLY_TOOLS, ToolContext
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.registry import MlflowRegistry
from tools.runtime import ToolRunner


def tier(server: ScriptedOpenAIServer, **extra: object) -> LlmTier:
    return LlmTier.model_validate(
        {"name": "small", "base_url": server.base_url, "model": "scripted-model", **extra}
    )


def ask(server: ScriptedOpenAIServer, ledger: UsageLedger, **extra: object):  # type: ignore[no-untyped-def]
    t = tier(server, **extra)
    llm = LlmContext(tier=t, model=chat_model(t), ledger=ledger)
    return decide(
        Remediation,
        PROMPT,
        "decide",
        llm,
        lambda: TIER0_CHOICE,
        agent="retrainer",
        task="remediation",
    )


@pytest.fixture
def scripted() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(profile=ServerProfile(auto=False)) as server:
        yield server


def test_structured_decision_over_http(scripted: ScriptedOpenAIServer) -> None:
    scripted.script = [Reply(content="not json"), Reply(content=valid("rollback"))]
    ledger = UsageLedger()
    decision = ask(scripted, ledger)
    scripted.assert_complete()
    assert (decision.source, decision.value.action, decision.attempts) == ("llm", "rollback", 2)
    body = scripted.requests[0]
    assert body["response_format"]["type"] == "json_schema"
    assert (
        body["response_format"]["json_schema"]["schema"]["properties"]["action"]["enum"][0]
        == "watch"
    )
    assert all(r.input_tokens > 0 for r in ledger.records)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(status=500, error="CUDA out of memory"), "Error code: 500 - CUDA out of memory"),
        (Reply(status=429, error="too many requests"), "Error code: 429"),
        (Reply(content=valid(), delay_s=2.0), "timed out"),
    ],
)
def test_server_errors_and_timeouts_fall_back(
    scripted: ScriptedOpenAIServer, reply: Reply, reason: str
) -> None:
    scripted.script = [reply]
    decision = ask(scripted, UsageLedger(), timeout_s=0.5)
    assert decision.source == "tier0"
    assert decision.fallback_reason is not None and reason in decision.fallback_reason


def test_wrong_model_name_falls_back_with_the_servers_message(
    scripted: ScriptedOpenAIServer,
) -> None:
    t = LlmTier(name="small", base_url=scripted.base_url, model="gpt-9")
    llm = LlmContext(tier=t, model=chat_model(t), ledger=UsageLedger())
    decision = decide(Remediation, PROMPT, "d", llm, lambda: TIER0_CHOICE, agent="a", task="t")
    assert decision.fallback_reason is not None and "does not exist" in decision.fallback_reason


def test_tool_loop_over_http_with_a_malformed_call(
    scripted: ScriptedOpenAIServer, registry: MlflowRegistry, tmp_path: Path
) -> None:
    deps = [deployment("fraud-0007", "growth-prod", Environment.PROD, mig_request("1g.10gb"))]
    runner = ToolRunner(
        READ_ONLY_TOOLS,
        ToolContext(registry, SimCluster.create(tmp_path / "c.db", tiny_spec(deps))),
    )
    scripted.script = [
        Reply(tool_calls=[("list_deployments", '{"env": "prod"')]),  # truncated JSON
        Reply(tool_calls=[("list_deployments", '{"env": "prod"}')]),
        Reply(content="fraud-0007 runs in prod."),
    ]
    t = tier(scripted)
    llm = LlmContext(tier=t, model=chat_model(t), ledger=UsageLedger())
    prompt = render_prompt("ops_assistant", environments=["prod"])
    result = run_tool_loop(
        llm, runner, prompt, "what runs in prod?", agent="assistant", task="chat"
    )
    scripted.assert_complete()
    assert result.answer == "fraud-0007 runs in prod."
    assert [c.status for c in result.calls] == ["error", "ok"]
    assert scripted.requests[0]["tools"][0]["function"]["name"] == "list_models"
    tool_message = scripted.requests[2]["messages"][-1]
    assert tool_message["role"] == "tool" and "fraud-0007" in tool_message["content"]


def test_streaming_and_a_truncated_stream(scripted: ScriptedOpenAIServer) -> None:
    scripted.script = [
        Reply(content="all models are healthy"),
        Reply(content="this answer will be cut off", break_stream_after=3),
    ]
    model = ChatOpenAI(
        model="scripted-model",
        base_url=scripted.base_url,
        api_key="x",
        max_retries=0,
        stream_usage=True,
    )
    chunks = list(model.stream("status?"))
    assert "".join(str(c.content) for c in chunks).strip() == "all models are healthy"
    assert any(c.usage_metadata for c in chunks)
    cut = list(model.stream("again"))
    text = "".join(str(c.content) for c in cut)
    assert text.strip() == "this answer"
    assert all(
        c.response_metadata.get("finish_reason") is None for c in cut
    )  # no finish: truncated


def test_the_guard_blocks_a_real_llm_endpoint(llm_guard_violations: list[str]) -> None:
    model = ChatOpenAI(model="m", base_url="http://127.0.0.1:8000/v1", api_key="x", max_retries=0)
    with pytest.raises(Exception):  # noqa: B017 - wrapped differently by client versions
        model.invoke("hi")
    assert llm_guard_violations == ["http://127.0.0.1:8000/v1/chat/completions"]
    llm_guard_violations.clear()  # seen and expected: do not fail this test at teardown


def test_scripted_replies_are_json_objects(scripted: ScriptedOpenAIServer) -> None:
    scripted.script = [Reply(content=json.dumps({"x": 1}))]
    model = chat_model(tier(scripted))
    assert json.loads(str(model.invoke("json please").content)) == {"x": 1}


def test_streamed_answer_and_a_dropped_stream(scripted: ScriptedOpenAIServer) -> None:
    scripted.script = [
        Reply(content="three idle GPUs in test"),
        Reply(content="this answer will be cut off", break_stream_after=3),
    ]
    t = tier(scripted)
    ledger = UsageLedger()
    llm = LlmContext(tier=t, model=chat_model(t), ledger=ledger)
    prompt = render_prompt("ops_assistant", environments=["test"])
    tokens: list[str] = []
    reply = invoke_streaming(
        llm, [HumanMessage("idle?")], tokens.append, agent="a", task="chat", prompt=prompt
    )
    assert isinstance(reply, AIMessage) and str(reply.content).strip() == "three idle GPUs in test"
    assert "".join(tokens) == str(reply.content)
    dropped = invoke_streaming(
        llm, [HumanMessage("again")], tokens.append, agent="a", task="chat", prompt=prompt
    )
    assert (
        isinstance(dropped, CallFailed)
        and "stream ended before the model finished" in dropped.reason
    )
    assert [r.outcome for r in ledger.records] == ["ok", "error"]
