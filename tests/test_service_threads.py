"""Chat threads' store and the SSE framing of answers (no world needed)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lotsen.service.api.chat import ChatReply, _events
from memory.threads import THREADS_FILE, Message, ThreadStore
from tools.errors import NotFoundError, StateError
from tools.state_manifest import manifest_of

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_threads_persist_in_order_and_are_in_the_state_manifest(tmp_path: Path) -> None:
    path = tmp_path / THREADS_FILE
    store = ThreadStore(path)
    first = store.create("olga", "one", NOW)
    second = store.create("bob", "two", NOW)
    store.append(first.id, "user", "q1", NOW)
    store.append(first.id, "assistant", "a1", NOW, json.dumps({"tier": "tier0"}))
    store.close()
    reopened = ThreadStore(path)
    assert [t.id for t in reopened.threads("olga")] == [first.id]
    assert {t.id for t in reopened.threads()} == {first.id, second.id}
    messages = reopened.messages(first.id)
    assert [(m.seq, m.role, m.text) for m in messages] == [
        (1, "user", "q1"),
        (2, "assistant", "a1"),
    ]
    assert messages[1].answer == {"tier": "tier0"}
    with pytest.raises(NotFoundError, match="unknown chat thread"):
        reopened.append("thr-nope", "user", "x", NOW)
    reopened.close()
    assert THREADS_FILE in manifest_of(tmp_path)
    path.unlink()
    with pytest.raises(StateError):
        ThreadStore(path)


def _reply(text: str, tier: str) -> ChatReply:
    question = Message(seq=1, role="user", text="q", at=NOW)
    answer = Message(seq=2, role="assistant", text=text, at=NOW, answer={"tier": tier})
    return ChatReply(thread="thr-1", question=question, reply=answer, queued_approvals=[])


def _tokens(reply: ChatReply) -> list[str]:
    out = []
    for event in _events(reply):
        name, data = event.strip().split("\n")
        if name == "event: token":
            out.append(json.loads(data.removeprefix("data: "))["text"])
    return out


def test_tier0_sends_the_whole_answer_an_llm_tier_sends_chunks() -> None:
    text = "The churn model drifted in f00 and f01 after the upstream schema change."
    assert _tokens(_reply(text, "tier0")) == [text]
    chunks = _tokens(_reply(text, "small"))
    assert len(chunks) > 1 and "".join(chunks) == text
