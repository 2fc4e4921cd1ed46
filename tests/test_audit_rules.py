"""The audit log's own rules at their edges, and the exact refusal an operator reads.

`test_audit.py` and `test_audit_anchor.py` show each kind of tampering is caught. Here each
rule of `AuditLog` is pinned where a slip would hide: what a record stores and reads back
(every column, the clock, the canonical data), the filters, the idempotent path leaving no
transaction open, each refusal's whole sentence with its fix, a witness at zero records, a
witness naming a record that is gone, re-anchoring a restored log, and which logs from
before signing are adopted (only a readable, gapless, correctly linked chain without
witnesses), including another process adopting it first.
"""

import json
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import memory.audit
from memory import audit_anchor
from memory.audit import _MIGRATIONS, ADOPTED, GENESIS, AuditLog, AuditRecord, record_hash
from memory.audit_anchor import (
    AuditKey,
    Head,
    external_witness,
    local_witness,
    write_witness,
)
from tests.support.audit_files import tamper
from tools.errors import StateError
from tools.state_db import open_state_db

FIX = "run `lotsen audit verify` to see it, and restore state/audit.db from a backup"
T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


class Clock:
    """A clock that moves one minute per reading."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "lotsen" / "audit.key"


@pytest.fixture
def db(data: Path) -> Path:
    path = data / "state" / "audit.db"
    path.parent.mkdir(parents=True)
    return path


def open_log(db: Path, key_file: Path, data: Path, clock: Clock | None = None) -> AuditLog:
    return AuditLog(db, clock or Clock(), key_file=key_file, data_dir=data)


@pytest.fixture
def log(db: Path, key_file: Path, data: Path) -> Iterator[AuditLog]:
    """A log of three records."""
    audit = open_log(db, key_file, data)
    for n in range(1, 4):
        audit.append("decision", actor="retrainer", model="churn", data={"n": n})
    yield audit
    audit.close()


def sign_witnesses(log: AuditLog, key_file: Path, data: Path, records: int, head: str) -> None:
    """Write both witnesses as the key's holder would (they verify)."""
    for path in log.witness_files:
        write_witness(
            path, Head(records=records, head=head, key_id=log.key_id), key(key_file), T0, data
        )


def key(key_file: Path) -> AuditKey:
    return AuditKey.load(key_file)


def refusal(log: AuditLog) -> str:
    with pytest.raises(StateError) as raised:
        log.append("note", actor="bob", data={})
    return str(raised.value)


# --- what a record is ------------------------------------------------------------------------
def test_append_writes_a_chained_record_and_reads_it_back_whole(
    db: Path, key_file: Path, data: Path
) -> None:
    log = open_log(db, key_file, data)
    first = log.append(
        "decision",
        actor="retrainer",
        model="churn",
        incident="inc-1",
        idempotency_key="inc-1:churn",
        data={"tier": "tier0"},
    )
    second = log.append("approved", actor="alice", data={})
    assert first == AuditRecord(
        seq=1,
        at=T0 + timedelta(minutes=1),
        kind="decision",
        actor="retrainer",
        model="churn",
        incident="inc-1",
        idempotency_key="inc-1:churn",
        data={"tier": "tier0"},
        prev_hash=GENESIS,
        hash=first.hash,
    )
    fields = first.model_dump(exclude={"prev_hash", "hash"})
    fields["at"] = first.at.isoformat()
    assert first.hash == record_hash(GENESIS, fields)
    assert (second.seq, second.prev_hash, second.model, second.incident) == (
        2,
        first.hash,
        None,
        None,
    )
    assert log.records() == [first, second]
    assert log.find("inc-1:churn") == first and log.find("nope") is None
    assert log.head() == Head(records=2, head=second.hash, key_id=log.key_id)
    log.close()


def test_an_empty_log_has_the_genesis_head(db: Path, key_file: Path, data: Path) -> None:
    log = open_log(db, key_file, data)
    assert log.head() == Head(records=0, head=GENESIS, key_id=key(key_file).id)
    assert log.records() == [] and log.verify().ok
    log.close()


def test_the_default_clock_is_utc(db: Path, key_file: Path) -> None:
    log = AuditLog(db, key_file=key_file)
    before = datetime.now(UTC)
    at = log.append("note", actor="bob", data={}).at
    assert at.utcoffset() == timedelta(0) and before <= at <= datetime.now(UTC)
    assert log.records()[0].at == at
    log.close()


def test_the_data_dir_defaults_to_the_logs_directory(db: Path, key_file: Path) -> None:
    log = AuditLog(db, key_file=key_file)
    assert log.witness_files == (local_witness(db), external_witness(key_file, db.parent))
    log.append("note", actor="bob", data={})
    witness = json.loads(log.witness_files[1].read_text())
    assert witness["data_dir"] == str(db.parent.resolve())
    log.close()


