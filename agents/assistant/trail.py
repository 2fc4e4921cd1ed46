"""What chat refused and proposed, on record: who asked, which tool, which arguments, why.

Chat executes nothing, but what the model tried matters to an auditor: a mutating call that
became a proposal (`chat_proposal`), and every call that was refused outright: a mutating
tool with no proposal form, an unknown tool, arguments that do not validate or parse, a
guard (step limit, repeats) (`chat_tool_refused`). Both go to the audit log when the
assistant has one.
"""

from dataclasses import dataclass, field

from pydantic import JsonValue

from agents.assistant.context import AssistantContext
from agents.assistant.types import AssistantAnswer
from tools.policy.action import ProposedAction

REFUSED = "chat_tool_refused"
"""Audit kind of a tool call chat refused (the tool did not run, nothing was proposed)."""
PROPOSAL = "chat_proposal"
"""Audit kind of a change an answer proposes (queued for approval unless the gate denies)."""
_QUESTION_CHARS = 500


@dataclass(frozen=True)
class RefusedCall:
    """A tool call of the model whose tool did not run."""

    tool: str
    args: str
    """The arguments as the model sent them (JSON text)."""
    reason: str
    """What the model was told."""


@dataclass(frozen=True)
class ProposedCall:
    """A mutating tool call that became a proposal."""

    tool: str
    args: str
    action: ProposedAction


@dataclass
class ChatTrail:
    """What one answer's tool calls were refused or turned into proposals."""

    refused: list[RefusedCall] = field(default_factory=list)
    proposed: list[ProposedCall] = field(default_factory=list)


def record(ctx: AssistantContext, reply: AssistantAnswer, trail: ChatTrail) -> None:
    """Append the answer's refused calls and proposals to the audit log (if there is one)."""
    if ctx.audit is None:
        return
    asked = {"question": reply.question[:_QUESTION_CHARS], "tier": reply.tier}
    for call in trail.refused:
        ctx.audit.append(
            REFUSED,
            actor=ctx.user,
            data={**asked, "tool": call.tool, "args": call.args, "reason": call.reason},
        )
    verdicts = _verdicts(reply)
    for action in reply.proposals:
        origin = next((p for p in trail.proposed if p.action == action), None)
        ctx.audit.append(
            PROPOSAL,
            actor=ctx.user,
            model=action.model,
            data={
                **asked,
                "tool": origin.tool if origin else None,
                "args": origin.args if origin else None,
                "action": action.model_dump(mode="json"),
                "gate": verdicts.get(action.detail),
                "executed": False,
            },
        )


def _verdicts(reply: AssistantAnswer) -> dict[str, JsonValue]:
    """The gate's verdict on each proposal the answer reviewed, by the proposal's detail."""
    views = reply.facts.get("gate")
    if not isinstance(views, list):
        return {}
    return {
        str(view.get("proposal")): {"verdict": view.get("verdict"), "reasons": view.get("reasons")}
        for view in views
        if isinstance(view, dict)
    }
