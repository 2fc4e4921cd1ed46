"""A real Lotsen server for console tests: uvicorn in a child process on a free loopback
port, over a private copy of a seeded world, with one user per role.

Users (password = PASSWORD): vera (viewer), oscar (operator), alice (approver), bob (admin).
`full_world_with_pending_approval` has bob propose a retrain, so bob is the proposer who
may not approve his own request.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from memory.users import Role, UserDirectory

PASSWORD = "correct horse battery"
USERS: dict[str, Role] = {
    "vera": "viewer",
    "oscar": "operator",
    "alice": "approver",
    "bob": "admin",
}
LAUNCH = (
    "import uvicorn\n"
    "from lotsen.service.app import create_app\n"
    "from world.settings import Settings\n"
    "uvicorn.run(create_app(Settings()), host='127.0.0.1', port={port}, log_level='warning')\n"
)
START_POLLS = 600
"""Polls of 0.1 s while the child starts (it imports the whole stack)."""


@dataclass
class ConsoleServer:
    """A running server."""

    url: str
    data_dir: Path
    users_file: Path
    log: Path

    def client(self) -> httpx.Client:
        """An HTTP client on the server (no login)."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=60.0)

    def login(self, name: str) -> httpx.Client:
        """A client logged in as `name` (the CSRF token is on the client's `csrf` header)."""
        client = self.client()
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post(
            "/login",
            data={"username": name, "password": PASSWORD, "csrf_token": token, "next": "/"},
        )
        if r.status_code != 303:
            raise AssertionError(f"login as {name} failed: {r.status_code} {r.text[:200]}")
        return client


def write_users(path: Path) -> Path:
    """The users file with one user per role."""
    directory = UserDirectory(path)
    for name, role in USERS.items():
        directory.put(name, [role], PASSWORD)
    return path


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def console_server(seeded: Path, tmp_path: Path) -> Iterator[ConsoleServer]:
    """Serve a private copy of `seeded` until the block ends (the child is then stopped)."""
    data = tmp_path / "data"
    shutil.copytree(seeded, data, symlinks=True)
    users = write_users(tmp_path / "users.yaml")
    port = free_port()
    env = {
        **os.environ,
        "LOTSEN_DATA_DIR": str(data),
        "LOTSEN_USERS_FILE": str(users),
        "LOTSEN_SERVE_INSECURE_COOKIES": "true",  # plain http on loopback
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", LAUNCH.format(port=port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ConsoleServer(url=f"http://127.0.0.1:{port}", data_dir=data, users_file=users, log=log)
    try:
        _wait_ready(server, child)
        yield server
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_ready(server: ConsoleServer, child: "subprocess.Popen[bytes]") -> None:
    with server.client() as client:
        for _ in range(START_POLLS):
            if child.poll() is not None:
                raise AssertionError(f"server exited: {server.log.read_text()[-2000:]}")
            try:
                if client.get("/login").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"server did not start: {server.log.read_text()[-2000:]}")


EVAL_RUN = "20261102-060000"


def write_eval_run(data_dir: Path) -> Path:
    """A small eval run where `lotsen eval run` puts them: two agents, two tiers, 3 trials."""
    from datetime import UTC, datetime

    from evals.adapters import AgentRun
    from evals.metrics import compute_metrics
    from evals.report import write_reports
    from evals.runner import CaseResult, RunResult

    cases = []
    for agent, difficulty, passes in (("monitor", "easy", 3), ("retrainer", "hard", 1)):
        for tier, cost in (("tier0", 0.0), ("small", 0.002)):
            for trial in range(3):
                cases.append(
                    CaseResult(
                        scenario=f"{agent}-{difficulty}",
                        agent=agent,
                        level="decision",
                        difficulty=difficulty,
                        control=False,
                        split="dev",
                        tier=tier,
                        trial=trial,
                        passed=trial < passes,
                        run=AgentRun(input_tokens=100, output_tokens=20, cost=cost, steps=2),
                    )
                )
    now = datetime(2026, 11, 2, 6, tzinfo=UTC)
    run = RunResult(
        started_at=now,
        finished_at=now,
        wall_s=3.0,
        trials=3,
        jobs=1,
        tiers=["tier0", "small"],
        host="test",
        scenarios=[],
        cases=cases,
        metrics=compute_metrics(cases, 3),
    )
    out = data_dir / "evals" / "runs" / EVAL_RUN
    write_reports(run, out)
    return out
