"""Changing an audit log's file behind Lotsen's back, as someone with write access would."""

import sqlite3
from pathlib import Path


def tamper(db: Path, script: str) -> None:
    """Run `script` on the audit file with its append-only triggers dropped first."""
    conn = sqlite3.connect(db)
    conn.executescript(
        "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;"
        "DROP TRIGGER IF EXISTS audit_signature_no_update;"
        "DROP TRIGGER IF EXISTS audit_signature_no_delete;" + script
    )
    conn.close()
