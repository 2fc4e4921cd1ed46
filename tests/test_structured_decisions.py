import json
from typing import Literal

from pydantic import BaseModel

from llm.call import LlmContext
from llm.doubles import ScriptedChatModel, say
from llm.structured import decide
from llm.tiers import LlmTier
from llm.usage import UsageLedger
from prompts import render_prompt


class Remediation(BaseModel):
    """A closed set of actions."""

    action: Literal["watch", "retrain", "rollback", "open_data_incident"]
    model: str
    reason: str


TIER = LlmTier(
    name="small",
    base_url="http://unused/v1",
    model="qwen",
    cost_per_1k_input=0.5,
    cost_per_1k_output=1.5,
)
PROMPT = render_prompt(
    "structured_decision", agent="retrainer", task="choose", evidence="e", schema_json="{}"
)
TIER0_CHOICE = Remediation(
    action="watch", model="churn", reason="tier-0 rule: drift, healthy performance"
)


def run(model: ScriptedChatModel, ledger: UsageLedger | None = None):  # type: ignore[no-untyped-def]
    llm = LlmContext(tier=TIER, model=model, ledger=ledger or UsageLedger())
    return decide(
        Remediation,
        PROMPT,
        "decide for churn",
        llm,
        lambda: TIER0_CHOICE,
        agent="retrainer",
        task="remediation",
    )


def valid(action: str = "retrain") -> str:
    return json.dumps({"action": action, "model": "churn", "reason": "drift and a drop"})


def test_valid_output_is_used_and_costed() -> None:
    model, ledger = ScriptedChatModel([say(valid())]), UsageLedger()
    decision = run(model, ledger)
    model.assert_complete()
    assert (decision.source, decision.value.action, decision.attempts) == ("llm", "retrain", 1)
    assert decision.prompt_sha256 == PROMPT.sha256
    fmt = model.calls[0].options["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Remediation"
    (record,) = ledger.records
    assert record.tier == "small" and record.prompt_sha256 == PROMPT.sha256
    assert record.cost == TIER.cost(record.input_tokens, record.output_tokens) > 0


def test_invalid_output_is_retried_once_with_the_validation_error() -> None:
    model = ScriptedChatModel(
        [say('{"action": "delete_prod", "model": "churn", "reason": "x"}'), say(valid())]
    )
    decision = run(model)
    model.assert_complete()
    assert (decision.source, decision.attempts) == ("llm", 2)
    retry = str(model.calls[1].messages[-1].content)
    assert "did not validate" in retry and "action" in retry


def test_two_invalid_outputs_fall_back_to_tier0_with_the_reason() -> None:
    model, ledger = (
        ScriptedChatModel([say("I think you should retrain."), say("{broken json")]),
        UsageLedger(),
    )
    decision = run(model, ledger)
    assert decision.value == TIER0_CHOICE
    assert (decision.source, decision.tier, decision.attempts) == ("tier0", "tier0", 2)
    assert (
        decision.fallback_reason is not None
        and "output failed validation" in decision.fallback_reason
    )
    assert [r.outcome for r in ledger.records] == ["ok", "ok", "fallback"]


def test_transport_failure_falls_back_without_retrying() -> None:
    model = ScriptedChatModel([ConnectionError("connection refused")])
    decision = run(model)
    model.assert_complete()
    assert decision.source == "tier0"
    assert decision.fallback_reason == "tier small: ConnectionError: connection refused"


def test_fenced_json_from_small_models_is_accepted() -> None:
    decision = run(ScriptedChatModel([say(f"```json\n{valid('rollback')}\n```")]))
    assert decision.value.action == "rollback"


def test_no_llm_means_tier0() -> None:
    decision = decide(Remediation, PROMPT, "r", None, lambda: TIER0_CHOICE, agent="a", task="t")
    assert (decision.source, decision.attempts, decision.fallback_reason) == (
        "tier0",
        0,
        "no LLM tier configured",
    )
