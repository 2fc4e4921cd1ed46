"""The approval queue's rules one at a time: what a request stores, four eyes, expiry to the
second, the compare-and-set of a decision, the binding hash and taking over old requests."""

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.approvals import (
    ApprovalQueue,
    ApprovalRequest,
    Decision,
    NewRequest,
    action_digest,
    same_person,
)
from tools.errors import ConflictError, NotFoundError
from tools.policy.action import ActionKind, ProposedAction

NOW = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
TTL = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def _rollback(model: str = "churn", proposer: str = "bob") -> ProposedAction:
    return ProposedAction(kind=ActionKind.ROLLBACK, model=model, proposer=proposer)


def _new(key: str = "k", proposer: str = "bob", **fields: object) -> NewRequest:
    values: dict[str, object] = {
        "key": key,
        "agent": "assistant",
        "action": "chat rollback",
        "actions": [_rollback(proposer=proposer)],
        "models": ["churn"],
        "reasons": ["[SEG-05] rollback touches prod: a human decides"],
        "verdict": "needs_approval",
        "proposer": proposer,
    }
    return NewRequest.model_validate(values | fields)


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[ApprovalQueue]:
    opened = ApprovalQueue(tmp_path / "approvals.db")
    yield opened
    opened.close()


# --- what a request stores ----------------------------------------------------------------


def test_the_file_is_marked_as_the_approval_queue_at_its_schema_version(tmp_path: Path) -> None:
    """Later releases migrate, and other stores refuse, a file by this mark."""
    ApprovalQueue(tmp_path / "approvals.db").close()
    with closing(sqlite3.connect(tmp_path / "approvals.db")) as conn:
        meta = dict(conn.execute("SELECT key, value FROM lotsen_meta").fetchall())
    assert meta == {"schema": "lotsen.approvals", "version": "2"}


def test_a_submitted_request_stores_the_proposal_exactly(queue: ApprovalQueue) -> None:
    new = _new(
        agent="remediation",
        action="retrain",
        actions=[_rollback("churn"), _rollback("fraud")],
        models=["churn", "fraud"],
        reasons=["a", "b"],
        verdict="deny",
        incident_id="inc-7",
        handle="thread-3",
    )
    request = queue.submit(new, NOW, TTL)
    assert re.fullmatch(r"apr-[0-9a-f]{10}", request.id)
    assert request == ApprovalRequest(
        id=request.id,
        key="k",
        agent="remediation",
        action="retrain",
        actions=[_rollback("churn"), _rollback("fraud")],
        models=["churn", "fraud"],
        reasons=["a", "b"],
        verdict="deny",
        proposer="bob",
        incident_id="inc-7",
        handle="thread-3",
        created_at=NOW,
        expires_at=NOW + TTL,
        status="pending",
        action_sha256=action_digest(new.actions, "thread-3"),
    )
    assert queue.get(request.id) == request


def test_an_unknown_request_says_where_to_look(queue: ApprovalQueue) -> None:
    with pytest.raises(NotFoundError) as raised:
        queue.get("apr-0")
    assert (
        str(raised.value) == "unknown approval request 'apr-0'; `lotsen approvals list` shows them"
    )


def test_a_live_proposal_is_queued_once_and_anew_once_expired(queue: ApprovalQueue) -> None:
    first = queue.submit(_new("same"), NOW, TTL)
    again = queue.submit(_new("same", reasons=["other"]), NOW + TTL, TTL)
    assert again == first, "the live request is returned unchanged"
    other = queue.submit(_new("other"), NOW, TTL)
    assert other.id != first.id
    later = queue.submit(_new("same"), NOW + TTL + SECOND, TTL)
    assert later.id != first.id and later.created_at == NOW + TTL + SECOND
    assert queue.get(first.id).status == "expired"
    assert queue.by_key("same") == later
    assert queue.by_key("nothing") is None


def test_a_decided_proposal_is_not_queued_again(queue: ApprovalQueue) -> None:
    first = queue.submit(_new("same"), NOW, TTL)
    queue.decide(first.id, "carol", False, NOW, None)
    assert queue.submit(_new("same"), NOW + 2 * TTL, TTL).id == first.id


