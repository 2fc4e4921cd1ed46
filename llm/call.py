"""One LLM call with usage accounting: the single place that invokes a chat model."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable

from llm.chat import token_usage
from llm.redact import redact, tier_secrets
from llm.tiers import LlmTier
from llm.usage import Outcome, UsageLedger, UsageRecord
from prompts import RenderedPrompt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LlmContext:
    """A tier, its chat model, and where usage is recorded."""

    tier: LlmTier
    model: BaseChatModel
    ledger: UsageLedger
    route: str = ""
    """The router's decision that chose this tier (task class and why); empty: not routed."""


@dataclass(frozen=True)
class CallFailed:
    """The model could not be reached or answered with an error."""

    reason: str


def invoke(
    llm: LlmContext,
    runnable: Runnable[list[BaseMessage], BaseMessage],
    messages: list[BaseMessage],
    *,
    agent: str,
    task: str,
    prompt: RenderedPrompt,
) -> AIMessage | CallFailed:
    """Call the model once; record tokens, cost and latency whatever happens."""
    start = time.perf_counter()
    try:
        reply = runnable.invoke(messages)
    except Exception as exc:  # any failure at this boundary falls back; never crashes a run
        reason = failure_reason(exc, llm.tier)
        logger.warning("LLM call to tier %s failed: %s", llm.tier.name, reason)
        record(llm, agent, task, prompt, start, None, "error", reason)
        return CallFailed(reason)
    assert isinstance(reply, AIMessage), f"chat model returned {type(reply).__name__}"
    record(llm, agent, task, prompt, start, reply, "ok", "")
    return reply


def invoke_streaming(
    llm: LlmContext,
    messages: list[BaseMessage],
    on_token: Callable[[str], None],
    *,
    agent: str,
    task: str,
    prompt: RenderedPrompt,
) -> AIMessage | CallFailed:
    """Stream a reply token by token; a stream that ends without a finish reason failed."""
    start = time.perf_counter()
    merged: AIMessageChunk | None = None
    try:
        for chunk in llm.model.stream(messages):
            if isinstance(chunk.content, str) and chunk.content:
                on_token(chunk.content)
            merged = chunk if merged is None else merged + chunk
    except Exception as exc:  # same boundary rule as invoke()
        reason = failure_reason(exc, llm.tier)
        record(llm, agent, task, prompt, start, None, "error", reason)
        return CallFailed(reason)
    if merged is None or not merged.response_metadata.get("finish_reason"):
        reason = "the stream ended before the model finished (connection dropped?)"
        record(llm, agent, task, prompt, start, merged, "error", reason)
        return CallFailed(reason)
    reply = AIMessage(
        content=merged.content,
        tool_calls=merged.tool_calls,
        usage_metadata=merged.usage_metadata,
        response_metadata=merged.response_metadata,
    )
    record(llm, agent, task, prompt, start, reply, "ok", "")
    return reply


def failure_reason(exc: BaseException, tier: LlmTier | None = None) -> str:
    """`Type: first line of the message`, bounded and without secrets, for logs and records.

    An upstream error may echo the API key it was sent: the tier's key and anything shaped
    like a key are redacted before the text goes anywhere.
    """
    first = str(exc).splitlines()[0] if str(exc) else ""
    secrets = tier_secrets(tier) if tier is not None else []
    return redact(f"{type(exc).__name__}: {first}", secrets)[:500]


def record(
    llm: LlmContext,
    agent: str,
    task: str,
    prompt: RenderedPrompt,
    start: float,
    reply: AIMessage | AIMessageChunk | None,
    outcome: Outcome,
    detail: str,
) -> None:
    """Add one usage record for a call that started at `start` (perf_counter)."""
    tokens_in, tokens_out = token_usage(reply) if reply is not None else (0, 0)
    llm.ledger.add(
        UsageRecord(
            agent=agent,
            task=task,
            tier=llm.tier.name,
            model=llm.tier.model,
            prompt=prompt.name,
            prompt_sha256=prompt.sha256,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=llm.tier.cost(tokens_in, tokens_out),
            latency_s=time.perf_counter() - start,
            outcome=outcome,
            detail=detail,
            route=llm.route,
        )
    )
