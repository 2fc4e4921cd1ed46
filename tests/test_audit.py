import sqlite3
from pathlib import Path

import pytest

from memory.audit import AuditLog


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.db")
    audit.append(
        "decision",
        actor="retrainer",
        model="churn",
        incident="inc-1",
        data={"action": "retrain", "tier": "tier0", "prompt_sha256": "ab"},
    )
    audit.append(
        "approved", actor="alice", model="churn", incident="inc-1", data={"proposer": "retrainer"}
    )
    audit.append(
        "action",
        actor="executor",
        model="churn",
        incident="inc-1",
        idempotency_key="inc-1:churn:retrain",
        data={"result": "version 3"},
    )
    return audit


def tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" + sql)
    conn.close()


def test_intact_chain_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok and result.records == 3 and len(result.head) == 64
    assert [r.kind for r in log.records(model="churn")] == ["decision", "approved", "action"]


def test_idempotency_key_never_duplicates(log: AuditLog) -> None:
    again = log.append(
        "action", actor="executor", idempotency_key="inc-1:churn:retrain", data={"result": "other"}
    )
    assert again.seq == 3 and again.data == {"result": "version 3"}
    assert len(log.records()) == 3


def test_the_log_refuses_update_and_delete(tmp_path: Path, log: AuditLog) -> None:
    conn = sqlite3.connect(tmp_path / "audit.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE audit SET actor = 'mallory' WHERE seq = 2", "record 2 was modified"),
        (
            'UPDATE audit SET data = \'{"proposer": "alice"}\' WHERE seq = 2',
            "record 2 was modified",
        ),
        ("DELETE FROM audit WHERE seq = 2", "record 2 is missing"),
        (
            "UPDATE audit SET seq = 9 WHERE seq = 1; UPDATE audit SET seq = 1 WHERE seq = 2;"
            "UPDATE audit SET seq = 2 WHERE seq = 9",
            "record 1 does not follow",
        ),
    ],
)
def test_any_edit_delete_or_reorder_is_detected(
    tmp_path: Path, log: AuditLog, sql: str, problem: str
) -> None:
    tamper(tmp_path / "audit.db", sql)
    result = log.verify()
    assert not result.ok and problem in result.problem
