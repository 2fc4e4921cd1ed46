"""The web console in a real browser (Playwright driving Debian's chromium) against a real
uvicorn server on a free loopback port, over a copy of a seeded world in which bob (admin)
proposed a retrain that waits for a human. Users: vera viewer, oscar operator, alice
approver, bob admin (tests/support/console_server.py).

Screenshots of every page go to the test's tmp dir (and to $CONSOLE_SHOTS when set).
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from memory.approvals import ApprovalQueue
from tests.support.console_server import (
    EVAL_RUN,
    PASSWORD,
    ConsoleServer,
    console_server,
    write_eval_run,
)

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]

PATIENCE_MS = 300_000
"""How long a browser step may wait (approving resumes a remediation run: ~25 s on a busy
2-core machine); a bound only so that a broken page fails instead of hanging."""
PAGES = ("chat", "incidents", "approvals", "fleet", "pools", "compliance", "evals")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        expect.set_options(timeout=PATIENCE_MS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(full_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """One server for the tests that must change nothing."""
    with console_server(full_world, tmp_path_factory.mktemp("console")) as s:
        yield s


@pytest.fixture
def own_server(full_world: Path, tmp_path: Path) -> Iterator[ConsoleServer]:
    """A server of the test's own (it changes the world)."""
    with console_server(full_world, tmp_path) as s:
        yield s


def new_page(browser: Browser) -> Page:
    page = browser.new_page(viewport={"width": 1366, "height": 800})
    page.set_default_timeout(PATIENCE_MS)
    return page


def login(browser: Browser, server: ConsoleServer, name: str) -> Page:
    page = new_page(browser)
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/chat$"))
    expect(page.locator("#whoami")).to_contain_text(name)
    return page


