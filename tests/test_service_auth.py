"""Logging in: sessions, cookies, CSRF, rate limiting, the trusted proxy header, redirects."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from lotsen.service.app import create_app
from lotsen.service.auth import AuthState, Principal, current_principal_or_redirect
from tests.support.service import PASSWORD, Served, served


@pytest.fixture(scope="module")
def api(full_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(
        full_world,
        tmp_path_factory.mktemp("auth"),
        serve_trusted_header="X-Forwarded-User",
        serve_trusted_proxies=["testclient"],
    ) as s:
        page = s.app.router

        @page.get("/test-page")
        def test_page(who: Annotated[Principal, Depends(current_principal_or_redirect)]) -> str:
            return who.name

        yield s


def _browser(api: Served) -> TestClient:
    return TestClient(api.app, raise_server_exceptions=False)


def _form_token(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def login(api: Served, name: str, password: str = PASSWORD) -> TestClient:
    client = _browser(api)
    token = _form_token(client)
    response = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token, "next": "/healthz"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def _csrf_of(api: Served, client: TestClient) -> str:
    session = auth_state_of(api).sessions.get(str(client.cookies["lotsen_session"]))
    assert session is not None
    return session.csrf


def auth_state_of(api: Served) -> AuthState:
    state = api.app.state.auth
    assert isinstance(state, AuthState)
    return state


def test_login_sets_a_strict_httponly_session_cookie_and_redirects(api: Served) -> None:
    client = _browser(api)
    token = _form_token(client)
    response = client.post(
        "/login",
        data={"username": "Olga", "password": PASSWORD, "csrf_token": token, "next": "/x?y=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/x?y=1"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "lotsen_session" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    threads = client.get("/api/v1/chat/threads")
    assert threads.status_code == 200


def test_cookies_are_secure_unless_insecure_is_set(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path, serve_insecure_cookies=False) as s:
        client = TestClient(s.app, base_url="https://testserver")
        token = _form_token(client)
        response = client.post(
            "/login",
            data={"username": "olga", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        cookie = next(c for c in response.headers.get_list("set-cookie") if "session" in c)
        assert "Secure" in cookie


def test_an_offsite_next_is_ignored(api: Served) -> None:
    client = _browser(api)
    token = _form_token(client)
    response = client.post(
        "/login",
        data={
            "username": "vic",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_is_401_and_opens_no_session(api: Served) -> None:
    client = _browser(api)
    token = _form_token(client)
    response = client.post(
        "/login", data={"username": "olga", "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "unknown user or wrong password" in response.text
    assert "lotsen_session" not in client.cookies


def test_login_is_rate_limited(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path, serve_login_attempts=3) as s:
        client = _browser(s)
        token = _form_token(client)
        form = {"username": "carol", "password": "wrong-password", "csrf_token": token}
        statuses = [client.post("/login", data=form).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        right = {**form, "password": PASSWORD}
        blocked = client.post("/login", data=right, follow_redirects=False)
        assert blocked.status_code == 429, "even the right password waits out the window"
        assert "lotsen_session" not in client.cookies


def test_login_form_without_csrf_token_is_refused(api: Served) -> None:
    client = _browser(api)
    client.get("/login")
    response = client.post("/login", data={"username": "olga", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert "lotsen_session" not in client.cookies


def test_a_cookie_post_needs_the_csrf_header(api: Served) -> None:
    client = login(api, "olga")
    before = len(client.get("/api/v1/chat/threads").json())
    refused = client.post("/api/v1/chat/threads", json={"title": "no token"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = client.post(
        "/api/v1/chat/threads", json={"title": "t"}, headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status_code == 403
    assert len(client.get("/api/v1/chat/threads").json()) == before
    ok = client.post(
        "/api/v1/chat/threads",
        json={"title": "with token"},
        headers={"X-CSRF-Token": _csrf_of(api, client)},
    )
    assert ok.status_code == 201
    assert len(client.get("/api/v1/chat/threads").json()) == before + 1


def test_an_expired_session_is_401(api: Served) -> None:
    client = login(api, "vic")
    assert client.get("/api/v1/fleet").status_code == 200
    sessions = auth_state_of(api).sessions
    real_now = sessions.now
    sessions.now = lambda: real_now() + sessions.ttl_s + 1
    try:
        response = client.get("/api/v1/fleet")
    finally:
        sessions.now = real_now
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert client.get("/api/v1/fleet").status_code == 401, "an expired session stays dead"


def test_logout_ends_the_session(api: Served) -> None:
    client = login(api, "vic")
    no_token = client.post("/logout")
    assert no_token.status_code == 403
    response = client.post(
        "/logout", data={"csrf_token": _csrf_of(api, client)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/api/v1/fleet").status_code == 401


def test_a_removed_user_loses_their_session_at_once(api: Served) -> None:
    admin = api.auth("root")
    api.client.put(
        "/api/v1/users/gone", json={"roles": ["viewer"], "password": PASSWORD}, headers=admin
    )
    client = login(api, "gone")
    assert client.get("/api/v1/fleet").status_code == 200
    assert api.client.delete("/api/v1/users/gone", headers=admin).status_code == 204
    assert client.get("/api/v1/fleet").status_code == 401


def test_bad_tokens_are_401(api: Served) -> None:
    for header in ("Bearer lotsen_nope_nope", "Bearer ", "Basic abc", "Bearer " + "x" * 5000):
        response = api.client.get("/api/v1/fleet", headers={"Authorization": header})
        assert response.status_code == 401
        assert "token" in response.json()["detail"]


def test_trusted_header_from_the_proxy_only(api: Served, full_world: Path, tmp_path: Path) -> None:
    proxied = api.client.get("/api/v1/users", headers={"X-Forwarded-User": "root"})
    assert proxied.status_code == 200
    stranger = api.client.get("/api/v1/users", headers={"X-Forwarded-User": "mallory"})
    assert stranger.status_code == 403
    with served(full_world, tmp_path, serve_trusted_header="X-Forwarded-User") as s:
        untrusted = s.client.get("/api/v1/users", headers={"X-Forwarded-User": "root"})
        assert untrusted.status_code == 401, "no trusted proxy configured: the header is nothing"


def test_trusted_header_posts_need_csrf(api: Served) -> None:
    headers = {"X-Forwarded-User": "olga"}
    assert api.client.post("/api/v1/chat/threads", json={}, headers=headers).status_code == 403


def test_pages_redirect_to_login(api: Served) -> None:
    client = _browser(api)
    response = client.get("/test-page?a=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftest-page%3Fa%3D1"
    assert login(api, "vic").get("/test-page").json() == "vic"


def test_users_token_cli_issues_a_working_token(
    full_world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.cli import run_lotsen

    with served(full_world, tmp_path) as s:
        args = ("--data-dir", str(s.data), "users", "token", "vic", "--as", "root")
        code, out, err = run_lotsen(capsys, monkeypatch, *args)
        assert code == 0, err
        token = out.strip().splitlines()[-1]
        assert token.startswith("lotsen_")
        assert token not in (s.data / "state" / "users.yaml").read_text()
        ok = s.client.get("/api/v1/fleet", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


def test_app_without_console_still_serves(full_world: Path, tmp_path: Path) -> None:
    with served(full_world, tmp_path) as s:
        app = create_app(s.world.settings, world=s.world)
        assert TestClient(app).get("/healthz").status_code == 200
        assert app.state.world is s.world
