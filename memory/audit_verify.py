"""Checking an audit log: chain, signatures, witnesses, and records too malformed to read.

`check_log` never raises for what it finds in the file: every finding becomes one line of
`VerifyResult.problems`, naming the record or witness, so a damaged log is described, not
crashed on.
"""

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from memory.audit_anchor import AuditKey, Head, WitnessRead

GENESIS = "0" * 64
MAX_RECORD_PROBLEMS = 10
"""Records named one by one; beyond that, a count (a rewritten chain fails everywhere)."""
_TEXT = ("kind", "actor")
_OPTIONAL_TEXT = ("model", "incident", "idempotency_key")


class WitnessState(BaseModel):
    """One witness as `verify` found it."""

    path: str
    records: int | None = None
    """Records the witness vouches for; None when it is missing or unusable."""
    head: str | None = None


class VerifyResult(BaseModel):
    """Outcome of `AuditLog.verify()`."""

    ok: bool
    records: int
    head: str
    """Hash of the last record (publish it elsewhere to detect a rewritten chain)."""
    problem: str = ""
    """The first of `problems` (empty when ok)."""
    problems: list[str] = Field(default_factory=list)
    """Every finding, one line each: tampering, malformed records, missing witnesses."""
    warnings: list[str] = Field(default_factory=list)
    """What is worth knowing but not a failure (a witness trailing the log after a crash)."""
    key_id: str = ""
    """Id of the key this process signs with."""
    witnesses: list[WitnessState] = Field(default_factory=list)


def record_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """Hash of a record's content chained to the previous record's hash."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def malformed(row: sqlite3.Row) -> str:
    """What in a stored record cannot be read (empty when it all can)."""
    if not _is_timestamp(row["at"]):
        return "its timestamp"
    for name in (*_TEXT, *_OPTIONAL_TEXT):
        if not isinstance(row[name], str) and not (name in _OPTIONAL_TEXT and row[name] is None):
            return f"its {name}"
    if not _is_json_object(row["data"]):
        return "its data (JSON object)"
    for name in ("prev_hash", "hash"):
        if not _is_hash(row[name]):
            return f"its {name}"
    return ""


def stored_fields(row: sqlite3.Row) -> dict[str, Any]:
    """The fields a record's hash covers, as stored (the row must not be malformed)."""
    return {
        "seq": row["seq"],
        "at": row["at"],
        "kind": row["kind"],
        "actor": row["actor"],
        "model": row["model"],
        "incident": row["incident"],
        "idempotency_key": row["idempotency_key"],
        "data": json.loads(row["data"]),
    }


def signature_problem(row: sqlite3.Row, key: AuditKey) -> str:
    """Why a record's signature (columns `sig_key`, `sig`) does not hold; empty if it does."""
    if row["sig"] is None:
        return "is not signed (added without the key)"
    if row["sig_key"] != key.id:
        return f"is signed with key {row['sig_key']}, this key is {key.id}"
    if not isinstance(row["hash"], str) or not key.verifies(row["hash"], str(row["sig"])):
        return "has a wrong signature (forged, or rewritten without the key)"
    return ""


