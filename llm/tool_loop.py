"""A tool-calling loop for one question: the model asks for tools, the runner answers.

Guards for small local models: a step limit, the runner's repeated-call guard, malformed
tool-call JSON answered with an error the model can correct, and any transport failure
ending the loop with a reason (the caller then answers from tier 0).
"""

from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from llm.call import CallFailed, LlmContext, invoke
from llm.records import ToolCallRecord
from prompts import RenderedPrompt
from tools.runtime import ToolResult, ToolRunner

Stop = Literal["answer", "step_limit", "error"]


class LoopResult(BaseModel):
    """How a tool loop ended."""

    answer: str
    stopped: Stop
    turns: int
    calls: list[ToolCallRecord] = Field(default_factory=list)
    reason: str = ""
    """Why it stopped early (step limit, transport error)."""


def run_tool_loop(
    llm: LlmContext,
    runner: ToolRunner,
    prompt: RenderedPrompt,
    question: str,
    *,
    agent: str,
    task: str,
    max_turns: int = 6,
) -> LoopResult:
    """Answer `question` with the runner's tools; stop on an answer or a guard."""
    bound = llm.model.bind_tools(runner.schemas())
    messages: list[BaseMessage] = [SystemMessage(prompt.text), HumanMessage(question)]
    calls: list[ToolCallRecord] = []
    for turn in range(1, max_turns + 1):
        reply = invoke(llm, bound, messages, agent=agent, task=task, prompt=prompt)
        if isinstance(reply, CallFailed):
            return LoopResult(
                answer="", stopped="error", turns=turn, calls=calls, reason=reply.reason
            )
        messages.append(reply)
        if not reply.tool_calls and not reply.invalid_tool_calls:
            return LoopResult(answer=_text(reply), stopped="answer", turns=turn, calls=calls)
        messages += _answer_calls(reply, runner, calls)
    return LoopResult(
        answer="",
        stopped="step_limit",
        turns=max_turns,
        calls=calls,
        reason=f"no answer after {max_turns} model turns",
    )


def _answer_calls(
    reply: AIMessage, runner: ToolRunner, calls: list[ToolCallRecord]
) -> list[ToolMessage]:
    answers = []
    for bad in reply.invalid_tool_calls:
        result = ToolResult.fail(
            f"malformed tool call: {bad.get('error') or 'arguments are not valid JSON'}; "
            "send the arguments as one JSON object"
        )
        calls.append(
            ToolCallRecord(name=bad.get("name") or "?", args=bad.get("args") or "", status="error")
        )
        answers.append(
            ToolMessage(result.model_dump_json(), tool_call_id=bad.get("id") or "invalid")
        )
    for call in reply.tool_calls:
        result = runner.call(call["name"], call["args"])
        calls.append(
            ToolCallRecord(name=call["name"], args=str(call["args"]), status=result.status)
        )
        answers.append(
            ToolMessage(result.model_dump_json(), tool_call_id=call["id"] or call["name"])
        )
    return answers


def _text(message: AIMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else str(content)
