"""Shared fixtures: isolated HOME, no network beyond loopback, a reusable MLflow schema."""

import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evals.doubles import SCRIPTED_PORTS
from lotsen.world import MLFLOW_ENV_DEFAULTS
from tools.fleet.generate import generate_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri

_LOOPBACK = ("127.", "::1", "localhost")


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise RuntimeError(f"test tried to reach {host}: tests may only use loopback")
        return original(self, address)

    return connect


_LLM_PATH = re.compile(r"/v1/(chat/completions|completions|embeddings|models|responses)$")


def _llm_guard(original: Any) -> Any:
    def handle(self: Any, request: httpx.Request) -> Any:
        if _LLM_PATH.search(request.url.path) and request.url.port not in SCRIPTED_PORTS:
            raise RuntimeError(
                f"test tried to reach a real LLM at {request.url}; use evals.doubles "
                "(ScriptedChatModel / ScriptedOpenAIServer) or mark the test real_llm"
            )
        return original(self, request)

    return handle


@pytest.fixture(autouse=True)
def _no_real_llm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any OpenAI-style request to something other than a scripted server fails the test."""
    if request.node.get_closest_marker("real_llm"):
        return
    monkeypatch.setattr(
        httpx.HTTPTransport, "handle_request", _llm_guard(httpx.HTTPTransport.handle_request)
    )
    monkeypatch.setattr(
        httpx.AsyncHTTPTransport,
        "handle_async_request",
        _llm_guard(httpx.AsyncHTTPTransport.handle_async_request),
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
