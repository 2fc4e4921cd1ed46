"""Console pages over HTTP (in process, no browser): who may see and do what, CSRF, bad
input, and the page views over the seeded world. Users as in tests/support/console_server.py.
"""

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lotsen.service.app import create_app
from tests.support.console_server import EVAL_RUN, PASSWORD, write_eval_run, write_users
from world.settings import Settings
from world.world import World

PAGES = (
    "/console/chat",
    "/console/incidents",
    "/console/approvals",
    "/console/approvals?status=all",
    "/console/fleet",
    "/console/fleet?env=prod&q=churn",
    "/console/pools",
    "/console/compliance",
    "/console/evals",
)
USERS = ("vera", "oscar", "alice", "bob")


@dataclass
class Console:
    app: object
    world: World

    def client(self) -> TestClient:
        return TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)  # type: ignore[arg-type]

    def login(self, name: str) -> TestClient:
        client = self.client()
        token = _token(client.get("/login").text)
        r = client.post(
            "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code == 303, r.text
        return client


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def console(full_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    where = tmp_path_factory.mktemp("console-pages")
    data = where / "data"
    shutil.copytree(full_world, data, symlinks=True)
    settings = Settings(
        data_dir=data, users_file=write_users(where / "users.yaml"), serve_insecure_cookies=True
    )
    with World(settings) as world:
        yield Console(app=create_app(settings, world=world), world=world)


def _pending(console: Console) -> list[str]:
    return [r.id for r in console.world.approvals.requests(console.world.clock(), "pending")]


@pytest.mark.parametrize("user", USERS)
def test_every_page_renders_for_every_role(console: Console, user: str) -> None:
    client = console.login(user)
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert f"<b>{user}</b>" in r.text  # the nav bar names who is logged in
        assert 'action="/logout"' in r.text


def test_pages_show_the_worlds_data(console: Console) -> None:
    client = console.login("alice")
    world = console.world
    models = world.registry.list_models()
    fleet = client.get("/console/fleet").text
    assert all(f'id="model-{m.name}"' in fleet for m in models)
    pools = client.get("/console/pools").text
    assert all(f'id="pool-{p.name}"' in pools for p in world.cluster.node_pools())
    assert 'hx-get="/console/fragments/capacity"' in pools  # the plan loads after the page
    plan = client.get("/console/fragments/capacity").text
    assert 'id="packing"' in plan and "nothing is applied" in plan
    [request_id] = _pending(console)
    assert f'id="request-{request_id}"' in client.get("/console/approvals").text
    assert ">1</span>" in client.get("/console/fragments/pending").text  # the nav's count
    incidents = client.get("/console/incidents").text
    records = world.runs.incidents.occurrences()
    assert records and all(f"/console/incidents/{r.id}" in incidents for r in records)
    page = client.get(f"/console/incidents/{records[0].id}").text
    assert records[0].probable_cause in page and "<svg class='hist'" in page
    model = client.get(f"/console/models/{models[0].name}")
    assert model.status_code == 200 and models[0].owner in model.text
    compliance = client.get("/console/compliance").text
    assert all(f'id="policy-{p.id}"' in compliance for p in world.policies)


def test_eval_reports_list_runs_and_show_their_plots(console: Console) -> None:
    write_eval_run(console.world.settings.data_dir)
    client = console.login("vera")
    assert f'href="/console/evals/{EVAL_RUN}"' in client.get("/console/evals").text
    run = client.get(f"/console/evals/{EVAL_RUN}").text
    assert run.count("<svg") == 2 and "retrainer-hard (trial 1, tier0)" in run


def test_unauthenticated_pages_send_the_browser_to_login(console: Console) -> None:
    client = console.client()
    assert client.get("/").headers["location"] == "/console/chat"
    r = client.get("/console/approvals")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fconsole%2Fapprovals"


def test_an_expired_session_goes_back_to_login_and_decides_nothing(console: Console) -> None:
    [request_id] = _pending(console)
    client = console.client()
    client.cookies.set("lotsen_session", "expired-or-logged-out")
    r = client.get("/console/approvals")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = client.post(
        f"/console/approvals/{request_id}/decide",
        data={"decision": "approve", "csrf_token": "whatever"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert _pending(console) == [request_id]


def test_unknown_ids_are_a_404_page_without_a_stack_trace(console: Console) -> None:
    client = console.login("alice")
    for path in (
        "/console/incidents/inc-nope",
        "/console/approvals/apr-nope",
        "/console/models/no-such-model",
        "/console/evals/no-such-run",
        "/console/static/secret.py",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Traceback" not in r.text
    r = client.get("/console/incidents?status=bogus")
    assert r.status_code == 422 and "unknown status" in r.text


def test_assets_are_served_locally(console: Console) -> None:
    client = console.client()
    htmx = client.get("/console/static/htmx.min.js")
    assert htmx.status_code == 200 and "0BSD" in htmx.text[:300]
    assert client.get("/console/static/console.css").status_code == 200
    page = console.login("alice").get("/console/fleet").text
    assert not re.search(r"(src|href)=\"https?://", page)  # no CDN


def test_only_an_approver_who_did_not_propose_may_decide(console: Console) -> None:
    [request_id] = _pending(console)
    for user, status in (("vera", 403), ("oscar", 403), ("bob", 409)):
        client = console.login(user)
        token = _token(client.get(f"/console/approvals/{request_id}").text)
        r = client.post(
            f"/console/approvals/{request_id}/decide",
            data={"decision": "approve", "csrf_token": token},
        )
        assert r.status_code == status, (user, r.text[:300])
    assert _pending(console) == [request_id]


def test_a_decision_without_the_csrf_token_is_refused(console: Console) -> None:
    [request_id] = _pending(console)
    client = console.login("alice")
    for token in ("", "forged"):
        r = client.post(
            f"/console/approvals/{request_id}/decide",
            data={"decision": "reject", "csrf_token": token},
        )
        assert r.status_code == 403
    assert _pending(console) == [request_id]


def test_a_viewer_cannot_acknowledge_an_incident(console: Console) -> None:
    [record] = [r for r in console.world.runs.incidents.occurrences() if r.status == "open"][:1]
    client = console.login("vera")
    page = client.get(f"/console/incidents/{record.id}").text
    assert 'id="acknowledge"' not in page
    r = client.post(
        f"/console/incidents/{record.id}/acknowledge", data={"csrf_token": _token(page)}
    )
    assert r.status_code == 403
    assert console.world.runs.incidents.get(record.id).status == "open"


def test_evidence_links_entities_to_their_pages(console: Console) -> None:
    model = console.world.registry.list_models()[0].name
    incident = console.world.runs.incidents.occurrences()[0].id
    [request_id] = _pending(console)
    client = console.login("oscar")
    token = _token(client.get("/console/chat").text)
    r = client.post(
        "/console/chat/evidence",
        json={
            "entities": [model, incident, request_id, "nothing-known"],
            "tool_calls": [{"name": "list_models", "args": "{}", "status": "ok"}],
        },
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert f'href="/console/models/{model}"' in r.text
    assert f'href="/console/incidents/{incident}"' in r.text
    assert f'href="/console/approvals/{request_id}"' in r.text
    assert "nothing-known" in r.text and "list_models" in r.text
    missing = client.post("/console/chat/evidence", json={"entities": [model]})
    assert missing.status_code == 403


def test_an_operator_acknowledges_as_themselves(console: Console) -> None:
    opened = [r for r in console.world.runs.incidents.occurrences() if r.status == "open"]
    assert len(opened) >= 2  # the viewer's test keeps the first one
    record = opened[-1]
    client = console.login("oscar")
    token = _token(client.get(f"/console/incidents/{record.id}").text)
    r = client.post(
        f"/console/incidents/{record.id}/acknowledge",
        data={"csrf_token": token, "note": "looking", "user": "alice"},  # a field is ignored
    )
    assert r.status_code == 303
    after = console.world.runs.incidents.get(record.id)
    assert (after.status, after.changed_by, after.note) == ("acknowledged", "oscar", "looking")
    again = client.post(f"/console/incidents/{record.id}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409 and "Traceback" not in again.text
