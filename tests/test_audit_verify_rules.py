"""The audit verifier's rules at their edges, and the exact line `lotsen audit verify` prints.

`test_audit_anchor.py` tampers a real log file one way at a time. Here `check_log` and its
helpers get rows built directly (an in-memory SQLite select, so they are real
`sqlite3.Row`s) and witnesses as read: a hash just too short or with one foreign digit, a
field that may be NULL and one that may not, exactly `MAX_RECORD_PROBLEMS` bad records and
one more, a witness at zero records, a kept head in capitals. Each finding's sentence is
pinned whole: it is what an operator reads to learn what broke and where.
"""

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memory.audit_anchor import AuditKey, Witness, WitnessRead
from memory.audit_verify import (
    GENESIS,
    MAX_RECORD_PROBLEMS,
    VerifyResult,
    WitnessState,
    check_log,
    malformed,
    record_hash,
    signature_problem,
    stored_fields,
)

KEY = AuditKey(b"k" * 32, Path("/keys/lotsen/audit.key"))
OTHER = AuditKey(b"o" * 32, Path("/elsewhere/audit.key"))
LOCAL = Path("/data/state/audit.head.json")
OUTER = Path("/keys/lotsen/witness/0123456789abcdef.json")
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def chain(n: int, key: AuditKey = KEY) -> list[dict[str, Any]]:
    """`n` well-formed records, chained and signed with `key` (as `AuditLog` writes them)."""
    records, prev = [], GENESIS
    for seq in range(1, n + 1):
        fields = {
            "seq": seq,
            "at": f"2026-01-0{seq % 9 + 1}T00:00:00+00:00",
            "kind": "decision",
            "actor": "retrainer",
            "model": "churn",
            "incident": None,
            "idempotency_key": None,
            "data": {"n": seq},
        }
        digest = record_hash(prev, fields)
        records.append(
            {
                **fields,
                "data": f'{{"n": {seq}}}',
                "prev_hash": prev,
                "hash": digest,
                "sig_key": key.id,
                "sig": key.sign(digest),
            }
        )
        prev = digest
    return records


