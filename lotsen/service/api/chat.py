"""Chat with the ops assistant: threads, and messages answered as Server-Sent Events.

A message is answered in full before the stream starts (so an unknown thread or a refused
question is a plain HTTP error, not a broken stream), then sent as events: `message` (the
stored question), `token` (the answer's text: the whole text at tier 0; word chunks from an
LLM tier), `answer` (entities, tool calls, proposals, queued approvals, tier, cost), `done`.
Proposed changes are queued for a second person's approval, never executed here.
"""

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StringConstraints

from lotsen.service.api.common import ERRORS, Operator, Viewer, with_world
from lotsen.service.auth import Principal
from memory.threads import THREADS_FILE, Message, Thread, ThreadStore
from tools.errors import NotFoundError
from world.world import World

router = APIRouter(responses=ERRORS, tags=["chat"])
MAX_MESSAGE = 4000
"""Longest question, in characters."""
CHUNK_WORDS = 3
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE)
]


class NewThread(BaseModel):
    """A thread to open."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class NewMessage(BaseModel):
    """A question to the assistant."""

    text: Text = Field(description=f"The question (1 to {MAX_MESSAGE} characters).")
    tier: Annotated[str, StringConstraints(max_length=100)] | None = None
    """LLM tier name, or 0 for the deterministic core (default: the cheapest)."""


class ThreadDetail(BaseModel):
    """A thread and its messages."""

    thread: Thread
    messages: list[Message]


class ChatReply(BaseModel):
    """What a message led to (the data of the `answer` event)."""

    thread: str
    question: Message
    reply: Message
    queued_approvals: list[str]


def thread_store(request: Request, world: World) -> ThreadStore:
    """The app's thread store (opened on first use; call with the world locked)."""
    store = getattr(request.app.state, "threads", None)
    if store is None:
        store = ThreadStore(world.state.root / THREADS_FILE)
        request.app.state.threads = store
    assert isinstance(store, ThreadStore)
    return store


@router.get("/chat/threads", summary="The caller's chat threads")
def threads(request: Request, who: Viewer) -> list[Thread]:
    """Threads the caller opened (an admin sees everyone's), most recent first."""

    def read(w: World) -> list[Thread]:
        opened = getattr(request.app.state, "threads", None) is not None
        if not opened and not (w.state.root / THREADS_FILE).exists():
            return []  # reading creates no store
        return thread_store(request, w).threads(None if who.has("admin") else who.name)

    return with_world(request, read)


@router.post("/chat/threads", summary="Open a chat thread", status_code=201)
def open_thread(request: Request, who: Operator, body: NewThread | None = None) -> Thread:
    """A new, empty thread owned by the caller."""
    title = body.title if body and body.title else "chat"
    return with_world(
        request, lambda w: thread_store(request, w).create(who.name, title, w.clock())
    )


@router.get("/chat/threads/{thread_id}", summary="One thread with its messages")
def thread(request: Request, thread_id: str, who: Viewer) -> ThreadDetail:
    """The thread's messages, oldest first (404: unknown, or another user's)."""

    def read(w: World) -> ThreadDetail:
        store = _owned(request, w, thread_id, who)
        return ThreadDetail(thread=store.get(thread_id), messages=store.messages(thread_id))

    return with_world(request, read)


@router.post(
    "/chat/threads/{thread_id}/messages",
    summary="Ask the assistant (answer streamed as Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream"}},
)
async def post_message(
    request: Request, thread_id: str, who: Operator, body: NewMessage
) -> StreamingResponse:
    """Store the question, answer it, store the answer, stream it."""
    reply = await run_in_threadpool(
        with_world, request, lambda w: _converse(request, w, thread_id, who, body)
    )
    return StreamingResponse(
        _events(reply),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _owned(request: Request, world: World, thread_id: str, who: Principal) -> ThreadStore:
    missing = NotFoundError(f"unknown chat thread {thread_id!r}; GET /api/v1/chat/threads")
    if not (world.state.root / THREADS_FILE).exists():
        raise missing
    store = thread_store(request, world)
    try:
        owner = store.get(thread_id).owner
    except NotFoundError:
        raise missing from None
    if owner != who.name and not who.has("admin"):
        raise missing  # another user's thread is not revealed
    return store


def _converse(
    request: Request, world: World, thread_id: str, who: Principal, body: NewMessage
) -> ChatReply:
    from agents.assistant import AssistantAnswer, answer
    from agents.assistant.answer import choose_llm
    from world.approvals import queue_chat_proposals
    from world.assistant import assistant_port

    store = _owned(request, world, thread_id, who)
    proposer = world.user(who.name, "operator")
    assistant = assistant_port(world, proposer)
    choose_llm(assistant, body.tier)  # an unknown tier fails before anything is stored
    previous = None
    for message in reversed(store.messages(thread_id)):
        if message.role == "assistant" and message.answer is not None:
            previous = AssistantAnswer.model_validate(message.answer)
            break
    question = store.append(thread_id, "user", body.text, world.clock())
    reply = answer(body.text, assistant, tier=body.tier, previous=previous)
    queued = queue_chat_proposals(world, reply, proposer) if reply.proposals else []
    stored = store.append(
        thread_id, "assistant", reply.text, world.clock(), reply.model_dump_json()
    )
    _count_tier(reply.tier)
    return ChatReply(
        thread=thread_id, question=question, reply=stored, queued_approvals=[r.id for r in queued]
    )


def _count_tier(tier: str) -> None:
    from lotsen.service import metrics

    metrics.CHAT_ANSWERS.labels(tier).inc()


def _events(reply: ChatReply) -> Iterator[str]:
    yield _event("message", reply.question.model_dump(mode="json"))
    text = reply.reply.text
    tier = (reply.reply.answer or {}).get("tier", "tier0")
    if tier == "tier0":
        yield _event("token", {"text": text})
    else:
        words = text.split(" ")
        for i in range(0, len(words), CHUNK_WORDS):
            tail = " " if i + CHUNK_WORDS < len(words) else ""
            yield _event("token", {"text": " ".join(words[i : i + CHUNK_WORDS]) + tail})
    yield _event("answer", reply.model_dump(mode="json"))
    yield _event("done", {"thread": reply.thread, "seq": reply.reply.seq})


def _event(name: str, data: object) -> str:
    payload = json.dumps(data, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n"
