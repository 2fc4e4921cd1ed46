"""The HTTP API: every endpoint x every role, what the reads return, and bad input."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memory.users import ROLES, grants
from tests.support.service import BY_ROLE, Served, served

Call = tuple[str, str, dict[str, Any] | None, str, int]
"""method, path, JSON body, the role it needs, the status an allowed caller gets."""

MATRIX: list[Call] = [
    ("GET", "/api/v1/fleet", None, "viewer", 200),
    ("GET", "/api/v1/models", None, "viewer", 200),
    ("GET", "/api/v1/models/no-such-model", None, "viewer", 404),
    ("GET", "/api/v1/incidents", None, "viewer", 200),
    ("GET", "/api/v1/incidents/inc-nope", None, "viewer", 404),
    ("POST", "/api/v1/incidents/inc-nope/acknowledge", {}, "operator", 404),
    ("POST", "/api/v1/incidents/inc-nope/close", {"note": "n"}, "operator", 404),
    ("POST", "/api/v1/scans", None, "operator", 200),
    ("GET", "/api/v1/approvals", None, "viewer", 200),
    ("GET", "/api/v1/approvals/apr-nope", None, "viewer", 404),
    ("POST", "/api/v1/approvals/apr-nope/approve", {}, "approver", 404),
    ("POST", "/api/v1/approvals/apr-nope/reject", {"note": "no"}, "approver", 404),
    ("GET", "/api/v1/audit?limit=5", None, "viewer", 200),
    ("GET", "/api/v1/audit/verify", None, "viewer", 200),
    ("GET", "/api/v1/compliance", None, "viewer", 200),
    ("GET", "/api/v1/compliance/findings?status=fail", None, "viewer", 200),
    ("GET", "/api/v1/capacity/report", None, "viewer", 200),
    ("GET", "/api/v1/capacity/plans", None, "viewer", 200),
    ("POST", "/api/v1/capacity/plans", None, "operator", 201),
    ("GET", "/api/v1/evals/runs", None, "viewer", 200),
    ("GET", "/api/v1/evals/runs/nope", None, "viewer", 404),
    ("GET", "/api/v1/evals/runs/nope/report", None, "viewer", 404),
    ("GET", "/api/v1/chat/threads", None, "viewer", 200),
    ("POST", "/api/v1/chat/threads", {"title": "matrix"}, "operator", 201),
    ("GET", "/api/v1/chat/threads/thr-nope", None, "viewer", 404),
    ("POST", "/api/v1/chat/threads/thr-nope/messages", {"text": "hi"}, "operator", 404),
    ("GET", "/api/v1/users", None, "admin", 200),
    ("PUT", "/api/v1/users/zed", {"roles": ["viewer"]}, "admin", 200),
    ("DELETE", "/api/v1/users/nobody", None, "admin", 404),
    ("POST", "/api/v1/users/nobody/tokens", None, "admin", 404),
]


@pytest.fixture(scope="module")
def api(full_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(full_world, tmp_path_factory.mktemp("api")) as s:
        built = s.client.post("/api/v1/capacity/plans", headers=s.auth("olga"))
        assert built.status_code == 201  # so that reading the plan does not depend on order
        assert built.json()["proposer"] == "olga"
        yield s


def _call(api: Served, call: Call, headers: dict[str, str]) -> Any:
    method, path, body, _, _ = call
    return api.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("call", MATRIX, ids=lambda c: f"{c[0]} {c[1]}")
def test_authorisation_matrix(api: Served, call: Call) -> None:
    _, _, _, needed, allowed_status = call
    anonymous = _call(api, call, {})
    assert anonymous.status_code == 401, anonymous.text
    assert "log in" in anonymous.json()["detail"]
    for role in ROLES:
        response = _call(api, call, api.auth(BY_ROLE[role]))
        expected = allowed_status if grants([role], needed) else 403
        assert response.status_code == expected, (role, response.text)
        if expected == 403:
            assert f"may not act as {needed}" in response.json()["detail"]


def test_every_api_route_is_in_the_matrix_and_documented(api: Served) -> None:
    schema = api.client.get("/openapi.json").json()
    covered = {(m, p.split("?")[0]) for m, p, *_ in MATRIX}
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in methods.items():
            assert op.get("summary"), (method, path)
            assert "200" in op["responses"] or "201" in op["responses"] or "204" in op["responses"]
            concrete = path.replace("{name}", "x").replace("{incident_id}", "x")
            concrete = concrete.replace("{request_id}", "x").replace("{thread_id}", "x")
            concrete = concrete.replace("{run_id}", "x")
            shapes = {(m, _shape(p)) for m, p in covered}
            assert (method.upper(), _shape(concrete)) in shapes, (method, path)


def _shape(path: str) -> str:
    """A path with its id segments blanked (so the matrix's ids match the templates)."""
    parts = path.split("/")
    return "/".join(p if i < 4 or p in _FIXED else "*" for i, p in enumerate(parts))


_FIXED = {"verify", "findings", "report", "plans", "runs", "messages", "approve", "reject"}
_FIXED |= {"acknowledge", "close", "tokens", "threads"}


def test_reads_return_the_worlds_data(api: Served) -> None:
    viewer = api.auth("vic")
    models = api.client.get("/api/v1/models", headers=viewer).json()
    assert len(models) == 24
    incidents = api.client.get("/api/v1/incidents", headers=viewer).json()
    drift = next(i for i in incidents if i["kind"] == "drift_with_performance_drop")
    detail = api.client.get(f"/api/v1/incidents/{drift['id']}", headers=viewer).json()
    assert detail["incident"]["evidence"]
    drawn = [h for h in detail["histograms"] if h["drifted"]]
    assert {h["feature"] for h in drawn} == set(drift["features"])
    assert all(len(h["reference"]) == len(h["current"]) > 0 for h in drawn)
    assert detail["approvals"], "the pending retrain belongs to this incident"
    pending = api.client.get("/api/v1/approvals?status=pending", headers=viewer).json()
    assert [p["proposer"] for p in pending] == ["bob"]
    posture = api.client.get("/api/v1/compliance", headers=viewer).json()
    assert posture["policies"] and posture["failing"] >= 0
    verified = api.client.get("/api/v1/audit/verify", headers=viewer).json()
    assert verified["records"] > 0


def test_unknown_ids_are_404_with_a_clear_message(api: Served) -> None:
    viewer = api.auth("vic")
    for path, words in [
        ("/api/v1/incidents/inc-zzz", "unknown incident"),
        ("/api/v1/approvals/apr-zzz", "unknown approval request"),
        ("/api/v1/chat/threads/thr-zzz", "unknown chat thread"),
        ("/api/v1/models/zzz", "unknown model"),
    ]:
        response = api.client.get(path, headers=viewer)
        assert response.status_code == 404
        assert words in response.json()["detail"]


def test_malformed_json_is_422_with_a_clear_message(api: Served) -> None:
    response = api.client.post(
        "/api/v1/chat/threads",
        content=b'{"title": ',
        headers={**api.auth("olga"), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": response.json()["detail"]}
    assert response.json()["detail"].startswith("malformed JSON body")
    wrong_type = api.client.put(
        "/api/v1/users/zed", json={"roles": ["wizard"]}, headers=api.auth("root")
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["detail"].startswith("invalid roles")


def test_no_response_body_carries_a_stack_trace(api: Served) -> None:
    bodies = []
    for call in MATRIX:
        for name in ("vic", "olga", "alice", "root"):
            bodies.append(_call(api, call, api.auth(name)).text)
    bodies.append(
        api.client.post("/api/v1/scans", content=b"\xff\xfe", headers={**api.auth("olga")}).text
    )
    assert bodies
    for body in bodies:
        assert "Traceback" not in body and 'File "' not in body


def test_health_and_metrics(api: Served) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    assert api.client.get("/readyz").json()["status"] == "ok"
    api.client.post("/api/v1/scans", headers=api.auth("olga"))
    text = api.client.get("/metrics").text
    assert 'lotsen_approvals_pending{agent="remediation"} 1.0' in text
    assert "lotsen_incidents_open{kind=" in text
    assert "lotsen_models_scanned_total" in text
    assert 'route="/api/v1/scans"' in text
    assert "lotsen_actions_total{outcome=" in text
