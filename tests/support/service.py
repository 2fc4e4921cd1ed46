"""A served copy of a seeded world for the service tests: users, API tokens, a TestClient."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from lotsen.service.app import create_app
from memory.users import Role, UserDirectory
from world.settings import Settings
from world.world import World

PASSWORD = "correct-horse-1"
USERS: dict[str, list[Role]] = {
    "root": ["admin"],
    "alice": ["approver"],
    "carol": ["approver"],
    "bob": ["operator", "approver"],  # proposed the full world's pending retrain
    "olga": ["operator"],
    "vic": ["viewer"],
}
"""One user per role, plus a second approver and the proposer of the pending request."""
BY_ROLE: dict[str, str] = {
    "admin": "root",
    "approver": "alice",
    "operator": "olga",
    "viewer": "vic",
}


@dataclass
class Served:
    """An app over a private copy of a seeded world."""

    app: FastAPI
    client: TestClient
    world: World
    data: Path
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        """Headers that authenticate as `name` with their API token."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def add_users(data: Path) -> dict[str, str]:
    """Write the users file of `data` with USERS (password PASSWORD); return their tokens."""
    directory = UserDirectory(data / "state" / "users.yaml")
    tokens = {}
    for name, roles in USERS.items():
        directory.put(name, roles, PASSWORD)
        tokens[name] = directory.issue_token(name, datetime.now(UTC))
    return tokens


@contextmanager
def served(seeded: Path, where: Path, **settings: object) -> Iterator[Served]:
    """Serve a copy of `seeded` (in `where`) with the test users; closed afterwards."""
    data = where / "data"
    shutil.copytree(seeded, data, symlinks=True)
    tokens = add_users(data)
    options: dict[str, object] = {"serve_insecure_cookies": True, **settings}
    config = Settings(data_dir=data, **options)  # type: ignore[arg-type]
    with World(config) as world:
        app = create_app(config, world=world)
        client = TestClient(app, raise_server_exceptions=False)
        yield Served(app=app, client=client, world=world, data=data, tokens=tokens)
        store = getattr(app.state, "threads", None)
        if store is not None:
            store.close()


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port (in a thread); yield its URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
