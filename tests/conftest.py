"""Shared fixtures: isolated HOME, no network beyond loopback, a reusable MLflow schema."""

import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm.doubles import SCRIPTED_PORTS
from tools.fleet.generate import generate_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri
from world.layout import MLFLOW_ENV_DEFAULTS

_LOOPBACK = ("127.", "::1", "localhost")


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise RuntimeError(f"test tried to reach {host}: tests may only use loopback")
        return original(self, address)

    return connect


_HTTP_LIBS = [httpx]
try:
    import httpx2

    _HTTP_LIBS.append(httpx2)
except ImportError:  # older openai clients use httpx itself
    pass

_LLM_PATH = re.compile(r"/v1/(chat/completions|completions|embeddings|models|responses)$")


def _llm_guard(original: Any, violations: list[str]) -> Any:
    def handle(self: Any, request: Any) -> Any:
        allowed = SCRIPTED_PORTS | _CLOSED_PORTS
        if _LLM_PATH.search(request.url.path) and request.url.port not in allowed:
            violations.append(str(request.url))
            raise RuntimeError(f"test tried to reach a real LLM at {request.url}")
        return original(self, request)

    return handle


_CLOSED_PORTS: set[int] = set()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: the guard lets requests fail there for real."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    _CLOSED_PORTS.add(port)
    yield port
    _CLOSED_PORTS.discard(port)


@pytest.fixture
def llm_guard_violations() -> list[str]:
    """Real-LLM requests a test attempted (the guard fails the test if any remain)."""
    return []


@pytest.fixture(autouse=True)
def _no_real_llm(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, llm_guard_violations: list[str]
) -> Iterator[None]:
    """Any OpenAI-style request to something other than a scripted server fails the test,
    even when the code under test catches the error and falls back.
    """
    if request.node.get_closest_marker("real_llm"):
        yield
        return
    for client_lib in _HTTP_LIBS:  # httpx, and the httpx2 fork that openai 3.x uses
        sync, async_ = client_lib.HTTPTransport, client_lib.AsyncHTTPTransport
        monkeypatch.setattr(
            sync, "handle_request", _llm_guard(sync.handle_request, llm_guard_violations)
        )
        monkeypatch.setattr(
            async_,
            "handle_async_request",
            _llm_guard(async_.handle_async_request, llm_guard_violations),
        )
    yield
    if llm_guard_violations:
        pytest.fail(
            f"test tried to reach a real LLM: {llm_guard_violations}; use llm.doubles "
            "(ScriptedChatModel / ScriptedOpenAIServer) or mark the test real_llm"
        )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real network (so no real LLM or telemetry), HOME in a temp dir, MLflow quiet."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MPLCONFIGDIR", str(home / "mpl"))
    for key, value in MLFLOW_ENV_DEFAULTS.items():
        monkeypatch.setenv(key, value)
    for key in ("LOTSEN_DATA_DIR", "LOTSEN_MLFLOW_URI", "LOTSEN_CLUSTER", "LOTSEN_KUBE_API_URL"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite registry with its schema migrated (done once: ~3 s)."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    registry = MlflowRegistry(
        sqlite_uri(path), AliasHistory(path.with_name("h.db")), path.parent / "artifacts"
    )
    registry.list_models()
    return path


@pytest.fixture
def registry(tmp_path: Path, mlflow_template: Path) -> Iterator[MlflowRegistry]:
    """A fresh, empty MLflow registry of this test's own."""
    db = tmp_path / "mlflow.db"
    shutil.copy(mlflow_template, db)
    history = AliasHistory(tmp_path / "alias_history.db")
    yield MlflowRegistry(sqlite_uri(db), history, tmp_path / "artifacts")
    history.close()


@pytest.fixture(scope="session")
def small_fleet() -> FleetSpec:
    """A 24-model fleet plan."""
    return generate_fleet(24, seed=3)
