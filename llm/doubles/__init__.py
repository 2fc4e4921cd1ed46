"""Test doubles for models, shared by tests and evals: never a real LLM.

- `ScriptedChatModel`: a scripted fake chat model (langchain-core) for unit tests.
- `ScriptedOpenAIServer`: a scripted OpenAI-compatible HTTP server, so the real client path
  (langchain-openai / openai / httpx) is exercised end to end.
"""

from llm.doubles.fake_chat import ScriptedChatModel, bad_tool_call, call_tool, say
from llm.doubles.openai_server import (
    SCRIPTED_PORTS,
    Reply,
    ScriptedOpenAIServer,
    ServerProfile,
)

__all__ = [
    "SCRIPTED_PORTS",
    "Reply",
    "ScriptedChatModel",
    "ScriptedOpenAIServer",
    "ServerProfile",
    "bad_tool_call",
    "call_tool",
    "say",
]