def test_a_failed_submit_leaves_nothing_and_the_queue_usable(tmp_path: Path) -> None:
    class Broken(ApprovalQueue):
        def _live(self, key: str) -> str | None:
            raise RuntimeError("disk gone")

    broken = Broken(tmp_path / "approvals.db")
    with pytest.raises(RuntimeError, match="disk gone"):
        broken.submit(_new(), NOW, TTL)
    broken.close()
    queue = ApprovalQueue(tmp_path / "approvals.db")
    assert queue.requests(NOW) == []
    assert queue.submit(_new(), NOW, TTL).status == "pending"
    queue.close()


# --- listing and expiry ---------------------------------------------------------------------


def test_requests_are_listed_oldest_first_and_filtered(queue: ApprovalQueue) -> None:
    a = queue.submit(_new("a", agent="capacity"), NOW + 2 * SECOND, TTL)
    b = queue.submit(_new("b"), NOW, TTL)
    c = queue.submit(_new("c", agent="capacity"), NOW + SECOND, TTL)
    queue.decide(c.id, "carol", True, NOW + SECOND, None)
    ids = [r.id for r in queue.requests(NOW + SECOND)]
    assert ids == [b.id, c.id, a.id]
    assert [r.id for r in queue.requests(NOW, status="pending")] == [b.id, a.id]
    assert [r.id for r in queue.requests(NOW, agent="capacity")] == [c.id, a.id]
    assert [r.id for r in queue.requests(NOW, "pending", "capacity")] == [a.id]


def test_a_request_expires_only_after_its_expiry(queue: ApprovalQueue) -> None:
    request = queue.submit(_new(), NOW, TTL)
    assert [r.status for r in queue.requests(NOW + TTL)] == ["pending"]
    assert [r.status for r in queue.requests(NOW + TTL + SECOND)] == ["expired"]
    assert queue.requests(NOW + TTL + SECOND, status="pending") == []
    assert queue.get(request.id).status == "expired"


def test_a_request_can_be_decided_at_its_expiry_not_after(queue: ApprovalQueue) -> None:
    on_time = queue.submit(_new("a"), NOW, TTL)
    assert queue.decide(on_time.id, "carol", True, NOW + TTL, None).status == "approved"
    late = queue.submit(_new("b"), NOW, TTL)
    with pytest.raises(ConflictError) as raised:
        queue.decide(late.id, "carol", True, NOW + TTL + timedelta(microseconds=1), None)
    assert str(raised.value) == (
        f"approval {late.id} expired at 2026-01-01 10:30; "
        "the proposing agent proposes it anew on its next run"
    )
    assert queue.get(late.id).status == "expired", "the expiry found by the check is kept"


def test_expire_ends_only_pending_requests_and_says_which(queue: ApprovalQueue) -> None:
    pending = queue.submit(_new("a"), NOW, TTL)
    decided = queue.submit(_new("b"), NOW, TTL)
    queue.decide(decided.id, "carol", True, NOW, None)
    expired = queue.expire([pending.id, decided.id, "apr-0"], NOW + SECOND)
    assert expired == [pending.id]
    assert queue.get(pending.id).status == "expired"
    assert queue.get(pending.id).expires_at == NOW + SECOND
    assert queue.get(decided.id).status == "approved"
    assert queue.expire([pending.id], NOW + 2 * SECOND) == []


# --- deciding -------------------------------------------------------------------------------


def test_a_decision_records_who_when_and_why(queue: ApprovalQueue) -> None:
    request = queue.submit(_new(), NOW, TTL)
    approved = queue.decide(request.id, "carol", True, NOW + SECOND, "looks right")
    assert (approved.status, approved.decided_by, approved.decided_at, approved.note) == (
        "approved",
        "carol",
        NOW + SECOND,
        "looks right",
    )
    assert approved.decision() == Decision(
        request_id=request.id,
        approved=True,
        by="carol",
        at=NOW + SECOND,
        note="looks right",
        action_sha256=request.action_sha256,
    )
    other = queue.submit(_new("other"), NOW, TTL)
    rejected = queue.decide(other.id, "carol", False, NOW, None)
    assert rejected.status == "rejected"
    decision = rejected.decision()
    assert decision is not None and not decision.approved and decision.note is None


