"""What the compliance gate would say about a proposal (a read-only review, nothing runs)."""

import logging

from pydantic import BaseModel

from agents.assistant.context import AssistantContext
from tools.policy.action import GateDecision, ProposedAction

logger = logging.getLogger(__name__)


class GateView(BaseModel):
    """One proposal and the gate's verdict on it."""

    proposal: str
    """The proposal's detail line."""
    verdict: str
    """allow | needs_approval | deny | unavailable."""
    reasons: list[str]


def review(ctx: AssistantContext, proposals: list[ProposedAction]) -> list[GateView]:
    """The gate's verdict on each proposal; a gate failure is reported, never raised."""
    if not proposals:
        return []
    gate = ctx.tools().gate()
    views = []
    for action in proposals:
        try:
            decision: GateDecision = gate.review(action)
        except Exception as exc:  # evidence for the user, never a blocker of the answer
            logger.warning("compliance gate failed on %s: %s", action.detail, exc)
            views.append(
                GateView(proposal=action.detail, verdict="unavailable", reasons=[str(exc)])
            )
            continue
        views.append(
            GateView(proposal=action.detail, verdict=decision.verdict, reasons=decision.reasons)
        )
    return views


def describe(views: list[GateView]) -> str:
    """One line per proposal: what the gate would decide, and why."""
    return "\n".join(
        f"Compliance gate on '{v.proposal}': {v.verdict} ({'; '.join(v.reasons)})" for v in views
    )