def test_data_is_stored_as_canonical_json_with_other_values_as_text(
    log: AuditLog, db: Path
) -> None:
    log.append("note", actor="bob", data={"b": 1, "a": T0, "p": Path("/x")})
    conn = sqlite3.connect(db)
    [stored] = conn.execute("SELECT data FROM audit WHERE seq = 4").fetchone()
    conn.close()
    assert stored == '{"a": "2026-03-04 05:06:07+00:00", "b": 1, "p": "/x"}'
    assert log.records()[-1].data == {"a": "2026-03-04 05:06:07+00:00", "b": 1, "p": "/x"}
    assert log.verify().ok


def test_witnesses_record_the_head_and_the_clock(log: AuditLog, key_file: Path) -> None:
    head = log.head()
    for path in log.witness_files:
        witness = json.loads(path.read_text())
        assert (witness["records"], witness["head"], witness["key_id"]) == (
            3,
            head.head,
            log.key_id,
        )
        assert datetime.fromisoformat(witness["at"]) == T0 + timedelta(minutes=6)


def test_each_signature_is_stored_under_its_records_seq(log: AuditLog, db: Path) -> None:
    """A stray signature row (no record of its own) does not shift where the next one goes."""
    tamper(db, "INSERT INTO audit_signature VALUES (9, 'f00d', 'f00d')")
    assert log.append("note", actor="bob", data={}).seq == 4
    assert log.verify().problems == []
    assert log.append("note", actor="bob", data={}).seq == 5


# --- reading ---------------------------------------------------------------------------------
def test_records_filter_by_model_incident_or_both(db: Path, key_file: Path, data: Path) -> None:
    log = open_log(db, key_file, data)
    for model, incident in [("a", "i1"), ("a", "i2"), ("b", "i1"), (None, None)]:
        log.append("note", actor="bob", model=model, incident=incident, data={})

    def seqs(model: str | None = None, incident: str | None = None) -> list[int]:
        return [r.seq for r in log.records(model, incident)]

    assert seqs() == [1, 2, 3, 4]
    assert seqs(model="a") == [1, 2]
    assert seqs(incident="i1") == [1, 3]
    assert seqs(model="a", incident="i1") == [1]
    assert seqs(model="b", incident="i2") == []
    log.close()


def test_reading_a_malformed_record_names_the_file_and_record(log: AuditLog, db: Path) -> None:
    tamper(db, "UPDATE audit SET at = 'soon', idempotency_key = 'k' WHERE seq = 2")
    message = f"{db}: record 2: its timestamp is malformed; run `lotsen audit verify`"
    for read in (log.records, lambda: log.find("k")):
        with pytest.raises(StateError) as raised:
            read()
        assert str(raised.value) == message
    with pytest.raises(StateError) as raised:
        log.append("action", actor="executor", idempotency_key="k", data={})
    assert str(raised.value) == message


# --- idempotency and transactions ------------------------------------------------------------
def test_an_idempotent_append_writes_nothing_and_leaves_no_transaction_open(
    log: AuditLog,
) -> None:
    first = log.append("action", actor="executor", idempotency_key="k", data={"v": 1})
    witnessed = [path.read_text() for path in log.witness_files]
    assert log.append("action", actor="executor", idempotency_key="k", data={"v": 2}) == first
    assert [path.read_text() for path in log.witness_files] == witnessed
    assert log.append("note", actor="bob", data={}).seq == 5
    assert log.verify().ok


def test_a_refused_append_leaves_no_transaction_open(log: AuditLog, db: Path) -> None:
    local = local_witness(db)
    kept = local.read_text()
    local.write_text(kept.replace('"records": 3', '"records": 2'))
    assert refusal(log) == f"{db}: the witness {local} has a wrong signature (forged); {FIX}"
    local.write_text(kept)
    assert log.append("note", actor="bob", data={}).seq == 4


# --- refusing to extend a log that was cut or rewritten --------------------------------------
def test_append_refuses_a_last_record_whose_signature_does_not_hold(
    log: AuditLog, db: Path
) -> None:
    tamper(db, "DELETE FROM audit_signature WHERE seq = 3")
    assert refusal(log) == f"{db}: record 3 is not signed (added without the key); {FIX}"


def test_append_refuses_a_log_shorter_than_its_witness(log: AuditLog, db: Path) -> None:
    tamper(db, "DELETE FROM audit_signature WHERE seq = 3; DELETE FROM audit WHERE seq = 3")
    assert refusal(log) == (
        f"{db} has 2 records but the witness {local_witness(db)} says 3 (records removed, or "
        f"the file deleted or replaced); {FIX}"
    )


