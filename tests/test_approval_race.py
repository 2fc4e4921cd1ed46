"""Two processes approve and reject the same request at the same moment: exactly one wins.

Each round, both workers wait at a barrier, then decide the round's request at once (one
approves, one rejects). A decision is a compare-and-set inside one write transaction, so
the loser must get a ConflictError and the stored outcome must be the winner's.
"""

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory.approvals import ApprovalQueue, NewRequest
from tools.errors import ConflictError
from tools.policy.action import ActionKind, ProposedAction

ROUNDS = 200
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _worker(path: str, ids: list[str], approve: bool, barrier: Any, results: Any) -> None:
    queue = ApprovalQueue(Path(path))
    wins = []
    for request_id in ids:
        barrier.wait()
        try:
            queue.decide(request_id, "approver-a" if approve else "approver-b", approve, NOW, None)
        except ConflictError:
            continue
        wins.append(request_id)
    queue.close()
    results.put((approve, wins))


def _request(n: int) -> NewRequest:
    action = ProposedAction(kind=ActionKind.ROLLBACK, model=f"model-{n}", proposer="operator")
    return NewRequest(
        key=f"race-{n}",
        agent="assistant",
        action="chat rollback",
        actions=[action],
        models=[f"model-{n}"],
        reasons=["prod"],
        verdict="needs_approval",
        proposer="operator",
    )


def test_exactly_one_of_two_racing_decisions_wins(tmp_path: Path) -> None:
    path = tmp_path / "approvals.db"
    queue = ApprovalQueue(path)
    ids = [queue.submit(_request(n), NOW, timedelta(hours=1)).id for n in range(ROUNDS)]
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(str(path), ids, approve, barrier, results))
        for approve in (True, False)
    ]
    for worker in workers:
        worker.start()
    won = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    approved, rejected = set(won[True]), set(won[False])
    assert not approved & rejected, "both decisions of one request succeeded"
    assert approved | rejected == set(ids), "a request was decided by nobody"
    for request_id in ids:
        stored = queue.get(request_id).status
        assert stored == ("approved" if request_id in approved else "rejected")
    assert approved and rejected, "the race never went both ways: the test proves nothing"