def test_a_request_is_decided_once(queue: ApprovalQueue) -> None:
    request = queue.submit(_new(), NOW, TTL)
    queue.decide(request.id, "carol", False, NOW, None)
    with pytest.raises(ConflictError) as raised:
        queue.decide(request.id, "dave", True, NOW, None)
    assert str(raised.value) == f"approval {request.id} is already rejected"
    assert queue.get(request.id).decided_by == "carol"


def test_four_eyes_the_proposer_cannot_approve_or_reject(queue: ApprovalQueue) -> None:
    request = queue.submit(_new(proposer="Bob Smith"), NOW, TTL)
    for approved in (True, False):
        with pytest.raises(ConflictError) as raised:
            queue.decide(request.id, "bob  smith", approved, NOW, None)
        assert str(raised.value) == (
            "four-eyes rule: bob  smith proposed this change and cannot approve it; "
            "ask someone else"
        )
    assert queue.get(request.id).status == "pending"


def test_same_person_ignores_case_and_spacing_only() -> None:
    assert same_person("Bob  Smith", " bob smith")
    assert same_person("STRASSE", "straße")
    assert not same_person("bob smith", "bobsmith")
    assert not same_person("bob", "rob")


def test_the_write_only_applies_to_a_pending_request(tmp_path: Path) -> None:
    """The compare-and-set itself: even with the checks passed by, a decided request stays
    as it was decided and the late decider is told."""

    class Unchecked(ApprovalQueue):
        def _check_decidable(self, *args: object) -> None:
            return None

    queue = Unchecked(tmp_path / "approvals.db")
    request = queue.submit(_new(), NOW, TTL)
    queue.decide(request.id, "carol", False, NOW, None)
    with pytest.raises(ConflictError) as raised:
        queue.decide(request.id, "dave", True, NOW, None)
    assert str(raised.value) == f"approval {request.id} was decided by someone else just now"
    assert (queue.get(request.id).status, queue.get(request.id).decided_by) == (
        "rejected",
        "carol",
    )
    queue.close()


def test_a_failed_decision_leaves_the_request_and_the_queue_usable(tmp_path: Path) -> None:
    class Broken(ApprovalQueue):
        def _record(self, *args: object) -> None:
            super()._record(*args)  # type: ignore[arg-type]
            raise RuntimeError("crash after the write")

    path = tmp_path / "approvals.db"
    broken = Broken(path)
    request = broken.submit(_new(), NOW, TTL)
    with pytest.raises(RuntimeError, match="crash after the write"):
        broken.decide(request.id, "carol", True, NOW, None)
    broken.close()
    queue = ApprovalQueue(path)
    assert queue.get(request.id).status == "pending", "the write was rolled back"
    assert queue.decide(request.id, "carol", True, NOW, None).status == "approved"
    queue.close()


# --- the binding hash -----------------------------------------------------------------------


def test_the_digest_is_the_sha256_of_the_canonical_actions_and_handle() -> None:
    """Requests store this hash; a change of the canonical form (key order, separators,
    fields) would void every stored approval, so the form is pinned here."""
    action = ProposedAction(
        kind=ActionKind.SET_ALIAS, model="churn", version=3, alias="champion", proposer="x"
    )
    canonical = (
        '{"actions":[{"alias":"champion","change_kind":null,"deployment":null,"detail":"",'
        '"kind":"set_alias","model":"churn","namespace":null,"replicas":null,"version":3}],'
        '"handle":"thread-1"}'
    )
    assert action_digest([action], "thread-1") == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_digest_binds_actions_and_handle_but_not_the_proposer() -> None:
    one = action_digest([_rollback("churn", "bob")], "h")
    assert action_digest([_rollback("churn", "carol")], "h") == one
    assert action_digest([_rollback("fraud", "bob")], "h") != one
    assert action_digest([_rollback("churn", "bob")], "h2") != one
    assert action_digest([_rollback("churn"), _rollback("churn")], "h") != one


def test_a_request_is_intact_while_its_actions_hash_to_the_stored_digest(
    queue: ApprovalQueue,
) -> None:
    request = queue.submit(_new(handle="h"), NOW, TTL)
    assert request.intact()
    assert not request.model_copy(update={"handle": "other"}).intact()
    assert not request.model_copy(update={"actions": [_rollback("fraud")]}).intact()
    older = request.model_copy(update={"actions": [_rollback("fraud")], "action_sha256": None})
    assert older.intact(), "a request of a release before the digest cannot be checked"


