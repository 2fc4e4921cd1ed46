"""Tier > 0: the tool loop over read-only tools; mutating calls become proposals.

The model sees the catalogue's tools (mutating ones included, so it can express a change)
and the assistant's own read-only tools. `ProposalGate` refuses every mutating call and
records it as a `ProposedAction`, so nothing the model says, or any text it read, can
change the world. `RecordingRunner` keeps every call whose tool did not run, for the audit
log (`trail`). If the model fails (unreachable, step limit, empty answer) the caller
answers from tier 0 and says so.
"""

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel

from agents.assistant.context import AssistantContext, AssistantToolContext, FleetView
from agents.assistant.query import parse
from agents.assistant.tools import ASSISTANT_TOOLS
from agents.assistant.trail import ChatTrail, ProposedCall, RefusedCall
from llm.call import LlmContext
from llm.tool_loop import LoopResult, run_tool_loop
from prompts import RenderedPrompt, render_prompt
from tools.catalog import ALL_TOOLS
from tools.domain import Environment
from tools.policy.action import ProposedAction
from tools.policy.tool_gate import proposal_for
from tools.runtime import RunLimits, ToolResult, ToolRunner, ToolSpec
from tools.runtime.spec import ToolFunc

AGENT = "assistant"
TASK = "chat"


class ProposalGate:
    """A `MutationGate` that executes nothing: each mutating call becomes a proposal."""

    def __init__(self, proposer: str) -> None:
        """Record proposals in the name of `proposer`."""
        self.proposer = proposer
        self.proposed: list[ProposedCall] = []
        self.last: ProposedAction | None = None
        """The proposal the latest review made (None: it refused the call outright)."""

    @property
    def proposals(self) -> list[ProposedAction]:
        """The distinct proposals so far, in order."""
        return [p.action for p in self.proposed]

    def review(self, spec: ToolSpec, args: BaseModel) -> str:
        """Refuse the call; remember it as a proposal for the gate and approval."""
        action = self.last = proposal_for(spec.name, args, self.proposer)
        if action is None:
            return f"{spec.name} changes the world and is not available from chat."
        if action not in self.proposals:
            self.proposed.append(
                ProposedCall(spec.name, _json(args.model_dump(mode="json")), action)
            )
        return (
            f"{spec.name} was NOT executed. It is recorded as a proposal ({action.detail}) "
            "that needs the compliance gate and, for prod or high-risk models, a human "
            "approval. Tell the user it is proposed, not done."
        )


@dataclass
class RecordingRunner(ToolRunner):
    """The chat's `ToolRunner`: it also keeps every call whose tool did not run."""

    refused: list[RefusedCall] = field(default_factory=list, init=False)
    """Calls refused outright (not the ones `ProposalGate` turned into proposals)."""
    answered: list[tuple[str, str]] = field(default_factory=list, init=False)
    """(tool, args) of every call that reached the runner, as the tool loop records them."""
    _ran: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.tools = tuple(replace(spec, func=self._marked(spec.func)) for spec in self.tools)
        super().__post_init__()

    def call(self, name: str, raw_args: str | dict[str, Any] | None) -> ToolResult:
        """Run one call like `ToolRunner`; keep it when it is refused."""
        self._ran = False
        proposals = self.gate if isinstance(self.gate, ProposalGate) else None
        if proposals is not None:
            proposals.last = None
        result = super().call(name, raw_args)
        self.answered.append((name, str(raw_args)))
        proposed = proposals is not None and proposals.last is not None
        if result.status == "error" and not self._ran and not proposed:
            self.refused.append(RefusedCall(name, _json(raw_args), result.error or "refused"))
        return result

    def _marked(self, func: ToolFunc) -> ToolFunc:
        def run(ctx: Any, args: Any) -> ToolResult:
            self._ran = True
            return func(ctx, args)

        return run


def trail_of(result: LoopResult, runner: RecordingRunner, gate: ProposalGate) -> ChatTrail:
    """The refused calls and proposals of one tool loop.

    Calls whose arguments were not valid JSON never reach the runner (the tool loop answers
    them): they are the loop's records the runner did not answer.
    """
    malformed = Counter((c.name, c.args) for c in result.calls) - Counter(runner.answered)
    refused = [
        RefusedCall(name, args, "malformed tool call: the arguments are not valid JSON")
        for name, args in malformed.elements()
    ]
    return ChatTrail(refused=[*refused, *runner.refused], proposed=list(gate.proposed))


def _json(args: object) -> str:
    if isinstance(args, str):
        return args
    return json.dumps(args, sort_keys=True, default=str)


def assistant_prompt() -> RenderedPrompt:
    """The ops assistant's system prompt."""
    return render_prompt("ops_assistant", environments=[e.value for e in Environment])


def run_llm(
    question: str, ctx: AssistantContext, llm: LlmContext, max_turns: int = 6
) -> tuple[LoopResult, ProposalGate, RenderedPrompt, ChatTrail]:
    """Run the tool loop for one question."""
    gate = ProposalGate(ctx.user)
    runner = RecordingRunner(
        (*ALL_TOOLS, *ASSISTANT_TOOLS, *ctx.extra_tools),
        AssistantToolContext.of(ctx),
        limits=RunLimits(),
        gate=gate,
    )
    prompt = assistant_prompt()
    result = run_tool_loop(
        llm, runner, prompt, question, agent=AGENT, task=TASK, max_turns=max_turns
    )
    return result, gate, prompt, trail_of(result, runner, gate)


def entities_in(text: str, view: FleetView) -> list[str]:
    """Known model/pipeline/namespace/pool names mentioned in `text`."""
    q = parse(text, view)
    return [*q.models, *q.pipelines, *q.namespaces, *q.pools]
