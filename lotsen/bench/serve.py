"""`lotsen bench serve`: a bounded load test of the service on loopback.

N concurrent chat sessions at tier 0 (each asks, reads the whole SSE answer, asks again)
plus a fleet scan every S seconds, for D seconds, against a copy of the world served by
uvicorn in this process (so the figures include the client's share of the CPU). Reports
p50/p95 latency and errors of chat answers and scans.
"""

import asyncio
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel

from memory.users import UserDirectory
from tools.errors import ConfigError
from world.settings import Settings
from world.world import World

BENCH_USER = "bench-operator"


class Latency(BaseModel):
    """Latencies of one kind of request."""

    count: int
    errors: int
    p50_s: float
    p95_s: float
    max_s: float


class ServeBench(BaseModel):
    """`lotsen bench serve`'s result."""

    sessions: int
    scan_every_s: float
    duration_s: float
    chat: Latency
    scans: Latency
    error_samples: list[str]


def bench_serve(
    settings: Settings, *, sessions: int, scan_every_s: float, duration_s: float
) -> ServeBench:
    """Run the load test on a copy of `settings.data_dir` (the original is not touched).

    Raises:
        ConfigError: no world is seeded in the data dir.
    """
    if not (settings.data_dir / "world").exists():
        raise ConfigError(f"no world in {settings.data_dir}: run `make demo` first")
    with tempfile.TemporaryDirectory(prefix="lotsen-bench-serve-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(settings.data_dir, data, symlinks=True)
        users = Path(tmp) / "users.yaml"
        directory = UserDirectory(users)
        directory.put(BENCH_USER, ["operator"])
        token = directory.issue_token(BENCH_USER, datetime.now(UTC))
        copy = settings.model_copy(update={"data_dir": data, "users_file": users})
        with World(copy) as world:
            names = [m.name for m in world.registry.list_models()] or ["unknown-model"]
        with _served(copy) as url:
            return asyncio.run(_load(url, token, names, sessions, scan_every_s, duration_s))


@contextmanager
def _served(settings: Settings) -> Iterator[str]:
    import uvicorn

    from lotsen.service.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


async def _load(
    url: str, token: str, names: list[str], sessions: int, scan_every_s: float, duration_s: float
) -> ServeBench:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=sessions + 2)
    chat: list[float] = []
    scans: list[float] = []
    errors: dict[str, list[str]] = {"chat": [], "scan": []}
    async with httpx.AsyncClient(
        base_url=f"{url}/api/v1", headers=headers, timeout=120, limits=limits
    ) as client:
        deadline = time.perf_counter() + duration_s
        tasks = [
            _session(client, i, names, deadline, chat, errors["chat"]) for i in range(sessions)
        ]
        tasks.append(_scanner(client, scan_every_s, deadline, scans, errors["scan"]))
        await asyncio.gather(*tasks)
    return ServeBench(
        sessions=sessions,
        scan_every_s=scan_every_s,
        duration_s=duration_s,
        chat=_latency(chat, len(errors["chat"])),
        scans=_latency(scans, len(errors["scan"])),
        error_samples=(errors["chat"] + errors["scan"])[:5],
    )


def _questions(names: list[str], i: int) -> Iterator[str]:
    k = 0
    while True:
        model = names[(i + k) % len(names)]
        yield (
            f"who owns {model}?",
            "which GPUs are idle in test?",
            f"is {model} allowed into prod?",
            f"why did {model} drift?",
        )[k % 4]
        k += 1


async def _session(
    client: httpx.AsyncClient,
    i: int,
    names: list[str],
    deadline: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    opened = await client.post("/chat/threads", json={"title": f"bench {i}"})
    if opened.status_code != 201:
        errors.append(f"open thread: {opened.status_code} {opened.text[:100]}")
        return
    thread = opened.json()["id"]
    questions = _questions(names, i)
    first = True
    while first or time.perf_counter() < deadline:  # every session asks at least once
        first = False
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/chat/threads/{thread}/messages", json={"text": next(questions), "tier": "0"}
            )
            ok = response.status_code == 200 and "event: done" in response.text
            if not ok:
                errors.append(f"chat: {response.status_code} {response.text[:100]}")
                continue
        except httpx.HTTPError as exc:
            errors.append(f"chat: {exc!r}")
            continue
        latencies.append(time.perf_counter() - started)


async def _scanner(
    client: httpx.AsyncClient,
    every_s: float,
    deadline: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    next_at = time.perf_counter()
    while next_at < deadline:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        started = time.perf_counter()
        try:
            response = await client.post("/scans")
            if response.status_code != 200:
                errors.append(f"scan: {response.status_code} {response.text[:100]}")
            else:
                latencies.append(time.perf_counter() - started)
        except httpx.HTTPError as exc:
            errors.append(f"scan: {exc!r}")
        next_at += every_s


def _latency(values: list[float], errors: int) -> Latency:
    ordered = sorted(values)

    def pick(q: float) -> float:
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return Latency(
        count=len(ordered),
        errors=errors,
        p50_s=pick(0.5),
        p95_s=pick(0.95),
        max_s=ordered[-1] if ordered else 0.0,
    )
