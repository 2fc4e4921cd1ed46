"""Moving state out of the older data-dir layout, once, when a world is first opened.

Before the one approval queue existed, approval requests lived in the world's
`remediation.db` (schema 1) and were keyed by graph-thread prefix; remediation schema 2
keeps those rows as `legacy_approvals`, and this module hands them to the queue with their
ids unchanged, so a request someone is about to approve survives the upgrade.
"""

import json
import logging
from typing import Any

from agents.capacity.apply import capacity_key
from agents.remediation.plan import THREAD_PREFIX, approval_key
from memory.approvals import ApprovalQueue, ApprovalRequest
from memory.remediation import RemediationStore

logger = logging.getLogger(__name__)


def adopt_legacy_approvals(queue: ApprovalQueue, store: RemediationStore) -> int:
    """Copy schema-1 approval requests into the queue (idempotent); return how many."""
    rows = store.legacy_approvals()
    if rows:
        logger.info("adopting %s approval request(s) from the older layout", len(rows))
    return queue.adopt([_request(r) for r in rows])


def _request(row: dict[str, Any]) -> ApprovalRequest:
    thread = str(row["thread_id"])
    if thread.startswith(THREAD_PREFIX):
        agent, key = "remediation", approval_key(thread)
    else:  # capacity-<plan id>x<nnn>: executed by the next `capacity apply` once approved
        plan, _, n = thread.removeprefix("capacity-").rpartition("x")
        agent, key = "capacity", capacity_key(plan, int(n))
    return ApprovalRequest(
        id=row["id"],
        key=key,
        agent=agent,
        action=row["action"],
        models=json.loads(row["models"]),
        reasons=json.loads(row["reasons"]),
        verdict="needs_approval",
        proposer=row["proposer"],
        incident_id=row["incident_id"],
        handle=thread if agent == "remediation" else "",
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        status=row["status"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        note=row["note"],
    )
