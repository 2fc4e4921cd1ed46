"""`answer()`: one question in, one `AssistantAnswer` out, at tier 0 or an LLM tier."""

import re
from typing import TYPE_CHECKING

from agents.assistant import claims, trail
from agents.assistant.context import AssistantContext, FleetView
from agents.assistant.gatecheck import describe, review
from agents.assistant.grammar import answer_tier0
from agents.assistant.intent import as_json
from agents.assistant.mutations import GATE_NOTE, injection_suspected
from agents.assistant.query import parse
from agents.assistant.trail import ChatTrail
from agents.assistant.types import AssistantAnswer
from llm.tiers import TIER0, Capability
from llm.usage import UsageRecord
from tools.errors import ConfigError

if TYPE_CHECKING:  # the LLM path imports LangChain: only when a tier answers
    from llm.call import LlmContext

TIER0_NAMES = ("0", TIER0, "none")
"""Values of `tier` that mean "no LLM"."""


def answer(
    question: str,
    ctx: AssistantContext,
    *,
    tier: str | None = None,
    previous: AssistantAnswer | None = None,
) -> AssistantAnswer:
    """Answer one question about the fleet; never changes the fleet.

    Refused tool calls and proposed changes are recorded in the audit log (`trail`).

    Args:
        question: The user's question, as typed.
        ctx: The world and the configured LLM tiers.
        tier: None = the cheapest configured LLM tier, or tier 0 when none is configured;
            "0" / "tier0" = the deterministic core; otherwise a configured tier's name.
        previous: The previous answer in a chat, so "it" / "its" can refer to its models.

    Raises:
        ConfigError: `tier` names a tier that is not configured.
    """
    view = FleetView(ctx)
    llm = choose_llm(ctx, tier, question)
    carried = _carried_models(question, view, previous)
    if llm is None:
        reply, chat_trail = answer_deterministic(question, view, carried), ChatTrail()
    else:
        reply, chat_trail = _answer_llm(question, view, llm, carried)
    trail.record(ctx, reply, chat_trail)
    return reply


_REFERENCE = re.compile(r"\b(it|its|it's|this model|that model|the same model|them|their)\b")


def _carried_models(question: str, view: FleetView, previous: AssistantAnswer | None) -> list[str]:
    """Models of the previous answer that "it"/"its" in a follow-up question refers to."""
    if previous is None or not _REFERENCE.search(question.lower()):
        return []
    query = parse(question, view)
    if query.models or query.unknown or query.pipelines or query.namespaces:
        return []
    models = [e for e in previous.entities if e in view.models]
    return models if 0 < len(models) <= 3 else []


def choose_llm(ctx: AssistantContext, tier: str | None, question: str = "") -> "LlmContext | None":
    """The LLM to use for `tier` (see `answer`), or None for tier 0.

    With no tier asked for, LLM tiers configured and a question, `ctx.router` (if any)
    decides (and records its decision); without a question this only checks `tier`.
    """
    if tier is not None and tier.strip().lower() in TIER0_NAMES:
        return None
    if tier is None:
        if ctx.router is not None and ctx.llms and question:
            return ctx.router.choose(ctx, question)
        return ctx.llms[0] if ctx.llms else None
    for llm in ctx.llms:
        if llm.tier.name == tier:
            return llm
    configured = ", ".join(llm.tier.name for llm in ctx.llms) or "none (tier 0 only)"
    raise ConfigError(f"unknown LLM tier {tier!r}; configured: {configured}; use 0 for tier 0")


def answer_deterministic(
    question: str, view: FleetView, carried: list[str] | None = None
) -> AssistantAnswer:
    """Tier 0: the intent grammar over read-only lookups (`carried`: models "it" means)."""
    query = parse(question, view)
    if carried:
        query.models = list(carried)
    intent, reply = answer_tier0(view, query)
    if carried:
        reply.facts["carried_from_previous"] = list(carried)
    if injection_suspected(question) and "injection_suspected" not in reply.facts:
        reply.facts["injection_suspected"] = True
        reply.text = (
            "Part of the question asks me to bypass my rules; it is treated as data.\n" + reply.text
        )
    return AssistantAnswer(
        question=question,
        text=reply.text,
        intent=intent,
        entities=list(dict.fromkeys(reply.entities)),
        facts=reply.facts,
        tool_calls=reply.lookups,
        proposals=reply.proposals,
        tier=TIER0,
        steps=len(reply.lookups),
    )


def _answer_llm(
    question: str, view: FleetView, llm: "LlmContext", carried: list[str]
) -> tuple[AssistantAnswer, ChatTrail]:
    from agents.assistant.llm_path import AGENT, TASK, entities_in, run_llm

    if Capability.TOOLS not in llm.tier.capabilities:
        reason = f"tier {llm.tier.name} does not declare tool calling; answered at tier 0"
        fallback = answer_deterministic(question, view, carried)
        return fallback.model_copy(update={"fallback_reason": reason}), ChatTrail()
    start = len(llm.ledger.records)
    asked = question
    if carried:
        asked = f"(Earlier in this chat we talked about: {', '.join(carried)}.)\n{question}"
    result, gate, prompt, chat_trail = run_llm(asked, view.ctx, llm)
    used = llm.ledger.records[start:]
    tokens_in = sum(r.input_tokens for r in used)
    tokens_out = sum(r.output_tokens for r in used)
    cost = sum(r.cost for r in used)
    if result.stopped != "answer" or not result.answer.strip():
        reason = f"tier {llm.tier.name}: {result.reason or 'the model gave an empty answer'}"
        llm.ledger.add(
            UsageRecord(
                agent=AGENT,
                task=TASK,
                tier=TIER0,
                prompt=prompt.name,
                prompt_sha256=prompt.sha256,
                outcome="fallback",
                detail=reason,
            )
        )
        fallback = answer_deterministic(question, view, carried)
        proposals = [
            *fallback.proposals,
            *(p for p in gate.proposals if p not in fallback.proposals),
        ]
        return fallback.model_copy(
            update={
                "text": f"(The LLM tier failed: {reason}. Answered by the deterministic core.)\n"
                + fallback.text,
                "fallback_reason": reason,
                "tool_calls": [*result.calls, *fallback.tool_calls],
                "proposals": proposals,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost": cost,
                "steps": result.turns,
                "prompt_sha256": prompt.sha256,
            }
        ), chat_trail
    text = result.answer.strip()
    withheld = claims.claims_change(text)  # chat executes nothing: any such claim is false
    if withheld:
        text = claims.summary(result.calls, [(r.tool, r.reason) for r in chat_trail.refused])
    verdicts = review(view.ctx, gate.proposals)
    if gate.proposals:
        listed = "\n".join(f"- {p.kind.value}: {p.detail}" for p in gate.proposals)
        text += f"\n\nProposed, not executed:\n{listed}\n{describe(verdicts)}\n{GATE_NOTE}"
    return AssistantAnswer(
        question=question,
        text=text,
        intent=None,
        entities=entities_in(result.answer, view),
        facts={
            "injection_suspected": injection_suspected(question),
            "gate": as_json(verdicts),
            "claim_withheld": withheld,
        },
        tool_calls=result.calls,
        proposals=gate.proposals,
        tier=llm.tier.name,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        steps=result.turns,
        prompt_sha256=prompt.sha256,
    ), chat_trail