def test_a_changed_request_can_be_rejected_but_not_approved(tmp_path: Path) -> None:
    class Changed(ApprovalQueue):
        def get(self, request_id: str) -> ApprovalRequest:
            stored = super().get(request_id)
            return stored.model_copy(update={"handle": "elsewhere"})

    queue = Changed(tmp_path / "approvals.db")
    request = queue.submit(_new(), NOW, TTL)
    with pytest.raises(ConflictError) as raised:
        queue.decide(request.id, "carol", True, NOW, None)
    assert str(raised.value) == (
        f"approval {request.id} is void: its stored actions changed after they were proposed "
        "and reviewed; reject it and let the agent propose anew"
    )
    assert queue.decide(request.id, "carol", False, NOW, None).status == "rejected"
    queue.close()


# --- decisions and execution ------------------------------------------------------------------


def test_there_is_a_decision_only_once_someone_decided(queue: ApprovalQueue) -> None:
    request = queue.submit(_new(), NOW, TTL)
    assert request.decision() is None
    undecided = request.model_copy(update={"status": "approved"})
    assert undecided.decision() is None, "approved without a recorded approver is no decision"
    expired = request.model_copy(
        update={"status": "expired", "decided_by": "carol", "decided_at": NOW}
    )
    assert expired.decision() is None


def test_a_decision_tag_names_request_and_approver() -> None:
    decision = Decision(request_id="apr-1", approved=True, by="carol", at=NOW)
    assert decision.tag() == "apr-1 by carol"


def test_an_approved_request_is_marked_executed_once(queue: ApprovalQueue) -> None:
    pending = queue.submit(_new("a"), NOW, TTL)
    assert queue.mark_executed(pending.id, NOW, "ran").executed_at is None
    request = queue.submit(_new("b"), NOW, TTL)
    queue.decide(request.id, "carol", True, NOW, None)
    done = queue.mark_executed(request.id, NOW + SECOND, "rolled back churn")
    assert (done.executed_at, done.result) == (NOW + SECOND, "rolled back churn")
    again = queue.mark_executed(request.id, NOW + 2 * SECOND, "second run")
    assert (again.executed_at, again.result) == (NOW + SECOND, "rolled back churn")


# --- adopting an older release's requests ------------------------------------------------------


def _old(request_id: str, sha: str | None) -> ApprovalRequest:
    return ApprovalRequest(
        id=request_id,
        key=f"old:{request_id}",
        agent="remediation",
        action="rollback",
        actions=[_rollback()],
        models=["churn"],
        reasons=["prod"],
        verdict="needs_approval",
        proposer="bob",
        handle="rem-abc",
        created_at=NOW,
        expires_at=NOW + TTL,
        status="approved",
        decided_by="carol",
        decided_at=NOW,
        note="ok",
        action_sha256=sha,
    )


def test_adopted_requests_keep_their_ids_and_gain_a_digest(queue: ApprovalQueue) -> None:
    unhashed, hashed = _old("apr-old1", None), _old("apr-old2", "f" * 64)
    assert queue.adopt([unhashed, hashed]) == 2
    assert queue.get("apr-old1") == unhashed.model_copy(
        update={"action_sha256": action_digest(unhashed.actions, "rem-abc")}
    )
    assert queue.get("apr-old2") == hashed
    assert not queue.get("apr-old2").intact()


def test_adopting_again_changes_nothing(queue: ApprovalQueue) -> None:
    queue.adopt([_old("apr-old1", None)])
    queue.adopt([_old("apr-old1", None).model_copy(update={"note": "changed"})])
    assert [r.note for r in queue.requests(NOW)] == ["ok"]


def test_a_failed_adoption_adopts_nothing(queue: ApprovalQueue) -> None:
    bad = _old("apr-old2", None).model_copy(update={"models": [object()]})
    with pytest.raises(ValueError, match="Unable to serialize"):
        queue.adopt([_old("apr-old1", None), bad])
    assert queue.requests(NOW) == []
    assert queue.adopt([_old("apr-old1", None)]) == 1