def check_log(
    rows: Iterable[sqlite3.Row],
    key: AuditKey,
    witnesses: list[WitnessRead],
    expect: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check every record (chain link, hash, signature, readability) and the witnesses.

    Args:
        rows: The records in `seq` order, each joined with its signature (`sig_key`, `sig`).
        key: The key records should be signed with.
        witnesses: The witness files, the one next to the log first.
        expect: A head the operator kept (`records`, hash or its first 16+ hex digits):
            the log must still have that record with that hash.
    """
    found: list[str] = []
    hashes: dict[int, str] = {}
    prev, expected, count, signed = GENESIS, 1, 0, 0
    for row in rows:
        count += 1
        seq = row["seq"]
        problem = _record_problem(row, prev, expected, key)
        if row["sig"] is not None:
            signed += 1
        if problem:
            found.append(problem)
        prev = row["hash"] if isinstance(row["hash"], str) else prev
        hashes[seq] = prev
        expected = seq + 1
    problems = found[:MAX_RECORD_PROBLEMS]
    if len(found) > MAX_RECORD_PROBLEMS:
        problems.append(f"... and {len(found) - MAX_RECORD_PROBLEMS} more records with problems")
    if count and not signed:
        problems.append(
            f"none of the {count} records is signed (the log was not adopted for signing: "
            "its chain did not verify)"
        )
    head = Head(records=count, head=prev, key_id=key.id)
    warnings: list[str] = []
    # Moving or copying the data dir leaves the witness next to the key behind (it is named
    # after the data dir's path): while the one next to the log vouches for the head, a
    # missing outer witness is a warning, rewritten by the next append.
    local_ok = bool(witnesses) and witnesses[0].witness is not None
    states = [
        _compare_witness(w, head, hashes, problems, warnings, soft=n > 0 and local_ok)
        for n, w in enumerate(witnesses)
    ]
    if expect is not None:
        _compare_expected(expect, hashes, problems)
    return VerifyResult(
        ok=not problems,
        records=count,
        head=prev,
        problem=problems[0] if problems else "",
        problems=problems,
        warnings=warnings,
        key_id=key.id,
        witnesses=states,
    )


def _record_problem(row: sqlite3.Row, prev: str, expected: int, key: AuditKey) -> str:
    """The first thing wrong with one record, as a sentence (empty when nothing is)."""
    seq = row["seq"]
    what = malformed(row)
    if what:
        return f"record {seq}: {what} is malformed"
    if seq != expected:
        return f"record {expected} is missing (found {seq} instead)"
    if row["prev_hash"] != prev:
        return f"record {seq} does not follow record {seq - 1}"
    if record_hash(prev, stored_fields(row)) != row["hash"]:
        return f"record {seq} was modified after it was written"
    sig = signature_problem(row, key)
    return f"record {seq} {sig}" if sig else ""


def _compare_witness(
    read: WitnessRead,
    head: Head,
    hashes: Mapping[int, str],
    problems: list[str],
    warnings: list[str],
    *,
    soft: bool,
) -> WitnessState:
    """Compare one witness with the log; `soft`: its absence is a warning, not a problem."""
    state = WitnessState(path=str(read.path))
    if read.problem:
        problems.append(read.problem)
        return state
    witness = read.witness
    if witness is None:
        if head.records:
            (warnings if soft else problems).append(
                f"the witness {read.path} is missing, so the head cannot be checked against "
                "it (not tampering by itself: after moving or copying the data dir it is "
                "expected, and the next append writes it)"
            )
        return state
    state.records, state.head = witness.records, witness.head
    if witness.records > head.records:
        problems.append(
            f"the log has {head.records} records but the witness {read.path} says "
            f"{witness.records}: records were removed, or the file was deleted or replaced"
        )
    elif witness.records and hashes.get(witness.records) != witness.head:
        problems.append(
            f"record {witness.records} differs from the witness {read.path}: the chain was "
            "rewritten"
        )
    elif witness.records < head.records:
        warnings.append(
            f"the witness {read.path} trails the log by {head.records - witness.records} "
            "record(s) (a writer stopped between a record and its witness); the next append "
            "updates it"
        )
    return state


def _compare_expected(
    expect: tuple[int, str], hashes: Mapping[int, str], problems: list[str]
) -> None:
    records, digest = expect
    actual = hashes.get(records)
    if actual is None:
        problems.append(f"the log has no record {records} (expected head {records}:{digest})")
    elif not actual.startswith(digest.lower()):
        problems.append(
            f"record {records} has hash {actual[:16]}, not the expected {digest[:16]}: the chain "
            "was rewritten"
        )


def _is_hash(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_json_object(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