def test_append_checks_the_outer_witness_when_the_local_one_is_missing(
    log: AuditLog, db: Path
) -> None:
    local_witness(db).unlink()
    tamper(db, "DELETE FROM audit_signature WHERE seq = 3; DELETE FROM audit WHERE seq = 3")
    assert refusal(log) == (
        f"{db} has 2 records but the witness {log.witness_files[1]} says 3 (records removed, "
        f"or the file deleted or replaced); {FIX}"
    )


def test_append_refuses_an_emptied_log(log: AuditLog, db: Path) -> None:
    tamper(db, "DELETE FROM audit_signature; DELETE FROM audit")
    assert refusal(log).startswith(f"{db} has 0 records but the witness {local_witness(db)} says 3")


def test_append_refuses_a_witness_whose_record_hash_differs(
    log: AuditLog, db: Path, key_file: Path, data: Path
) -> None:
    sign_witnesses(log, key_file, data, 2, "e" * 64)
    assert refusal(log) == (
        f"{db}: record 2 differs from the witness {local_witness(db)} (the chain was "
        f"rewritten); {FIX}"
    )


def test_append_refuses_a_witness_whose_record_is_gone(
    log: AuditLog, db: Path, key_file: Path, data: Path
) -> None:
    second = log.records()[1]
    sign_witnesses(log, key_file, data, 2, second.hash)
    tamper(db, "DELETE FROM audit_signature WHERE seq = 2; DELETE FROM audit WHERE seq = 2")
    assert refusal(log).startswith(f"{db}: record 2 differs from the witness")


def test_append_extends_a_log_past_a_witness_of_the_empty_log(
    log: AuditLog, key_file: Path, data: Path
) -> None:
    sign_witnesses(log, key_file, data, 0, GENESIS)
    assert log.append("note", actor="bob", data={}).seq == 4
    assert log.verify().ok


def test_append_extends_a_log_whose_witnesses_trail_it(
    log: AuditLog, key_file: Path, data: Path
) -> None:
    first = log.records()[0]
    sign_witnesses(log, key_file, data, 1, first.hash)
    assert log.append("note", actor="bob", data={}).seq == 4


# --- re-anchoring a restored log -------------------------------------------------------------
def test_reanchor_accepts_a_restored_backup_and_keeps_what_the_witnesses_said(
    log: AuditLog, db: Path, key_file: Path, data: Path, tmp_path: Path
) -> None:
    log.close()
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    later = open_log(db, key_file, data)
    lost = later.append("note", actor="bob", data={})
    later.close()
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    shutil.copy(backup, db)
    restored = open_log(db, key_file, data)
    assert "has 3 records but the witness" in refusal(restored)
    record = restored.reanchor(actor="alice", reason="restored last night's backup")
    assert (record.seq, record.kind, record.actor) == (4, "audit_reanchored", "alice")
    assert record.data == {
        "reason": "restored last night's backup",
        "witnesses_before": [
            {"witness": str(path), "records": 4, "head": lost.hash}
            for path in restored.witness_files
        ],
    }
    result = restored.verify()
    assert result.ok and [w.records for w in result.witnesses] == [4, 4]
    assert result.witnesses[0].head == record.hash
    restored.close()


def test_reanchor_records_missing_and_unusable_witnesses(log: AuditLog, db: Path) -> None:
    local, outer = log.witness_files
    local.write_text("{}")
    outer.unlink()
    record = log.reanchor(actor="alice", reason="witnesses lost")
    assert record.data["witnesses_before"] == [
        {"witness": str(local), "problem": f"the witness {local} is malformed"},
        {"witness": str(outer), "problem": "missing"},
    ]
    assert log.verify().ok


def test_reanchor_of_an_empty_log(db: Path, key_file: Path, data: Path) -> None:
    log = open_log(db, key_file, data)
    record = log.reanchor(actor="alice", reason="started anew")
    assert (record.seq, record.prev_hash) == (1, GENESIS)
    assert log.verify().ok and log.append("note", actor="bob", data={}).seq == 2
    log.close()


