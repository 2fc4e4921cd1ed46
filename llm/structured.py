"""Typed decisions from an LLM: json_schema output, validated, one retry, then tier 0.

The model only ever chooses among the values a pydantic schema allows; its output is
validated before anyone sees it, and when it cannot produce a valid one the deterministic
core decides instead, with the reason recorded. Free text is never executed.
"""

import json
import logging
import re
from collections.abc import Callable
from typing import Generic, Literal, TypeVar

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from llm.call import CallFailed, LlmContext, invoke
from llm.tiers import TIER0
from llm.usage import UsageRecord
from prompts import RenderedPrompt

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
ATTEMPTS = 2
"""First try plus one retry carrying the validation error."""
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class Decision(BaseModel, Generic[T]):
    """A validated decision and where it came from."""

    value: T
    source: Literal["llm", "tier0"]
    tier: str
    attempts: int
    """LLM calls made (0 when no LLM was configured)."""
    prompt_sha256: str
    fallback_reason: str | None = None
    """Why tier 0 decided, when it did."""


def response_format(schema: type[BaseModel]) -> dict[str, object]:
    """The OpenAI/vLLM `response_format` asking for JSON matching `schema`."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": schema.__name__,
            "schema": schema.model_json_schema(),
            "strict": True,
        },
    }


def schema_json(schema: type[BaseModel]) -> str:
    """The schema as pretty JSON, for the output-format partial of a prompt."""
    return json.dumps(schema.model_json_schema(), indent=2)


def decide(
    schema: type[T],
    prompt: RenderedPrompt,
    request: str,
    llm: LlmContext | None,
    fallback: Callable[[], T],
    *,
    agent: str,
    task: str,
) -> Decision[T]:
    """Ask the LLM for a decision of type `schema`; fall back to `fallback()` (tier 0).

    Args:
        schema: Closed set of allowed decisions (a pydantic model).
        prompt: Rendered system prompt (its hash is recorded).
        request: The user turn: what to decide, with the evidence.
        llm: Tier to use; None = no LLM configured.
        fallback: The deterministic core.
        agent: Agent name for usage accounting.
        task: Task class for usage accounting.
    """
    if llm is None:
        return _tier0(schema, fallback, prompt, 0, "no LLM tier configured")
    bound = llm.model.bind(response_format=response_format(schema))
    messages: list[BaseMessage] = [SystemMessage(prompt.text), HumanMessage(request)]
    reason = ""
    for attempt in range(1, ATTEMPTS + 1):
        reply = invoke(llm, bound, messages, agent=agent, task=task, prompt=prompt)
        if isinstance(reply, CallFailed):
            return _fallback(llm, schema, fallback, prompt, attempt, reply.reason, agent, task)
        try:
            value = schema.model_validate_json(_json_text(reply.content))
        except ValidationError as exc:
            reason = f"output failed validation: {_short(exc)}"
            logger.info("tier %s attempt %d: %s", llm.tier.name, attempt, reason)
            messages += [reply, HumanMessage(_retry_request(exc))]
            continue
        return Decision(
            value=value,
            source="llm",
            tier=llm.tier.name,
            attempts=attempt,
            prompt_sha256=prompt.sha256,
        )
    return _fallback(llm, schema, fallback, prompt, ATTEMPTS, reason, agent, task)


def _fallback(
    llm: LlmContext,
    schema: type[T],
    fallback: Callable[[], T],
    prompt: RenderedPrompt,
    attempts: int,
    reason: str,
    agent: str,
    task: str,
) -> Decision[T]:
    llm.ledger.add(
        UsageRecord(
            agent=agent,
            task=task,
            tier=TIER0,
            prompt=prompt.name,
            prompt_sha256=prompt.sha256,
            outcome="fallback",
            detail=f"tier {llm.tier.name}: {reason}",
        )
    )
    return _tier0(schema, fallback, prompt, attempts, f"tier {llm.tier.name}: {reason}")


def _tier0(
    schema: type[T], fallback: Callable[[], T], prompt: RenderedPrompt, attempts: int, reason: str
) -> Decision[T]:
    value = fallback()
    assert isinstance(value, schema), f"tier-0 fallback returned {type(value).__name__}"
    return Decision(
        value=value,
        source="tier0",
        tier=TIER0,
        attempts=attempts,
        prompt_sha256=prompt.sha256,
        fallback_reason=reason,
    )


def _json_text(content: object) -> str:
    text = content if isinstance(content, str) else json.dumps(content)
    match = _FENCE.match(text)
    return match.group(1) if match else text


def _short(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:3]
    ]
    return "; ".join(parts)


def _retry_request(exc: ValidationError) -> str:
    return (
        f"Your reply did not validate against the schema ({_short(exc)}). "
        "Reply again with only one JSON object that matches the schema exactly."
    )
