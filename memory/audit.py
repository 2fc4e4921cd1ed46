"""The tamper-evident audit log: append-only, hash-chained, signed records of decisions and actions.

Each record stores the hash of the previous one; its own hash covers its content and that
link. Editing, deleting or reordering any record breaks the chain, and `verify()` names the
record where it breaks. SQLite triggers refuse UPDATE and DELETE, but verification does not
rely on them: someone with the file can drop triggers and even rewrite every hash. What they
cannot do without the key (kept outside the data dir, `memory/audit_anchor.py`) is sign a
record or a witness, so a rewritten chain or a forged record fails its signature, and a
truncated, emptied or deleted log falls short of the head its witnesses recorded.

Every append checks the head it extends against the witnesses (O(1)) and refuses to write
on top of a log that was cut short or rewritten.
"""

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from memory.audit_anchor import (
    AuditKey,
    Head,
    WitnessRead,
    default_key_file,
    external_witness,
    local_witness,
    read_witness,
    write_witness,
)
from memory.audit_verify import (
    GENESIS,
    VerifyResult,
    check_log,
    malformed,
    record_hash,
    signature_problem,
    stored_fields,
)
from tools.errors import StateError
from tools.state_db import open_state_db

__all__ = ["GENESIS", "AuditLog", "AuditRecord", "VerifyResult", "record_hash"]

logger = logging.getLogger(__name__)
ADOPTED = "audit_signing_adopted"
_FIX = "run `lotsen audit verify` to see it, and restore state/audit.db from a backup"
_SIGNED_ROWS = (
    "SELECT a.*, s.key_id AS sig_key, s.sig FROM audit a "
    "LEFT JOIN audit_signature s ON s.seq = a.seq"
)
_MIGRATIONS = (
    # 1: the chain
    """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
    model TEXT, incident TEXT, idempotency_key TEXT UNIQUE, data TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX audit_model ON audit (model, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
""",
    # 2: signatures, append-only as the records (a table of their own, so records written
    # before signing existed can be signed without updating them)
    """
CREATE TABLE audit_signature (
    seq INTEGER PRIMARY KEY REFERENCES audit (seq), key_id TEXT NOT NULL, sig TEXT NOT NULL
);
CREATE TRIGGER audit_signature_no_update BEFORE UPDATE ON audit_signature
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_signature_no_delete BEFORE DELETE ON audit_signature
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
""",
)