def test_reanchor_refuses_a_log_that_does_not_verify(log: AuditLog, db: Path) -> None:
    tamper(db, "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(StateError) as raised:
        log.reanchor(actor="alice", reason="restored")
    assert str(raised.value) == (
        f"{db} does not verify (record 2 was modified after it was written); {FIX}"
    )
    assert log.head().records == 3


# --- logs from before signing ----------------------------------------------------------------
def unsigned_log(db: Path, records: list[dict[str, Any]]) -> None:
    """A log as written before signing existed: chain only, no signature table, no witness.

    Each record's `prev_hash` is the previous one's hash and its hash covers its fields as
    stored, unless the record says otherwise.
    """
    conn = open_state_db(db, "lotsen.audit", _MIGRATIONS[:1])
    prev = GENESIS
    for record in records:
        fields = {
            "seq": record["seq"],
            "at": record.get("at", f"2025-01-0{record['seq']}T00:00:00+00:00"),
            "kind": "decision",
            "actor": "retrainer",
            "model": None,
            "incident": None,
            "idempotency_key": None,
            "data": {"n": record["seq"]},
        }
        link = record.get("prev_hash", prev)
        digest = record_hash(link, fields)
        conn.execute(
            "INSERT INTO audit VALUES (?, ?, 'decision', 'retrainer', NULL, NULL, NULL, ?, ?, ?)",
            (fields["seq"], fields["at"], json.dumps(fields["data"]), link, digest),
        )
        prev = digest
    conn.close()


def signatures(db: Path) -> int:
    conn = sqlite3.connect(db)
    [count] = conn.execute("SELECT count(*) FROM audit_signature").fetchone()
    conn.close()
    return int(count)


def test_a_log_from_before_signing_is_signed_and_witnessed(
    db: Path, key_file: Path, data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unsigned_log(db, [{"seq": 1}, {"seq": 2}])
    with caplog.at_level(logging.INFO, logger="memory.audit"):
        log = open_log(db, key_file, data)
    adopted = log.records()[-1]
    assert (adopted.seq, adopted.kind, adopted.actor) == (3, ADOPTED, "lotsen")
    assert adopted.data == {"records": 2, "key_id": log.key_id}
    assert (adopted.model, adopted.incident, adopted.idempotency_key) == (None, None, None)
    assert signatures(db) == 3
    result = log.verify()
    assert result.ok and [(w.records, w.head) for w in result.witnesses] == [(3, adopted.hash)] * 2
    assert f"{db}: signed 2 records written before signing" in caplog.messages
    log.close()


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([{"seq": 1}, {"seq": 2, "at": "yesterday"}], id="malformed"),
        pytest.param([{"seq": 1}, {"seq": 3}], id="gap"),
        pytest.param([{"seq": 2}], id="not-from-one"),
        pytest.param([{"seq": 1}, {"seq": 2, "prev_hash": GENESIS}], id="wrong-link"),
    ],
)
def test_a_log_from_before_signing_whose_chain_does_not_hold_is_left_unsigned(
    db: Path,
    key_file: Path,
    data: Path,
    records: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    unsigned_log(db, records)
    with caplog.at_level(logging.WARNING, logger="memory.audit"):
        log = open_log(db, key_file, data)
    assert signatures(db) == 0 and log.head().records == records[-1]["seq"]
    assert f"{db}: unsigned and its chain does not verify: not signed" in caplog.messages
    assert f"none of the {len(records)} records is signed" in log.verify().problems[-3]
    log.close()


def test_a_failure_while_adopting_leaves_the_log_unsigned_and_is_raised_as_it_was(
    db: Path, key_file: Path, data: Path
) -> None:
    unsigned_log(db, [{"seq": 1}, {"seq": 2}])

    def broken() -> datetime:
        raise OSError("clock unavailable")

    with pytest.raises(OSError, match="clock unavailable"):
        AuditLog(db, broken, key_file=key_file, data_dir=data)
    assert signatures(db) == 0
    log = open_log(db, key_file, data)
    assert signatures(db) == 3 and log.verify().ok
    log.close()


def test_a_log_from_before_signing_with_a_witness_is_not_adopted(
    db: Path, key_file: Path, data: Path
) -> None:
    unsigned_log(db, [{"seq": 1}])
    outer = external_witness(key_file, data)
    write_witness(
        outer, Head(records=1, head="e" * 64, key_id=key(key_file).id), key(key_file), T0, data
    )
    log = open_log(db, key_file, data)
    assert signatures(db) == 0 and log.head().records == 1
    log.close()


def test_a_log_from_before_signing_adopted_meanwhile_by_another_process_is_left_alone(
    db: Path, key_file: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process signs the log between this one's look and its write lock."""
    unsigned_log(db, [{"seq": 1}, {"seq": 2}])
    real = audit_anchor.external_witness  # what memory.audit imported

    class Racing(type(Path())):  # type: ignore[misc]
        def exists(self, **kwargs: Any) -> bool:
            monkeypatch.setattr(memory.audit, "external_witness", real)
            open_log(db, key_file, data).close()  # the other process adopts it
            return False

    monkeypatch.setattr(
        memory.audit,
        "external_witness",
        lambda key_path, data_dir: Racing(real(key_path, data_dir)),
    )
    log = open_log(db, key_file, data)
    assert [r.kind for r in log.records()] == ["decision", "decision", ADOPTED]
    assert signatures(db) == 3 and log.verify().ok
    assert log.append("note", actor="bob", data={}).seq == 4
    log.close()
