"""The "no real LLM" guard holds in this process and in every process a test starts.

Each refused request goes to a probe: a loopback socket that is not a scripted server's and
records whether anything connected to it, so a test also fails when the request got out.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from llm.doubles import ScriptedOpenAIServer
from tests.support.llm_guard import RealLlmRefusedError, child_env
from tests.support.llm_guard_session import Violations

REPO = Path(__file__).resolve().parents[1]


class Probe:
    """A listening loopback port that is neither scripted nor a `closed_port`."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.setblocking(False)
        self.port = int(self.server.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reached(self) -> bool:
        """Whether anything connected (the kernel accepts into the backlog for us)."""
        try:
            connection, _ = self.server.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True


@pytest.fixture
def probe() -> Iterator[Probe]:
    probe = Probe()
    yield probe
    probe.server.close()


def expect_refused(violations: Violations, *urls: str) -> None:
    """The guard recorded exactly `urls`; clear them so the test itself does not fail."""
    assert violations.collect() == list(urls)
    violations.clear()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/chat/completions",
        "/openai/deployments/gpt/chat/completions",
        "/completions",
        "/api/embeddings",
        "/models",
        "/v1/responses",
    ],
)
def test_an_openai_style_path_is_refused_behind_any_prefix(
    path: str, probe: Probe, llm_guard_violations: Violations
) -> None:
    with pytest.raises(RealLlmRefusedError):
        httpx.post(probe.url(path), json={}, timeout=2)
    expect_refused(llm_guard_violations, probe.url(path))
    assert not probe.reached()


def test_the_openai_client_without_v1_in_its_base_url_is_refused(
    probe: Probe, llm_guard_violations: Violations
) -> None:
    client = OpenAI(base_url=probe.url(""), api_key="x", max_retries=0, timeout=2)
    with pytest.raises(Exception):  # noqa: B017 - the client wraps the refusal
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    expect_refused(llm_guard_violations, probe.url("/chat/completions"))
    assert not probe.reached()


def test_urllib_is_guarded_too(probe: Probe, llm_guard_violations: Violations) -> None:
    with pytest.raises(RealLlmRefusedError):
        urllib.request.urlopen(probe.url("/v1/models"), timeout=2)
    expect_refused(llm_guard_violations, probe.url("/v1/models"))
    assert not probe.reached()


def test_other_paths_and_scripted_servers_pass(
    probe: Probe, llm_guard_violations: Violations
) -> None:
    with pytest.raises(httpx.ReadTimeout):  # it got through: the probe never answers
        httpx.get(probe.url("/health"), timeout=0.2)
    assert probe.reached()
    with ScriptedOpenAIServer() as server:
        reply = httpx.get(f"{server.base_url}/models", timeout=5)
    assert reply.status_code == 200
    assert llm_guard_violations.collect() == []


CHILD = """
import sys
import httpx
try:
    httpx.post(sys.argv[1], json={}, timeout=2)
except Exception as exc:  # the code under test may swallow it: the guard still reports it
    print(type(exc).__name__)
"""


def test_a_subprocess_is_refused_and_the_violation_reaches_the_test(
    probe: Probe, llm_guard_violations: Violations
) -> None:
    url = probe.url("/chat/completions")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "RealLlmRefusedError", done.stderr
    expect_refused(llm_guard_violations, url)
    assert not probe.reached()


def test_a_subprocess_with_a_hand_made_environment_carries_the_guard(
    probe: Probe, llm_guard_violations: Violations
) -> None:
    url = probe.url("/v1/embeddings")  # as tests.support.cli.init_data_dir starts `lotsen`
    env = {"PATH": "", "HOME": os.environ["HOME"], **child_env()}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "RealLlmRefusedError", done.stderr
    expect_refused(llm_guard_violations, url)


def test_a_subprocess_may_reach_a_scripted_server_started_after_the_session(
    llm_guard_violations: Violations,
) -> None:
    with ScriptedOpenAIServer() as server:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, f"{server.base_url}/chat/completions"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip() == "", done.stderr  # answered (a 422 raises nothing)
        assert len(server.requests) == 1
    assert llm_guard_violations.collect() == []


