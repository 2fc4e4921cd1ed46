"""Deciding approvals over HTTP: four eyes, one winner of two, identity from authentication."""

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.service import Served, served


def _pending(s: Served) -> str:
    pending = s.client.get("/api/v1/approvals?status=pending", headers=s.auth("vic")).json()
    assert [p["proposer"] for p in pending] == ["bob"]
    return str(pending[0]["id"])


def test_the_proposer_cannot_decide_their_own_request(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path) as s:
        request_id = _pending(s)
        for verb in ("approve", "reject"):
            response = s.client.post(
                f"/api/v1/approvals/{request_id}/{verb}", json={}, headers=s.auth("bob")
            )
            assert response.status_code == 403
            assert "four-eyes" in response.json()["detail"]
        assert s.world.approvals.get(request_id).status == "pending"
        kinds = {r.kind for r in s.world.audit.records()}
        assert "approved" not in kinds and "rejected" not in kinds


def test_the_queue_refuses_the_proposer_even_without_the_api_check(
    full_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's 403 is a courtesy: the queue's four-eyes rule holds on its own (409)."""
    from lotsen.service.api import approvals as api

    with served(full_world, tmp_path) as s:
        request_id = _pending(s)
        monkeypatch.setattr(api, "same_person", lambda a, b: False)
        response = s.client.post(
            f"/api/v1/approvals/{request_id}/approve", json={}, headers=s.auth("bob")
        )
        assert response.status_code == 409
        assert "four-eyes" in response.json()["detail"]
        assert s.world.approvals.get(request_id).status == "pending"


def test_two_approvers_at_once_exactly_one_wins(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path) as s:
        request_id = _pending(s)
        start = threading.Barrier(2)
        statuses: dict[str, int] = {}

        def approve(name: str) -> None:
            client = TestClient(s.app, raise_server_exceptions=False)
            start.wait()
            response = client.post(
                f"/api/v1/approvals/{request_id}/approve",
                json={"note": f"by {name}"},
                headers=s.auth(name),
            )
            statuses[name] = response.status_code

        threads = [threading.Thread(target=approve, args=(n,)) for n in ("alice", "carol")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses.values()) == [200, 409]
        winner = next(n for n, code in statuses.items() if code == 200)
        decided = s.world.approvals.get(request_id)
        assert decided.status == "approved" and decided.decided_by == winner
        approvals = [r for r in s.world.audit.records() if r.kind == "approved"]
        assert [r.actor for r in approvals] == [winner]


def test_identity_comes_from_authentication_not_the_body(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path) as s:
        request_id = _pending(s)
        response = s.client.post(
            f"/api/v1/approvals/{request_id}/reject",
            json={"note": "not now", "approver": "mallory", "by": "mallory", "user": "mallory"},
            headers=s.auth("carol"),
        )
        assert response.status_code == 200, response.text
        decided = s.world.approvals.get(request_id)
        assert (decided.status, decided.decided_by, decided.note) == (
            "rejected",
            "carol",
            "not now",
        )
        again = s.client.post(
            f"/api/v1/approvals/{request_id}/approve", json={}, headers=s.auth("alice")
        )
        assert again.status_code == 409
        assert "already rejected" in again.json()["detail"]
        assert "mallory" not in str([r.model_dump() for r in s.world.audit.records()])
