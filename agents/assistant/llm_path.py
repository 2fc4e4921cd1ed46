"""Tier > 0: the tool loop over read-only tools; mutating calls become proposals.

The model sees the catalogue's tools (mutating ones included, so it can express a change)
and the assistant's own read-only tools. `ProposalGate` refuses every mutating call and
records it as a `ProposedAction`, so nothing the model says, or any text it read, can
change the world. If the model fails (unreachable, step limit, empty answer) the caller
answers from tier 0 and says so.
"""

from pydantic import BaseModel

from agents.assistant.context import AssistantContext, AssistantToolContext, FleetView
from agents.assistant.query import parse
from agents.assistant.tools import ASSISTANT_TOOLS
from llm.call import LlmContext
from llm.tool_loop import LoopResult, run_tool_loop
from prompts import RenderedPrompt, render_prompt
from tools.catalog import ALL_TOOLS
from tools.domain import Environment
from tools.policy.action import ProposedAction
from tools.policy.tool_gate import proposal_for
from tools.runtime import RunLimits, ToolRunner, ToolSpec

AGENT = "assistant"
TASK = "chat"


class ProposalGate:
    """A `MutationGate` that executes nothing: each mutating call becomes a proposal."""

    def __init__(self, proposer: str) -> None:
        """Record proposals in the name of `proposer`."""
        self.proposer = proposer
        self.proposals: list[ProposedAction] = []

    def review(self, spec: ToolSpec, args: BaseModel) -> str:
        """Refuse the call; remember it as a proposal for the gate and approval."""
        action = proposal_for(spec.name, args, self.proposer)
        if action is None:
            return f"{spec.name} changes the world and is not available from chat."
        if action not in self.proposals:
            self.proposals.append(action)
        return (
            f"{spec.name} was NOT executed. It is recorded as a proposal ({action.detail}) "
            "that needs the compliance gate and, for prod or high-risk models, a human "
            "approval. Tell the user it is proposed, not done."
        )


def assistant_prompt() -> RenderedPrompt:
    """The ops assistant's system prompt."""
    return render_prompt("ops_assistant", environments=[e.value for e in Environment])


def run_llm(
    question: str, ctx: AssistantContext, llm: LlmContext, max_turns: int = 6
) -> tuple[LoopResult, ProposalGate, RenderedPrompt]:
    """Run the tool loop for one question."""
    gate = ProposalGate(ctx.user)
    runner = ToolRunner(
        (*ALL_TOOLS, *ASSISTANT_TOOLS, *ctx.extra_tools),
        AssistantToolContext.of(ctx),
        limits=RunLimits(),
        gate=gate,
    )
    prompt = assistant_prompt()
    result = run_tool_loop(
        llm, runner, prompt, question, agent=AGENT, task=TASK, max_turns=max_turns
    )
    return result, gate, prompt


def entities_in(text: str, view: FleetView) -> list[str]:
    """Known model/pipeline/namespace/pool names mentioned in `text`."""
    q = parse(text, view)
    return [*q.models, *q.pipelines, *q.namespaces, *q.pools]
