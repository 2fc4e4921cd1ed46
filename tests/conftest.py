"""Shared fixtures: isolated HOME and environment, no network beyond loopback, no real LLM
(in this process or any it starts), reproducible hypothesis runs, a reusable MLflow schema.
"""

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.support.llm_guard_session import GUARD_ENV_PREFIX, SessionGuard, Violations
from tests.support.slow_report import SlowReport
from tests.support.worlds import full_world_with_pending_approval, seed_with_telemetry
from tools.fleet.generate import generate_fleet
from tools.fleet.spec import FleetSpec
from tools.registry import AliasHistory, MlflowRegistry, sqlite_uri
from world.layout import MLFLOW_ENV_DEFAULTS

_LOOPBACK = ("127.", "::1", "localhost")
_GUARD = pytest.StashKey[SessionGuard]()
_CONFIG_HOME = pytest.StashKey[Path]()
_OWN_CONFIG_HOME = pytest.StashKey[Path]()
_CONFIG_PREFIX = "lotsen-test-config-"

# `make pytest` (so CI) runs the "ci" profile: the same examples on every run, no flaky
# deadline. A plain `pytest` explores new examples each run (set CI=true to pin them too).
settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true") else "dev")


def pytest_configure(config: pytest.Config) -> None:
    """Guard this process and every process the tests start against real LLM calls; give
    the session one audit key, outside every HOME, so worlds seeded once (session fixtures,
    before any test's HOME exists) verify in every test that copies them.
    """
    config.stash[_GUARD] = SessionGuard.start()
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controller sees every worker's times
        config.pluginmanager.register(SlowReport(), "lotsen-slow-report")
    inherited = Path(os.environ.get("XDG_CONFIG_HOME", "/"))
    if os.environ.get("PYTEST_XDIST_WORKER") and inherited.name.startswith(_CONFIG_PREFIX):
        config_home = inherited  # the controller's: worlds seeded by any worker verify in all
    else:
        config_home = Path(tempfile.mkdtemp(prefix=_CONFIG_PREFIX))
        config.stash[_OWN_CONFIG_HOME] = config_home
    config.stash[_CONFIG_HOME] = config_home
    for key, value in _audit_key_env(config_home).items():
        os.environ[key] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's audit key and witnesses."""
    config_home = config.stash.get(_OWN_CONFIG_HOME, None)
    if config_home is not None:
        shutil.rmtree(config_home, ignore_errors=True)


def _audit_key_env(config_home: Path) -> dict[str, str]:
    """Where the audit key is: its default location (`$XDG_CONFIG_HOME/lotsen/audit.key`), the
    same for worlds and for logs opened directly, in every test and every process they start
    (not a `LOTSEN_*` setting: developer settings stay out of the suite)."""
    return {"XDG_CONFIG_HOME": str(config_home)}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect `real_llm` tests unless the run asks for them (`-m real_llm`)."""
    if "real_llm" in (config.option.markexpr or ""):
        return  # the -m expression decides
    real = [item for item in items if item.get_closest_marker("real_llm")]
    if real:
        config.hook.pytest_deselected(items=real)
        items[:] = [item for item in items if not item.get_closest_marker("real_llm")]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if a process refused a real-LLM request after the last test ended."""
    left = session.config.stash[_GUARD].stop()
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"after the last test, something tried to reach a real LLM: {left}")


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not host.startswith(_LOOPBACK):
                raise RuntimeError(f"test tried to reach {host}: tests may only use loopback")
        return original(self, address)

    return connect


@pytest.fixture
def closed_port(pytestconfig: pytest.Config) -> Iterator[int]:
    """A loopback port nothing listens on: the guard lets requests fail there for real."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with pytestconfig.stash[_GUARD].closed_port(port):
        yield port


@pytest.fixture
def llm_guard_violations(pytestconfig: pytest.Config) -> Violations:
    """Real-LLM requests the test attempted; `.collect()` adds its child processes' ones.

    The guard fails the test if any remain at the end: clear what was expected.
    """
    return Violations(pytestconfig.stash[_GUARD])


@pytest.fixture(autouse=True)
def _no_real_llm(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    pytestconfig: pytest.Config,
    llm_guard_violations: Violations,
) -> Iterator[None]:
    """Any OpenAI-style request to something other than a scripted server fails the test,
    here or in a process it started, even when the code under test catches the error and
    falls back. A `real_llm` test runs unguarded, with the developer's `LOTSEN_*` settings.
    """
    guard = pytestconfig.stash[_GUARD]
    if request.node.get_closest_marker("real_llm"):
        guard.guard.enabled = False
        for key in [k for k in os.environ if k.startswith(GUARD_ENV_PREFIX)]:
            monkeypatch.delenv(key)
        try:
            yield
        finally:
            guard.guard.enabled = True
        return
    guard.current = llm_guard_violations
    try:
        yield
    finally:
        guard.current = None
    if llm_guard_violations.collect():
        pytest.fail(
            f"test tried to reach a real LLM: {llm_guard_violations}; use llm.doubles "
            "(ScriptedChatModel / ScriptedOpenAIServer) or mark the test real_llm"
        )


@pytest.fixture(autouse=True)
def _isolated(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """No real network (so no real LLM or telemetry), HOME in a temp dir, MLflow quiet, and
    no `LOTSEN_*` setting of the developer's (the session took them out of the environment;
    this also drops any a previous test left behind) except in a `real_llm` test; the audit
    key is always the session's (never the developer's).
    """
    monkeypatch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MPLCONFIGDIR", str(home / "mpl"))
    for key, value in MLFLOW_ENV_DEFAULTS.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        if key.startswith("LOTSEN_") and not key.startswith(GUARD_ENV_PREFIX):
            monkeypatch.delenv(key)
    if request.node.get_closest_marker("real_llm"):
        for key, value in pytestconfig.stash[_GUARD].developer_env.items():
            monkeypatch.setenv(key, value)
    for key, value in _audit_key_env(pytestconfig.stash[_CONFIG_HOME]).items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The eval harness's cache of seeded base worlds, shared by every xdist worker (each
    base world is built once, under the harness's file lock, by whichever worker needs it
    first)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "eval-cache"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("eval-cache")


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
def remediation_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 160-model world with telemetry and the demo faults; tests change only copies."""
    return seed_with_telemetry(tmp_path_factory.mktemp("remediation") / "data", 160, seed=5)


@pytest.fixture(scope="session")
def small_fleet() -> FleetSpec:
    """A 24-model fleet plan."""
    return generate_fleet(24, seed=3)


@pytest.fixture(scope="session")
def full_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-model world where every store exists, with a retrain waiting for approval."""
    return full_world_with_pending_approval(tmp_path_factory.mktemp("full") / "data")
