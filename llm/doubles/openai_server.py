"""A scripted OpenAI-compatible server (FastAPI on 127.0.0.1) that behaves like vLLM.

Replies come from a script; when the script is empty and `auto` is on, the server answers
like a well-configured vLLM would (plain text, a tool call, JSON matching the schema), and
`ServerProfile` switches on the usual misconfigurations: no `--enable-auto-tool-choice`
(400, vLLM's own message), no working tool-call parser (the call comes back as text), or
structured outputs ignored (prose instead of JSON).
"""

import asyncio
import hashlib
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from llm.doubles.schema_sample import sample_instance

SCRIPTED_PORTS: set[int] = set()
"""Ports of running scripted servers: the only LLM endpoints tests may reach."""

AUTO_TOOL_CHOICE_ERROR = (
    '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
)


@dataclass
class Reply:
    """One scripted answer to /v1/chat/completions."""

    content: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """(tool name, arguments as a JSON string — may be deliberately malformed)."""
    status: int = 200
    error: str = "scripted error"
    delay_s: float = 0.0
    break_stream_after: int | None = None
    """When streaming: drop the connection after this many chunks, without [DONE]."""


@dataclass
class ServerProfile:
    """How the pretend vLLM is configured."""

    models: list[str] = field(default_factory=lambda: ["scripted-model"])
    tool_calling: bool = True
    """False = started without --enable-auto-tool-choice --tool-call-parser."""
    tool_parser_works: bool = True
    """False = wrong/missing parser: tool calls arrive as `<tool_call>` text."""
    json_schema: bool = True
    """False = response_format ignored: prose instead of JSON."""
    auto: bool = True
    """Answer by itself when the script is empty."""
    metrics_text: str = ""
    """What /metrics serves (Prometheus text format)."""


class ScriptedOpenAIServer:
    """Run with `with ScriptedOpenAIServer([...]) as server:`; `server.base_url` ends in /v1."""

    def __init__(
        self, script: list[Reply] | None = None, profile: ServerProfile | None = None
    ) -> None:
        """Prepare the server (not started yet)."""
        self.script = list(script or [])
        self.profile = profile or ServerProfile()
        self.requests: list[dict[str, Any]] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """OpenAI base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "ScriptedOpenAIServer":
        config = uvicorn.Config(
            _app(self), host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("scripted OpenAI server did not start")
            time.sleep(0.01)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        SCRIPTED_PORTS.add(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        SCRIPTED_PORTS.discard(self.port)
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def assert_complete(self) -> None:
        """Fail if scripted replies were never requested."""
        if self.script:
            raise AssertionError(f"{len(self.script)} scripted replies were never requested")

    def next_reply(self, body: dict[str, Any]) -> Reply | JSONResponse:
        """The reply for one request: scripted, automatic, or a vLLM-style error."""
        if body.get("model") not in self.profile.models:
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        tools = body.get("tools")
        if tools and body.get("tool_choice", "auto") == "auto" and not self.profile.tool_calling:
            return _error(400, AUTO_TOOL_CHOICE_ERROR, "BadRequestError")
        if self.script:
            return self.script.pop(0)
        if not self.profile.auto:
            return _error(
                500, "scripted server: no reply left in the script", "InternalServerError"
            )
        return self._auto_reply(body)

    def _auto_reply(self, body: dict[str, Any]) -> Reply:
        tools = body.get("tools") or []
        if tools:
            function = tools[0]["function"]
            args = json.dumps(sample_instance(function.get("parameters", {})))
            return Reply(tool_calls=[(function["name"], args)])
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        if schema is not None and self.profile.json_schema:
            return Reply(content=json.dumps(sample_instance(schema)))
        if schema is not None:
            return Reply(content="Sure! Here is my answer in plain words: everything is fine.")
        return Reply(content="pong")


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}}, status_code=status
    )


def _app(server: ScriptedOpenAIServer) -> FastAPI:  # noqa: C901 - one closure per route
    app = FastAPI()

    @app.get("/health")
    async def health() -> PlainTextResponse:
        return PlainTextResponse("")

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(server.profile.metrics_text)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "vllm"}
                for m in server.profile.models
            ],
        }

    @app.post("/v1/embeddings", response_model=None)
    async def embeddings(request: Request) -> JSONResponse | dict[str, Any]:
        body = await request.json()
        server.requests.append(body)
        if body.get("model") not in server.profile.models:
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(t)} for i, t in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> JSONResponse | StreamingResponse | dict[str, Any]:
        body = await request.json()
        server.requests.append(body)
        reply = server.next_reply(body)
        if isinstance(reply, JSONResponse):
            return reply
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status != 200:
            return _error(reply.status, reply.error, "APIError")
        reply = _as_text_if_no_parser(reply, server.profile)
        if body.get("stream"):
            return StreamingResponse(_stream(body, reply), media_type="text/event-stream")
        return _completion(body, reply)

    return app


def _embed(text: str, dims: int = 64) -> list[float]:
    """A deterministic bag-of-words vector (what a real embedding model would do, roughly)."""
    vector = [0.0] * dims
    for word in text.lower().split():
        vector[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _as_text_if_no_parser(reply: Reply, profile: ServerProfile) -> Reply:
    if profile.tool_parser_works or not reply.tool_calls:
        return reply
    text = "".join(
        f'<tool_call>{{"name": "{n}", "arguments": {a}}}</tool_call>' for n, a in reply.tool_calls
    )
    return Reply(content=text)


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = len(json.dumps(body.get("messages", []))) // 4
    completion = (len(reply.content or "") + len(json.dumps(reply.tool_calls))) // 4
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(reply.tool_calls)
    ]


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(body, reply),
    }


async def _stream(body: dict[str, Any], reply: Reply) -> AsyncIterator[str]:
    chunks = list(_chunks(body, reply))
    limit = reply.break_stream_after
    for index, chunk in enumerate(chunks):
        if limit is not None and index >= limit:
            return
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def _chunks(body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    base = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body["model"],
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    for word in (reply.content or "").split(" "):
        yield chunk({"content": word + " "})
    for i, call in enumerate(_tool_calls(reply)):
        yield chunk({"tool_calls": [{"index": i, **call}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(body, reply)}
