"""The audit log against someone who can write its file but has not got the key.

One test per way of tampering a reviewer showed to pass as "intact" before signatures and
witnesses: truncating, emptying, deleting, zeroing, rewriting the whole chain, appending a
forged record; and records too malformed to read, which `verify` must name, not crash on.
"""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.audit import _MIGRATIONS, GENESIS, AuditLog, record_hash
from memory.audit_anchor import AuditKey, Head, external_witness, local_witness, write_witness
from tests.support.audit_files import tamper
from tests.support.cli import run_lotsen
from tools.errors import ConfigError, StateError
from tools.state_db import open_state_db
from world.settings import Settings
from world.world import World

Run = tuple[int, str, str]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data dir with a (bare) world, enough for `World.audit` and the audit commands."""
    (tmp_path / "data" / "world").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "lotsen" / "audit.key"


@pytest.fixture
def db(data: Path) -> Path:
    return data / "state" / "audit.db"


def open_log(db: Path, key_file: Path, data: Path) -> AuditLog:
    return AuditLog(db, key_file=key_file, data_dir=data)


@pytest.fixture
def log(db: Path, key_file: Path, data: Path) -> Iterator[AuditLog]:
    """A log of three records."""
    audit = open_log(db, key_file, data)
    for n in range(1, 4):
        audit.append("decision", actor="retrainer", model="churn", data={"n": n})
    yield audit
    audit.close()


def problems(log: AuditLog) -> str:
    result = log.verify()
    assert not result.ok and result.problem == result.problems[0]
    return "\n".join(result.problems)


def remove_file(db: Path) -> None:
    """Delete the log as an attacker would, with the store manifest that lists it."""
    for path in db.parent.iterdir():
        if path.name.startswith((db.name, ".lotsen-stores")):
            path.unlink()


# --- what is detected -----------------------------------------------------------------------
def test_an_intact_log_is_signed_witnessed_twice_and_keyed_outside_the_data_dir(
    log: AuditLog, key_file: Path, db: Path, data: Path
) -> None:
    result = log.verify()
    assert result.ok and (result.records, result.problems) == (3, [])
    assert result.key_id == AuditKey.load(key_file).id == log.key_id
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key_file.read_bytes()) == 32
    outside = external_witness(key_file, data)
    assert log.witness_files == (local_witness(db), outside)
    assert not outside.resolve().is_relative_to(data.resolve())
    witness = json.loads(outside.read_text())
    assert (witness["records"], witness["head"]) == (3, result.head)
    assert witness["data_dir"] == str(data.resolve())
    assert [w.records for w in result.witnesses] == [3, 3]


def test_truncating_the_last_records_is_detected(log: AuditLog, db: Path) -> None:
    tamper(db, "DELETE FROM audit WHERE seq > 1; DELETE FROM audit_signature WHERE seq > 1;")
    found = problems(log)
    assert "the log has 1 records but the witness" in found and "says 3" in found
    assert str(local_witness(db)) in found and "witness/" in found  # both witnesses tell


def test_deleting_every_row_is_detected(log: AuditLog, db: Path) -> None:
    tamper(db, "DELETE FROM audit_signature; DELETE FROM audit;")
    assert "the log has 0 records but the witness" in problems(log)


@pytest.mark.parametrize("how", ["delete", "zero"])
def test_deleting_or_zeroing_the_file_is_detected_by_the_witness(
    log: AuditLog, db: Path, key_file: Path, data: Path, how: str
) -> None:
    log.close()
    remove_file(db)
    if how == "zero":
        db.write_bytes(b"")
    fresh = open_log(db, key_file, data)
    assert "the log has 0 records but the witness" in problems(fresh)
    with pytest.raises(StateError, match="has 0 records but the witness"):
        fresh.append("note", actor="mallory", data={})
    fresh.close()


def test_the_outer_witness_alone_catches_a_deleted_log_and_local_witness(
    log: AuditLog, db: Path, key_file: Path, data: Path
) -> None:
    log.close()
    remove_file(db)
    local_witness(db).unlink()
    fresh = open_log(db, key_file, data)
    found = problems(fresh)
    assert "has 0 records but the witness" in found and "witness/" in found
    fresh.close()


def test_a_consistent_rewrite_of_the_whole_chain_without_the_key_is_detected(
    log: AuditLog, db: Path
) -> None:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    conn.close()
    prev, script = GENESIS, "DELETE FROM audit_signature; DELETE FROM audit;"
    for row in rows:
        fields = {k: row[k] for k in row.keys() if k not in ("prev_hash", "hash")}
        fields["actor"] = "mallory"
        fields["data"] = json.loads(row["data"])
        digest = record_hash(prev, fields)
        script += (
            f"INSERT INTO audit VALUES ({row['seq']}, '{row['at']}', 'decision', 'mallory', "
            f"'churn', NULL, NULL, '{row['data']}', '{prev}', '{digest}');"
            f"INSERT INTO audit_signature VALUES ({row['seq']}, 'f00d', 'f00d');"
        )
        prev = digest
    tamper(db, script)
    found = problems(log)
    assert "record 1 is signed with key f00d, this key is" in found
    assert "record 3 differs from the witness" in found and "rewritten" in found


def test_a_rewrite_signed_with_another_key_names_both_keys(
    log: AuditLog, db: Path, tmp_path: Path, data: Path
) -> None:
    log.close()
    other = open_log(db, tmp_path / "other.key", data)
    found = problems(other)
    assert f"record 1 is signed with key {log.key_id}, this key is {other.key_id}" in found
    with pytest.raises(StateError, match=f"signed with key {log.key_id}"):
        other.append("note", actor="mallory", data={})
    other.close()


@pytest.mark.parametrize("signature", ["NULL", "'deadbeef'"])
def test_a_forged_appended_record_is_detected_and_not_extended(
    log: AuditLog, db: Path, signature: str
) -> None:
    head = log.head()
    fields = {
        "seq": 4,
        "at": "2026-01-01T00:00:00+00:00",
        "kind": "approved",
        "actor": "mallory",
        "model": "churn",
        "incident": None,
        "idempotency_key": None,
        "data": {},
    }
    digest = record_hash(head.head, fields)
    sig = "INSERT INTO audit_signature SELECT 4, key_id, ? FROM audit_signature WHERE seq = 1;"
    sig = "" if signature == "NULL" else sig.replace("?", signature)
    tamper(
        db,
        "INSERT INTO audit VALUES (4, '2026-01-01T00:00:00+00:00', 'approved', 'mallory', "
        f"'churn', NULL, NULL, '{{}}', '{head.head}', '{digest}');" + sig,
    )
    found = problems(log)
    assert "record 4 is not signed" in found or "record 4 has a wrong signature" in found
    with pytest.raises(StateError, match=r"record 4 .*lotsen audit verify"):
        log.append("note", actor="bob", data={})


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ("data = '{not json'", "its data (JSON object)"),
        ("data = '[1, 2]'", "its data (JSON object)"),
        ("at = 'yesterday'", "its timestamp"),
        ("at = 12", "its timestamp"),
        ("actor = x'07'", "its actor"),
        ("model = x'00'", "its model"),
        ("hash = 'short'", "its hash"),
    ],
)
def test_a_malformed_record_is_named_not_crashed_on(
    log: AuditLog, db: Path, change: str, what: str
) -> None:
    tamper(db, f"UPDATE audit SET {change} WHERE seq = 2")
    assert f"record 2: {what} is malformed" in problems(log)
    with pytest.raises(StateError, match=r"record 2: .* is malformed"):
        log.records()


def test_append_refuses_to_extend_a_truncated_log(log: AuditLog, db: Path) -> None:
    tamper(db, "DELETE FROM audit WHERE seq = 3; DELETE FROM audit_signature WHERE seq = 3;")
    with pytest.raises(StateError) as raised:
        log.append("note", actor="bob", data={})
    message = str(raised.value)
    assert "has 2 records but the witness" in message and "\n" not in message
    assert "lotsen audit verify" in message and "backup" in message
    assert log.head().records == 2


def test_append_refuses_a_witness_forged_without_the_key(log: AuditLog, db: Path) -> None:
    witness = json.loads(local_witness(db).read_text())
    local_witness(db).write_text(json.dumps({**witness, "records": 1}))
    assert "has a wrong signature" in problems(log)
    with pytest.raises(StateError, match="wrong signature"):
        log.append("note", actor="bob", data={})


# --- what is not tampering ------------------------------------------------------------------
def test_a_witness_trailing_the_log_after_a_crash_is_a_warning(
    log: AuditLog, db: Path, key_file: Path, data: Path
) -> None:
    """A writer killed between committing a record and writing its witness."""
    [first] = [r for r in log.records() if r.seq == 2]
    head = Head(records=2, head=first.hash, key_id=log.key_id)
    for path in log.witness_files:
        write_witness(path, head, AuditKey.load(key_file), first.at, data)
    result = log.verify()
    assert result.ok and "trails the log by 1 record" in result.warnings[0]
    assert log.append("note", actor="bob", data={}).seq == 4 and log.verify().warnings == []


def test_a_missing_witness_is_a_problem_but_not_called_tampering(log: AuditLog, db: Path) -> None:
    local_witness(db).unlink()
    found = problems(log)
    assert "is missing" in found and "not tampering by itself" in found
    log.append("note", actor="bob", data={})
    assert log.verify().ok


def test_a_copied_data_dir_verifies_with_a_warning_until_its_next_append(
    log: AuditLog, data: Path, key_file: Path, tmp_path: Path
) -> None:
    log.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "state").mkdir()
    for path in (data / "state").iterdir():
        (copy / "state" / path.name).write_bytes(path.read_bytes())
    moved = open_log(copy / "state" / "audit.db", key_file, copy)
    result = moved.verify()
    assert result.ok and "is missing" in result.warnings[0]
    moved.append("note", actor="bob", data={})
    assert moved.verify().warnings == []
    moved.close()


def test_a_log_from_before_signing_is_adopted_once(db: Path, key_file: Path, data: Path) -> None:
    conn = open_state_db(db, "lotsen.audit", _MIGRATIONS[:1])
    prev = GENESIS
    for seq in (1, 2):
        fields = {
            "seq": seq,
            "at": f"2025-01-0{seq}T00:00:00+00:00",
            "kind": "decision",
            "actor": "retrainer",
            "model": None,
            "incident": None,
            "idempotency_key": None,
            "data": {"n": seq},
        }
        digest = record_hash(prev, fields)
        conn.execute(
            "INSERT INTO audit VALUES (?, ?, 'decision', 'retrainer', NULL, NULL, NULL, ?, ?, ?)",
            (seq, fields["at"], json.dumps({"n": seq}), prev, digest),
        )
        prev = digest
    conn.close()
    log = open_log(db, key_file, data)
    adopted = log.records()[-1]
    assert (adopted.seq, adopted.kind, adopted.data["records"]) == (3, "audit_signing_adopted", 2)
    assert log.verify().ok
    log.close()
    again = open_log(db, key_file, data)
    assert len(again.records()) == 3 and again.verify().ok
    again.close()


def test_a_broken_log_from_before_signing_is_not_adopted(
    db: Path, key_file: Path, data: Path
) -> None:
    conn = open_state_db(db, "lotsen.audit", _MIGRATIONS[:1])
    conn.execute(
        "INSERT INTO audit VALUES (1, '2025-01-01T00:00:00+00:00', 'decision', 'x', NULL, NULL, "
        "NULL, '{}', ?, ?)",
        (GENESIS, "0" * 63 + "1"),
    )
    conn.close()
    log = open_log(db, key_file, data)
    found = problems(log)
    assert "record 1 was modified" in found and "none of the 1 records is signed" in found
    with pytest.raises(StateError, match="record 1 is not signed"):
        log.append("note", actor="bob", data={})
    log.close()


def test_a_key_inside_the_data_dir_is_refused(data: Path) -> None:
    with World(Settings(data_dir=data, audit_key_file=data / "audit.key")) as world:
        with pytest.raises(ConfigError, match="inside the data dir"):
            _ = world.audit


# --- the commands ---------------------------------------------------------------------------
def lotsen(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: Path, *args: str
) -> Run:
    return run_lotsen(capsys, monkeypatch, "--data-dir", str(data), *args)


@pytest.fixture
def world_log(data: Path) -> Iterator[AuditLog]:
    """The log of `data` as the CLI opens it (the session's audit key), three records."""
    with World(Settings(data_dir=data)) as world:
        for n in range(1, 4):
            world.audit.append("decision", actor="retrainer", data={"n": n})
        yield world.audit


def test_cli_head_and_expect_head(
    world_log: AuditLog,
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, _ = lotsen(capsys, monkeypatch, data, "audit", "head", "--json")
    head = Head.model_validate_json(out)
    assert code == 0 and head == world_log.head() and head.records == 3
    code, out, _ = lotsen(capsys, monkeypatch, data, "audit", "head")
    assert code == 0 and out.startswith(f"3:{head.head}")
    world_log.append("note", actor="bob", data={})
    kept = f"3:{head.head[:16]}"
    code, out, _ = lotsen(capsys, monkeypatch, data, "audit", "verify", "--expect-head", kept)
    assert code == 0 and "intact: 4 records" in out
    wrong = f"3:{'0' * 64}"
    code, out, _ = lotsen(capsys, monkeypatch, data, "audit", "verify", "--expect-head", wrong)
    assert code == 1 and "record 3 has hash" in out and "not the expected" in out
    code, out, _ = lotsen(
        capsys, monkeypatch, data, "audit", "verify", "--expect-head", "9:" + head.head
    )
    assert code == 1 and "no record 9" in out
    code, _, err = lotsen(capsys, monkeypatch, data, "audit", "verify", "--expect-head", "x")
    assert code == 2 and "COUNT:HASH" in err


def test_cli_verify_names_each_problem_and_show_refuses_a_malformed_log(
    world_log: AuditLog,
    data: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = data / "state" / "audit.db"
    tamper(db, "UPDATE audit SET at = 'soon' WHERE seq = 1; DELETE FROM audit WHERE seq = 3;")
    code, out, _ = lotsen(capsys, monkeypatch, data, "audit", "verify")
    lines = [line for line in out.splitlines() if "TAMPERED" in line]
    assert code == 1 and "record 1: its timestamp is malformed" in lines[0]
    assert sum("says 3" in line for line in lines) == 2  # each witness, one line each
    code, _, err = lotsen(capsys, monkeypatch, data, "audit", "show")
    assert code == 2 and "record 1: its timestamp is malformed" in err
    assert len(err.strip().splitlines()) == 1
