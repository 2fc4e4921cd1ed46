"""Append-only history of alias moves (MLflow keeps only the current alias)."""

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tools.domain import AliasChange
from tools.state_db import open_state_db

_MIGRATIONS = (
    # 1: the history
    """
CREATE TABLE alias_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    old_version INTEGER,
    new_version INTEGER,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX alias_changes_model ON alias_changes (model, seq);
CREATE TRIGGER alias_changes_no_update BEFORE UPDATE ON alias_changes
BEGIN SELECT RAISE(ABORT, 'alias history is append-only'); END;
CREATE TRIGGER alias_changes_no_delete BEFORE DELETE ON alias_changes
BEGIN SELECT RAISE(ABORT, 'alias history is append-only'); END;
""",
    # 2: idempotent moves (SQLite cannot add a UNIQUE column, so a unique index instead;
    # files created as version 2 before migrations existed have the column constraint)
    """
ALTER TABLE alias_changes ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX alias_changes_idempotency_key ON alias_changes (idempotency_key);
""",
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AliasHistory:
    """Records every alias change; rows can be added, never changed or removed."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = _utcnow) -> None:
        """Open or create the history in the SQLite file at `path`."""
        self._conn = open_state_db(path, "lotsen.alias_history", _MIGRATIONS)
        self._clock = clock

    def record(
        self,
        model: str,
        alias: str,
        old_version: int | None,
        new_version: int | None,
        *,
        actor: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> AliasChange:
        """Append one alias change and return it (once per idempotency key)."""
        if idempotency_key is not None:
            done = self.find(idempotency_key)
            if done is not None:
                return done
        at = self._clock()
        cursor = self._conn.execute(
            "INSERT INTO alias_changes (at, model, alias, old_version, new_version, actor, reason,"
            " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at.isoformat(),
                model,
                alias,
                old_version,
                new_version,
                actor,
                reason,
                idempotency_key,
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        return AliasChange(
            seq=seq,
            at=at,
            model=model,
            alias=alias,
            old_version=old_version,
            new_version=new_version,
            actor=actor,
            reason=reason,
        )

    def find(self, idempotency_key: str) -> AliasChange | None:
        """The change recorded with this key, if any."""
        found = self._query(" WHERE idempotency_key = ?", (idempotency_key,))
        return found[0] if found else None

    def changes(self, model: str | None = None) -> list[AliasChange]:
        """All changes in order, optionally for one model."""
        if model is None:
            return self._query("", ())
        return self._query(" WHERE model = ?", (model,))

    def _query(self, where: str, args: tuple[str, ...]) -> list[AliasChange]:
        self._conn.row_factory = sqlite3.Row
        rows = self._conn.execute(
            f"SELECT * FROM alias_changes{where} ORDER BY seq", args
        ).fetchall()
        return [
            AliasChange(
                seq=row["seq"],
                at=datetime.fromisoformat(row["at"]),
                model=row["model"],
                alias=row["alias"],
                old_version=row["old_version"],
                new_version=row["new_version"],
                actor=row["actor"],
                reason=row["reason"],
            )
            for row in rows
        ]

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()
