"""Chat threads of the ops assistant: who asked what, and what the assistant answered.

A thread belongs to the user who opened it; its messages are kept in order. Stored in
SQLite beside the approvals (`<data_dir>/state/threads.db`), registered in the state
manifest like every other store, so a lost file is an error and `lotsen state backup`
covers it.
"""

import json
import secrets
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, JsonValue

from tools.errors import NotFoundError
from tools.state_db import open_state_db

THREADS_FILE = "threads.db"
Role = Literal["user", "assistant"]

_MIGRATIONS = (
    """
CREATE TABLE threads (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX threads_by_owner ON threads(owner, updated_at);
CREATE TABLE messages (
  thread_id TEXT NOT NULL REFERENCES threads(id), seq INTEGER NOT NULL,
  role TEXT NOT NULL, text TEXT NOT NULL, answer TEXT, at TEXT NOT NULL,
  PRIMARY KEY (thread_id, seq));
""",
)


class Message(BaseModel):
    """One message of a thread."""

    seq: int
    role: Role
    text: str
    at: datetime
    answer: dict[str, JsonValue] | None = None
    """The assistant's full answer (facts, entities, tool calls, proposals), as JSON."""


class Thread(BaseModel):
    """A conversation (without its messages)."""

    id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime


class ThreadStore:
    """SQLite store of chat threads."""

    def __init__(self, path: Path) -> None:
        """Open or create the store."""
        self._conn = open_state_db(path, "lotsen.threads", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row

    def create(self, owner: str, title: str, now: datetime) -> Thread:
        """Open a new thread for `owner`."""
        thread_id = "thr-" + secrets.token_hex(6)
        self._conn.execute(
            "INSERT INTO threads (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            (thread_id, owner, title, now.isoformat(), now.isoformat()),
        )
        return self.get(thread_id)

    def get(self, thread_id: str) -> Thread:
        """One thread.

        Raises:
            NotFoundError: no such thread.
        """
        row = self._conn.execute("SELECT * FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unknown chat thread {thread_id!r}")
        return Thread.model_validate(dict(row))

    def threads(self, owner: str | None = None) -> list[Thread]:
        """Threads (of `owner`, or everyone's), most recently used first."""
        sql, args = "SELECT * FROM threads", list[str]()
        if owner is not None:
            sql, args = sql + " WHERE owner = ?", [owner]
        rows = self._conn.execute(sql + " ORDER BY updated_at DESC, id", args).fetchall()
        return [Thread.model_validate(dict(r)) for r in rows]

    def messages(self, thread_id: str) -> list[Message]:
        """A thread's messages, oldest first.

        Raises:
            NotFoundError: no such thread.
        """
        self.get(thread_id)
        rows = self._conn.execute(
            "SELECT * FROM messages WHERE thread_id = ? ORDER BY seq", (thread_id,)
        ).fetchall()
        return [_message(r) for r in rows]

    def append(
        self,
        thread_id: str,
        role: Role,
        text: str,
        now: datetime,
        answer: str | None = None,
    ) -> Message:
        """Add a message (`answer`: the assistant's answer as JSON) to a thread.

        Raises:
            NotFoundError: no such thread.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self.get(thread_id)
            (last,) = self._conn.execute(
                "SELECT coalesce(max(seq), 0) FROM messages WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            self._conn.execute(
                "INSERT INTO messages (thread_id, seq, role, text, answer, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, last + 1, role, text, answer, now.isoformat()),
            )
            self._conn.execute(
                "UPDATE threads SET updated_at = ? WHERE id = ?", (now.isoformat(), thread_id)
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.messages(thread_id)[-1]

    def close(self) -> None:
        """Close the database."""
        self._conn.close()


def _message(row: sqlite3.Row) -> Message:
    answer = json.loads(row["answer"]) if row["answer"] else None
    return Message(seq=row["seq"], role=row["role"], text=row["text"], at=row["at"], answer=answer)