def shoot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / "shots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    if os.environ.get("CONSOLE_SHOTS"):
        Path(os.environ["CONSOLE_SHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["CONSOLE_SHOTS"]) / path.name)


def pending(server: ConsoleServer) -> list[str]:
    queue = ApprovalQueue(server.data_dir / "state" / "approvals.db")
    try:
        from datetime import UTC, datetime

        return [r.id for r in queue.requests(datetime.now(UTC).replace(year=2000), "pending")]
    finally:
        queue.close()


def test_login_then_every_page_with_nav_and_screenshots(
    browser: Browser, server: ConsoleServer, tmp_path: Path
) -> None:
    page = new_page(browser)
    page.goto(server.url + "/console/fleet")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    shoot(page, tmp_path, "login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/fleet$"))  # back where she was sent from
    expect(page.locator("#role")).to_have_text("approver")
    for name in PAGES:
        page.goto(f"{server.url}/console/{name}")
        expect(page.locator(f"header.nav a.active[href='/console/{name}']")).to_have_count(1)
        shoot(page, tmp_path, name)
    write_eval_run(server.data_dir)  # as `lotsen eval run` would
    page.goto(f"{server.url}/console/evals")
    page.click(f"a[href='/console/evals/{EVAL_RUN}']")
    expect(page.locator(".plots svg")).to_have_count(2)  # the report's two plots
    shoot(page, tmp_path, "eval_run")
    page.goto(f"{server.url}/console/incidents")
    first = page.locator("table a[href^='/console/incidents/']").first
    incident_id = first.inner_text()
    first.click()
    expect(page.locator("h1")).to_contain_text(incident_id)
    assert page.locator("svg.hist").count() > 0  # reference vs current, drawn server-side
    shoot(page, tmp_path, "incident")
    page.goto(f"{server.url}/console/fleet")
    page.locator("table a[href^='/console/models/']").first.click()
    expect(page.locator("h1")).to_contain_text("Model")
    shoot(page, tmp_path, "model")
    page.goto(f"{server.url}/console/approvals")
    page.locator(".request a[href^='/console/approvals/']").first.click()
    shoot(page, tmp_path, "approval")
    page.click("header.nav button:has-text('Log out')")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(server.url + "/console/chat")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # the session is gone


def test_operator_asks_and_sees_the_streamed_answer_with_evidence(
    browser: Browser, server: ConsoleServer, tmp_path: Path
) -> None:
    page = login(browser, server, "oscar")
    page.fill("#question", "which models fail policy AIA-04?")
    with page.expect_response(re.compile(r"/api/v1/chat/threads/[^/]+/messages$")) as answer:
        page.click("#send")
    assert answer.value.headers["content-type"].startswith("text/event-stream")
    reply = page.locator(".msg.assistant[data-done=true]")
    expect(reply).to_contain_text("AIA-04")
    link = page.locator("#evidence a.entity").first
    expect(link).to_have_attribute("href", re.compile(r"^/console/models/"))
    expect(page.locator("#evidence")).to_contain_text("scan_compliance")
    expect(page.locator("#thread-list a").first).to_contain_text("which models fail policy")
    shoot(page, tmp_path, "chat")
    thread = page.locator("#thread").inner_text()
    page.goto(f"{server.url}/console/chat?thread={thread}")  # the thread was persisted
    expect(page.locator(".msg.assistant[data-done=true]")).to_contain_text("AIA-04")
    expect(page.locator("#evidence a.entity").first).to_be_visible()


def test_approver_approves_a_pending_remediation_and_sees_the_state_change(
    browser: Browser, own_server: ConsoleServer, tmp_path: Path
) -> None:
    [request_id] = pending(own_server)
    page = login(browser, own_server, "alice")
    page.goto(f"{own_server.url}/console/approvals")
    card = page.locator(f"#request-{request_id}")
    expect(card.locator(".status")).to_have_text("pending")
    card.locator("textarea[name=note]").fill("checked the drift evidence")
    card.locator("button[value=approve]").click()
    expect(page).to_have_url(re.compile(rf"/console/approvals/{request_id}\?done=approved"))
    expect(page.locator(".status")).to_have_text("approved")
    expect(page.locator(".decided")).to_contain_text("alice")
    shoot(page, tmp_path, "approved")
    assert request_id not in pending(own_server)  # (the retrained challenger's promotion
    # may now wait for a human in a request of its own)
    queue = ApprovalQueue(own_server.data_dir / "state" / "approvals.db")
    try:
        decided = queue.get(request_id)
    finally:
        queue.close()
    assert (decided.status, decided.decided_by, decided.note) == (
        "approved",
        "alice",
        "checked the drift evidence",
    )


def _csrf(page: Page) -> str:
    return page.locator("header.nav input[name=csrf_token]").get_attribute("value") or ""


def test_an_operator_cannot_approve(browser: Browser, server: ConsoleServer) -> None:
    [request_id] = pending(server)
    page = login(browser, server, "oscar")
    page.goto(f"{server.url}/console/approvals")
    expect(page.locator(f"#request-{request_id}")).to_be_visible()
    expect(page.locator("button[value=approve]")).to_have_count(0)  # not offered
    expect(page.locator(".why-not").first).to_contain_text("only approvers decide")
    forced = page.request.post(
        f"{server.url}/console/approvals/{request_id}/decide",
        form={"decision": "approve", "csrf_token": _csrf(page)},
        max_redirects=0,
    )
    assert forced.status == 403  # the server refuses, whatever the page offers
    assert pending(server) == [request_id]


def test_a_viewer_cannot_propose(browser: Browser, server: ConsoleServer) -> None:
    page = login(browser, server, "vera")
    expect(page.locator("#question")).to_have_count(0)
    expect(page.locator("#read-only")).to_contain_text("viewers read")
    before = pending(server)
    token = _csrf(page)
    opened = page.request.post(
        f"{server.url}/api/v1/chat/threads",
        data={"title": "scale down"},
        headers={"X-CSRF-Token": token},
    )
    assert opened.status == 403
    page.goto(f"{server.url}/console/incidents?status=open")
    page.locator("table a[href^='/console/incidents/']").first.click()
    expect(page.locator("#incident-status")).to_have_text("open")
    expect(page.locator("#acknowledge")).to_have_count(0)
    incident_id = page.url.rsplit("/", 1)[1]
    forced = page.request.post(
        f"{server.url}/console/incidents/{incident_id}/acknowledge",
        form={"csrf_token": token},
        max_redirects=0,
    )
    assert forced.status == 403
    page.reload()
    expect(page.locator("#incident-status")).to_have_text("open")
    assert pending(server) == before


def test_the_proposer_cannot_approve_their_own_request(
    browser: Browser, server: ConsoleServer
) -> None:
    [request_id] = pending(server)
    page = login(browser, server, "bob")  # admin: may approve, but proposed this one
    page.goto(f"{server.url}/console/approvals/{request_id}")
    expect(page.locator("button[value=approve]")).to_be_disabled()
    expect(page.locator(".why-not")).to_contain_text("you proposed this change")
    forced = page.request.post(
        f"{server.url}/console/approvals/{request_id}/decide",
        form={"decision": "approve", "csrf_token": _csrf(page)},
        max_redirects=0,
    )
    assert forced.status == 409
    assert "four-eyes" in forced.text()
    assert pending(server) == [request_id]