def rows(records: list[dict[str, Any]]) -> list[sqlite3.Row]:
    """The records as the rows `AuditLog` hands `check_log` (same columns, same types)."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    found = []
    for record in records:
        columns = ", ".join(f"? AS {name}" for name in record)
        found.append(conn.execute(f"SELECT {columns}", list(record.values())).fetchone())
    conn.close()
    return found


def row(**changes: Any) -> sqlite3.Row:
    """The first record of a chain, with `changes`."""
    return rows([{**chain(1)[0], **changes}])[0]


def witness(records: int, head: str, path: Path = LOCAL) -> WitnessRead:
    """A witness file as `read_witness` returns it once its signature held."""
    return WitnessRead(
        path, Witness(records=records, head=head, key_id=KEY.id, at=AT, data_dir="/data")
    )


def check(
    records: list[dict[str, Any]],
    witnesses: list[WitnessRead] | None = None,
    expect: tuple[int, str] | None = None,
) -> VerifyResult:
    return check_log(rows(records), KEY, witnesses or [], expect)


# --- the hash --------------------------------------------------------------------------------
def test_record_hash_is_sha256_of_the_previous_hash_and_canonical_json() -> None:
    fields = {"b": 1, "a": AT, "c": [1, "x"]}
    body = '{"a":"2026-01-02 03:04:05+00:00","b":1,"c":[1,"x"]}'
    assert record_hash(GENESIS, fields) == hashlib.sha256((GENESIS + body).encode()).hexdigest()
    assert record_hash("f" * 64, fields) != record_hash(GENESIS, fields)


def test_stored_fields_are_what_the_hash_covers() -> None:
    [record] = chain(1)
    assert stored_fields(rows([record])[0]) == {
        "seq": 1,
        "at": record["at"],
        "kind": "decision",
        "actor": "retrainer",
        "model": "churn",
        "incident": None,
        "idempotency_key": None,
        "data": {"n": 1},
    }


# --- what cannot be read ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({}, ""),
        ({"model": None, "incident": None, "idempotency_key": None}, ""),
        ({"incident": "inc-1", "idempotency_key": "k"}, ""),
        ({"at": 12}, "its timestamp"),
        ({"at": None}, "its timestamp"),
        ({"at": "yesterday"}, "its timestamp"),
        ({"kind": None}, "its kind"),
        ({"actor": None}, "its actor"),
        ({"actor": 7}, "its actor"),
        ({"model": 7}, "its model"),
        ({"incident": b"inc"}, "its incident"),
        ({"idempotency_key": 1.5}, "its idempotency_key"),
        ({"data": "{not json"}, "its data (JSON object)"),
        ({"data": "[1, 2]"}, "its data (JSON object)"),
        ({"data": 5}, "its data (JSON object)"),
        ({"data": b"{}"}, "its data (JSON object)"),
        ({"data": None}, "its data (JSON object)"),
        ({"prev_hash": "A" * 64}, "its prev_hash"),
        ({"hash": "a" * 63}, "its hash"),
        ({"hash": "a" * 65}, "its hash"),
        ({"hash": "X" * 64}, "its hash"),
        ({"hash": "a" * 63 + "g"}, "its hash"),
        ({"hash": 12}, "its hash"),
        ({"at": "soon", "hash": "short"}, "its timestamp"),  # the first thing wrong
    ],
)
def test_malformed_names_the_first_unreadable_field(changes: dict[str, Any], what: str) -> None:
    assert malformed(row(**changes)) == what


def test_any_lowercase_hex_digest_is_a_hash() -> None:
    assert malformed(row(prev_hash="0123456789abcdef" * 4, hash="fedcba9876543210" * 4)) == ""


# --- signatures ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, ""),
        ({"sig": None}, "is not signed (added without the key)"),
        ({"sig_key": OTHER.id}, f"is signed with key {OTHER.id}, this key is {KEY.id}"),
        ({"sig": "deadbeef"}, "has a wrong signature (forged, or rewritten without the key)"),
        ({"sig": OTHER.sign("x")}, "has a wrong signature (forged, or rewritten without the key)"),
        ({"hash": 12}, "has a wrong signature (forged, or rewritten without the key)"),
    ],
)
def test_signature_problem(changes: dict[str, Any], problem: str) -> None:
    assert signature_problem(row(**changes), KEY) == problem


# --- the chain -------------------------------------------------------------------------------
def test_an_intact_chain_with_agreeing_witnesses_is_ok() -> None:
    records = chain(3)
    head = records[-1]["hash"]
    result = check(records, [witness(3, head), witness(3, head, OUTER)])
    assert result == VerifyResult(
        ok=True,
        records=3,
        head=head,
        key_id=KEY.id,
        witnesses=[
            WitnessState(path=str(LOCAL), records=3, head=head),
            WitnessState(path=str(OUTER), records=3, head=head),
        ],
    )


def test_an_empty_log_without_witnesses_is_ok() -> None:
    result = check([], [WitnessRead(LOCAL), WitnessRead(OUTER)])
    assert (result.ok, result.records, result.head, result.problems) == (True, 0, GENESIS, [])
    assert result.warnings == [] and result.witnesses == [
        WitnessState(path=str(LOCAL)),
        WitnessState(path=str(OUTER)),
    ]


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ({"seq": 3}, ["record 2 is missing (found 3 instead)"]),
        ({"prev_hash": GENESIS}, ["record 2 does not follow record 1"]),
        ({"actor": "mallory"}, ["record 2 was modified after it was written"]),
        ({"kind": None}, ["record 2: its kind is malformed"]),
        ({"sig": None}, ["record 2 is not signed (added without the key)"]),
    ],
)
def test_each_record_problem_is_one_line_naming_the_record(
    change: dict[str, Any], problems: list[str]
) -> None:
    records = chain(2)
    records[1].update(change)
    result = check(records)
    assert (result.ok, result.problems, result.problem) == (False, problems, problems[0])


def test_after_a_gap_the_next_records_are_checked_from_the_one_found() -> None:
    records = chain(4)
    del records[1]
    result = check(records)
    assert result.problems == ["record 2 is missing (found 3 instead)"]
    assert (result.records, result.head) == (3, records[-1]["hash"])


def test_a_record_whose_hash_is_unreadable_keeps_the_last_readable_head() -> None:
    records = chain(3)
    records[2]["hash"] = 12
    result = check(records)
    assert result.problems == ["record 3: its hash is malformed"]
    assert (result.records, result.head) == (3, records[1]["hash"])
    records = chain(3)
    records[1]["hash"] = 12
    assert check(records).problems == [
        "record 2: its hash is malformed",
        "record 3 does not follow record 2",
    ]


@pytest.mark.parametrize("bad", [MAX_RECORD_PROBLEMS - 1, MAX_RECORD_PROBLEMS])
def test_up_to_max_record_problems_every_record_is_named(bad: int) -> None:
    records = chain(bad + 1, OTHER)[1:]
    result = check_log(rows(chain(1) + records), KEY, [])
    assert len(result.problems) == bad
    assert result.problems[-1].startswith(f"record {bad + 1} is signed with key {OTHER.id}")


@pytest.mark.parametrize("more", [1, 2])
def test_beyond_max_record_problems_the_rest_are_counted(more: int) -> None:
    result = check(chain(MAX_RECORD_PROBLEMS + more, OTHER))
    assert MAX_RECORD_PROBLEMS == 10
    assert result.problems[:-1] == [
        f"record {n} is signed with key {OTHER.id}, this key is {KEY.id}" for n in range(1, 11)
    ]
    assert result.problems[-1] == f"... and {more} more records with problems"


def test_a_log_with_no_signature_at_all_says_it_was_never_adopted() -> None:
    records = chain(2)
    for record in records:
        record["sig"] = record["sig_key"] = None
    assert check(records).problems == [
        "record 1 is not signed (added without the key)",
        "record 2 is not signed (added without the key)",
        "none of the 2 records is signed (the log was not adopted for signing: its chain did "
        "not verify)",
    ]
    records[0].update(chain(1)[0])
    assert check(records).problems == ["record 2 is not signed (added without the key)"]


# --- witnesses -------------------------------------------------------------------------------
MISSING = (
    "the witness {} is missing, so the head cannot be checked against it (not tampering by "
    "itself: after moving or copying the data dir it is expected, and the next append writes it)"
)


def test_a_missing_outer_witness_is_a_warning_while_the_local_one_vouches() -> None:
    records = chain(2)
    result = check(records, [witness(2, records[-1]["hash"]), WitnessRead(OUTER)])
    assert result.ok and result.warnings == [MISSING.format(OUTER)]
    assert result.witnesses[1] == WitnessState(path=str(OUTER))


def test_missing_witnesses_are_problems_when_the_local_one_does_not_vouch() -> None:
    records = chain(2)
    result = check(records, [WitnessRead(LOCAL), WitnessRead(OUTER)])
    assert result.problems == [MISSING.format(LOCAL), MISSING.format(OUTER)]
    assert result.warnings == []
    result = check(records, [WitnessRead(LOCAL), witness(2, records[-1]["hash"], OUTER)])
    assert result.problems == [MISSING.format(LOCAL)]


def test_an_unusable_witness_is_reported_as_read() -> None:
    records = chain(1)
    unusable = WitnessRead(LOCAL, problem=f"the witness {LOCAL} is malformed")
    result = check(records, [unusable, witness(1, records[0]["hash"], OUTER)])
    assert result.problems == [f"the witness {LOCAL} is malformed"]
    assert result.witnesses[0] == WitnessState(path=str(LOCAL))


def test_a_witness_ahead_of_the_log_means_records_were_removed() -> None:
    records = chain(3)
    result = check(records[:2], [witness(3, records[2]["hash"])])
    assert result.problems == [
        f"the log has 2 records but the witness {LOCAL} says 3: records were removed, or the "
        "file was deleted or replaced"
    ]
    assert result.witnesses == [WitnessState(path=str(LOCAL), records=3, head=records[2]["hash"])]


def test_a_witness_with_another_hash_for_its_record_means_a_rewrite() -> None:
    records = chain(3)
    for n in (2, 3):
        assert check(records, [witness(n, "e" * 64)]).problems == [
            f"record {n} differs from the witness {LOCAL}: the chain was rewritten"
        ]


@pytest.mark.parametrize("behind", [0, 1, 2])
def test_a_witness_behind_the_log_is_a_warning(behind: int) -> None:
    records = chain(3)
    vouched = 3 - behind
    head = records[vouched - 1]["hash"] if vouched else GENESIS
    result = check(records, [witness(vouched, head)])
    assert result.ok
    assert result.warnings == (
        [
            f"the witness {LOCAL} trails the log by {behind} record(s) (a writer stopped between "
            "a record and its witness); the next append updates it"
        ]
        if behind
        else []
    )


def test_a_witness_of_the_empty_log_is_a_warning_once_records_follow() -> None:
    records = chain(1)
    result = check(records, [witness(0, GENESIS)])
    assert result.ok and result.problems == []
    assert "trails the log by 1 record(s)" in result.warnings[0]


# --- a head kept elsewhere -------------------------------------------------------------------
def test_an_expected_head_still_in_the_log_is_ok_in_any_case_and_length() -> None:
    records = chain(3)
    for expect in [
        (3, records[2]["hash"]),
        (3, records[2]["hash"][:16].upper()),
        (2, records[1]["hash"][:16]),
    ]:
        assert check(records, expect=expect).ok, expect


def test_an_expected_head_with_another_hash_means_a_rewrite() -> None:
    records = chain(3)
    digest = records[2]["hash"]
    assert check(records, expect=(3, "0123456789abcdef" + "0" * 48)).problems == [
        f"record 3 has hash {digest[:16]}, not the expected 0123456789abcdef: the chain was "
        "rewritten"
    ]
    assert check(records, expect=(2, digest)).problems == [
        f"record 2 has hash {records[1]['hash'][:16]}, not the expected {digest[:16]}: the chain "
        "was rewritten"
    ]


def test_an_expected_head_past_the_log_is_missing() -> None:
    records = chain(3)
    assert check(records, expect=(4, "abc")).problems == [
        "the log has no record 4 (expected head 4:abc)"
    ]