class AuditRecord(BaseModel):
    """One audited fact."""

    seq: int
    at: datetime
    kind: str
    """decision, gate, approval_requested, approved, rejected, action, action_failed, ..."""
    actor: str
    """Agent, user or service that caused it."""
    model: str | None = None
    incident: str | None = None
    idempotency_key: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    """Evidence, tier, prompt hash, plan, result: whatever makes the record self-explaining."""
    prev_hash: str
    hash: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    """Append-only, signed audit records in a SQLite file, witnessed outside it."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], datetime] = _utcnow,
        *,
        key_file: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        """Open or create the log; sign the records of a log that predates signing.

        Args:
            path: The SQLite file.
            clock: When records are written.
            key_file: The signing key (created on first use); default `default_key_file()`.
            data_dir: The data dir the log belongs to: names its witness next to the key
                (default: the log's directory).

        Raises:
            StateError: the file is not a usable audit log.
            ConfigError: the key file exists but holds no key.
        """
        self._key = AuditKey.load(key_file or default_key_file())
        self._data_dir = data_dir or path.parent
        self._witnesses = (
            local_witness(path),
            external_witness(self._key.path, self._data_dir),
        )
        self._path = path
        self._conn = open_state_db(path, "lotsen.audit", _MIGRATIONS)
        self._conn.row_factory = sqlite3.Row
        self._clock = clock
        try:
            self._adopt_unsigned()
        except BaseException:
            self._conn.close()
            raise

    @property
    def key_id(self) -> str:
        """Id of the key this log signs with."""
        return self._key.id

    @property
    def witness_files(self) -> tuple[Path, ...]:
        """Where the head is written after each append: next to the log, next to the key."""
        return self._witnesses

    def append(
        self,
        kind: str,
        *,
        actor: str,
        data: Mapping[str, Any],
        model: str | None = None,
        incident: str | None = None,
        idempotency_key: str | None = None,
    ) -> AuditRecord:
        """Add a record; with an idempotency key already present, return that record instead.

        Raises:
            StateError: the log's head does not match its witnesses or its last record's
                signature does not hold (the log was cut short, replaced or forged).
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if idempotency_key is not None:
                row = self._conn.execute(
                    "SELECT * FROM audit WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    self._conn.execute("ROLLBACK")
                    return _record(row, self._path)
            self._check_head()
            record = self._insert(kind, actor, data, model, incident, idempotency_key)
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._witness(Head(records=record.seq, head=record.hash, key_id=self._key.id))
        return record

    def head(self) -> Head:
        """The log's current head: record count, last hash, the key id it is signed with."""
        last = self._conn.execute(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is None:
            return Head(records=0, head=GENESIS, key_id=self._key.id)
        return Head(records=last["seq"], head=str(last["hash"]), key_id=self._key.id)

    def records(self, model: str | None = None, incident: str | None = None) -> list[AuditRecord]:
        """Records in order, optionally for one model or incident.

        Raises:
            StateError: a record is malformed (`verify()` names every one).
        """
        query, args = "SELECT * FROM audit", []
        clauses = []
        if model is not None:
            clauses.append("model = ?")
            args.append(model)
        if incident is not None:
            clauses.append("incident = ?")
            args.append(incident)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        rows = self._conn.execute(query + " ORDER BY seq", args)
        return [_record(row, self._path) for row in rows]

    def find(self, idempotency_key: str) -> AuditRecord | None:
        """The record written with this key, if any."""
        row = self._conn.execute(
            "SELECT * FROM audit WHERE idempotency_key = ?", (idempotency_key,)
        ).fetchone()
        return None if row is None else _record(row, self._path)

    def verify(self, expect_head: tuple[int, str] | None = None) -> VerifyResult:
        """Check every record's chain link, hash and signature, and the head's witnesses.

        Args:
            expect_head: A head kept elsewhere (record count, hash or its first 16+ hex
                digits): the log must still hold that record with that hash.
        """
        rows = self._conn.execute(_SIGNED_ROWS + " ORDER BY a.seq")
        return check_log(rows, self._key, self._read_witnesses(), expect_head)

    def reanchor(self, *, actor: str, reason: str) -> AuditRecord:
        """Accept the log as it now is (after restoring a backup) and record that it was.

        The log's own chain and signatures must verify; the witnesses, which may remember a
        later head than the restored log holds, are replaced, and an `audit_reanchored`
        record keeps what they said (the records after it are in the replaced data).

        Raises:
            StateError: the log itself does not verify (a restore does not launder it).
        """
        rows = self._conn.execute(_SIGNED_ROWS + " ORDER BY a.seq")
        own = check_log(rows, self._key, [], None)
        if not own.ok:
            raise StateError(f"{self._path} does not verify ({own.problem}); {_FIX}")
        before = [
            {"witness": str(r.path), "records": r.witness.records, "head": r.witness.head}
            if r.witness is not None
            else {"witness": str(r.path), "problem": r.problem or "missing"}
            for r in self._read_witnesses()
        ]
        self._witness(self.head())
        return self.append(
            "audit_reanchored", actor=actor, data={"reason": reason, "witnesses_before": before}
        )

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    # --- inside a write transaction -------------------------------------------------------
    def _check_head(self) -> None:
        """Refuse to extend a head its witnesses or its signature contradict (O(1))."""
        last = self._conn.execute(_SIGNED_ROWS + " ORDER BY a.seq DESC LIMIT 1").fetchone()
        count = last["seq"] if last is not None else 0
        if last is not None:
            problem = signature_problem(last, self._key)
            if problem:
                raise StateError(f"{self._path}: record {count} {problem}; {_FIX}")
        for read in self._read_witnesses():
            if read.problem:
                raise StateError(f"{self._path}: {read.problem}; {_FIX}")
            witness = read.witness
            if witness is None or witness.records == 0:
                continue  # missing: written again after this append
            if witness.records > count:
                raise StateError(
                    f"{self._path} has {count} records but the witness {read.path} says "
                    f"{witness.records} (records removed, or the file deleted or replaced); {_FIX}"
                )
            row = self._conn.execute(
                "SELECT hash FROM audit WHERE seq = ?", (witness.records,)
            ).fetchone()
            if row is None or row["hash"] != witness.head:
                raise StateError(
                    f"{self._path}: record {witness.records} differs from the witness "
                    f"{read.path} (the chain was rewritten); {_FIX}"
                )

    def _insert(
        self,
        kind: str,
        actor: str,
        data: Mapping[str, Any],
        model: str | None,
        incident: str | None,
        idempotency_key: str | None,
    ) -> AuditRecord:
        last = self._conn.execute(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        fields = {
            "seq": seq,
            "at": self._clock().isoformat(),
            "kind": kind,
            "actor": actor,
            "model": model,
            "incident": incident,
            "idempotency_key": idempotency_key,
            "data": dict(data),
        }
        digest = record_hash(prev, fields)
        self._conn.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                fields["at"],
                kind,
                actor,
                model,
                incident,
                idempotency_key,
                json.dumps(fields["data"], sort_keys=True, default=str),
                prev,
                digest,
            ),
        )
        self._sign(seq, digest)
        return AuditRecord.model_validate({**fields, "prev_hash": prev, "hash": digest})

    def _sign(self, seq: int, digest: str) -> None:
        self._conn.execute(
            "INSERT INTO audit_signature VALUES (?, ?, ?)",
            (seq, self._key.id, self._key.sign(digest)),
        )

    # --- witnesses and adoption -----------------------------------------------------------
    def _read_witnesses(self) -> list[WitnessRead]:
        return [read_witness(path, self._key) for path in self._witnesses]

    def _witness(self, head: Head) -> None:
        at = self._clock()
        for path in self._witnesses:
            write_witness(path, head, self._key, at, self._data_dir)

    def _adopt_unsigned(self) -> None:
        """Sign, once, the records of a log written before signing existed.

        Only a log with records, no signature and no witness (a signed log always has
        witnesses) whose chain verifies is adopted; anything else is left for `verify()`
        to report, and appends refuse to extend it.
        """
        if self._conn.execute("SELECT 1 FROM audit_signature LIMIT 1").fetchone() is not None:
            return
        if self._conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone() is None:
            return
        if any(path.exists() for path in self._witnesses):
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            if self._conn.execute("SELECT 1 FROM audit_signature LIMIT 1").fetchone():
                self._conn.execute("ROLLBACK")  # another process adopted it meanwhile
                return
            rows = self._conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
            if not _chain_intact(rows):
                self._conn.execute("ROLLBACK")
                logger.warning("%s: unsigned and its chain does not verify: not signed", self._path)
                return
            for row in rows:
                self._sign(row["seq"], row["hash"])
            record = self._insert(
                ADOPTED,
                "lotsen",
                {"records": len(rows), "key_id": self._key.id},
                None,
                None,
                None,
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        logger.info("%s: signed %s records written before signing", self._path, len(rows))
        self._witness(Head(records=record.seq, head=record.hash, key_id=self._key.id))


def _chain_intact(rows: list[sqlite3.Row]) -> bool:
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        if malformed(row) or row["seq"] != expected or row["prev_hash"] != prev:
            return False
        if record_hash(prev, stored_fields(row)) != row["hash"]:
            return False
        prev = row["hash"]
    return True


def _record(row: sqlite3.Row, path: Path) -> AuditRecord:
    what = malformed(row)
    if what:
        raise StateError(
            f"{path}: record {row['seq']}: {what} is malformed; run `lotsen audit verify`"
        )
    return AuditRecord(
        seq=row["seq"],
        at=datetime.fromisoformat(row["at"]),
        kind=row["kind"],
        actor=row["actor"],
        model=row["model"],
        incident=row["incident"],
        idempotency_key=row["idempotency_key"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
