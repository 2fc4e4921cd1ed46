"""The scripted fake chat model: one reply per call, every call recorded."""

import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field

Turn = AIMessage | str | Exception | Callable[[list[BaseMessage]], AIMessage]


class RecordedCall(BaseModel):
    """What the code under test sent to the model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    messages: list[BaseMessage]
    options: dict[str, Any]
    """Keyword arguments of the call (tools, response_format, ...)."""


class ScriptedChatModel(GenericFakeChatModel):
    """Replies from a script, in order; raises scripted exceptions; records every call.

    `bind_tools` works (returns a binding that passes the tools through), so agents built
    with `bind_tools` or `create_agent` can run on it.
    """

    script: list[Any] = Field(default_factory=list)
    calls: list[RecordedCall] = Field(default_factory=list)

    def __init__(self, script: Sequence[Turn], **kwargs: Any) -> None:
        """Script the replies: text, AIMessage (tool calls), an exception, or a callable."""
        super().__init__(messages=iter(()), script=list(script), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(RecordedCall(messages=list(messages), options=kwargs))
        if not self.script:
            raise AssertionError(f"scripted model has no reply left for call {len(self.calls)}")
        turn = self.script.pop(0)
        if isinstance(turn, Exception):
            raise turn
        if callable(turn):
            turn = turn(list(messages))
        message = AIMessage(content=turn) if isinstance(turn, str) else turn
        if message.usage_metadata is None:
            message = message.model_copy(update={"usage_metadata": _estimate(messages, message)})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Accept tools like a real chat model; they reach `calls[i].options["tools"]`."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def assert_complete(self) -> None:
        """Fail if scripted replies were never used."""
        if self.script:
            raise AssertionError(f"{len(self.script)} scripted replies were never requested")


def say(text: str) -> AIMessage:
    """A plain text reply."""
    return AIMessage(content=text)


def call_tool(name: str, args: dict[str, Any], call_id: str | None = None) -> AIMessage:
    """A reply that calls one tool."""
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": call_id or f"call_{name}", "type": "tool_call"}
        ],
    )


def bad_tool_call(name: str, raw_args: str, call_id: str = "call_bad") -> AIMessage:
    """A reply whose tool-call arguments are not valid JSON (as small models produce)."""
    return AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": name,
                "args": raw_args,
                "id": call_id,
                "error": "invalid JSON",
                "type": "invalid_tool_call",
            }
        ],
    )


def _estimate(messages: list[BaseMessage], reply: AIMessage) -> Any:
    prompt = sum(len(json.dumps(m.content)) for m in messages) // 4
    output = (len(json.dumps(reply.content)) + len(json.dumps(reply.tool_calls))) // 4
    return {"input_tokens": prompt, "output_tokens": output, "total_tokens": prompt + output}