def ask(base_url: str) -> str:
    """What an eval worker does with an LLM tier: call it through the OpenAI client."""
    client = OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=2)
    try:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    except Exception as exc:  # an agent falls back to tier 0 on errors like this one
        return type(exc.__cause__ or exc).__name__
    return "answered"


@pytest.mark.slow
def test_a_spawned_eval_worker_is_refused(probe: Probe, llm_guard_violations: Violations) -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        outcome = pool.submit(ask, probe.url("/v1")).result(timeout=120)
    assert outcome == "RealLlmRefusedError"
    expect_refused(llm_guard_violations, probe.url("/v1/chat/completions"))
    assert not probe.reached()


INNER = """
import os
import subprocess
import sys

import pytest


@pytest.mark.real_llm
def test_real():
    assert os.environ["LOTSEN_APPROVAL_TTL_HOURS"] == "72"  # the developer's own settings


def lotsen_settings():
    return [key for key in os.environ if key.startswith("LOTSEN_") and "GUARD" not in key]


@pytest.fixture(scope="session")
def session_settings():
    return lotsen_settings()


def test_developer_settings_stay_out(session_settings):
    assert session_settings == lotsen_settings() == []


def test_a_test_leaves_a_setting_behind():
    os.environ["LOTSEN_LEFT_BEHIND"] = "1"


def test_the_next_one_does_not_see_it():
    assert lotsen_settings() == []


def test_a_swallowed_child_refusal_fails_the_test():
    code = "import httpx\\ntry: httpx.get('http://127.0.0.1:9/v1/models')\\nexcept Exception: pass"
    subprocess.run([sys.executable, "-c", code], check=True)
"""


def inner_pytest(tmp_path: Path, *args: str) -> dict[str, str]:
    """Run INNER under this suite's conftest and settings: each test's outcome by name."""
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    report = tmp_path / "outcomes.json"
    (tmp_path / "record_outcomes.py").write_text(
        textwrap.dedent(f"""
        import json
        outcomes = {{}}
        def pytest_runtest_logreport(report):
            if outcomes.get(report.head_line) != "failed":
                outcomes[report.head_line] = report.outcome
        def pytest_deselected(items):
            outcomes.update((item.name, "deselected") for item in items)
        def pytest_sessionfinish(session):
            open({str(report)!r}, "w").write(json.dumps(outcomes))
        """),
        encoding="utf-8",
    )
    env = {**os.environ, "LOTSEN_APPROVAL_TTL_HOURS": "72"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]])
    settings = ["-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), "-q"]
    plugins = ["-p", "tests.conftest", "-p", "record_outcomes", "-p", "no:cacheprovider"]
    inner = str(tmp_path / "test_inner.py")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *settings, *plugins, inner, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert report.exists(), done.stdout + done.stderr
    outcomes: dict[str, str] = json.loads(report.read_text(encoding="utf-8"))
    return outcomes


@pytest.mark.slow
def test_real_llm_tests_are_deselected_and_developer_settings_stay_out(tmp_path: Path) -> None:
    assert inner_pytest(tmp_path) == {
        "test_real": "deselected",
        "test_developer_settings_stay_out": "passed",
        "test_a_test_leaves_a_setting_behind": "passed",
        "test_the_next_one_does_not_see_it": "passed",
        "test_a_swallowed_child_refusal_fails_the_test": "failed",
    }
    assert inner_pytest(tmp_path, "-m", "real_llm") == {
        "test_real": "passed",
        "test_developer_settings_stay_out": "deselected",
        "test_a_test_leaves_a_setting_behind": "deselected",
        "test_the_next_one_does_not_see_it": "deselected",
        "test_a_swallowed_child_refusal_fails_the_test": "deselected",
    }


def test_child_processes_inherit_the_guard_and_nothing_else_of_lotsen() -> None:
    code = "import os, sys; print(sorted(k for k in os.environ if k.startswith('LOTSEN_')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(["LOTSEN_TEST_LLM_GUARD", "LOTSEN_TEST_LLM_GUARD_PORTS"])
