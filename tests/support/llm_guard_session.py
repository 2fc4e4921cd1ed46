"""The test process's side of the LLM guard: allowed ports, the child log, the environment.

`SessionGuard.start` guards the test process itself, publishes the allowed ports (scripted
servers and closed ports, kept current as they come and go) to a file, and sets up the
environment every child inherits: `guard_boot` on PYTHONPATH and the two guard variables.
It also takes the developer's `LOTSEN_*` variables out of the environment (kept for
`real_llm` tests), so no setting of theirs reaches a test or a process a test starts.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import llm.doubles
import llm.doubles.openai_server
from tests.support.llm_guard import (
    BOOT_DIR,
    LOG_ENV,
    PORTS_ENV,
    Guard,
    append_line,
    install,
    uninstall,
    write_ports,
)

GUARD_ENV_PREFIX = "LOTSEN_TEST_LLM_GUARD"
"""Variables of the guard itself: the only `LOTSEN_*` ones a test sees."""


class Violations(list[str]):
    """Real-LLM requests a test attempted: its own at once, its children's on `collect()`."""

    def __init__(self, session: "SessionGuard") -> None:
        super().__init__()
        self._session = session

    def collect(self) -> "Violations":
        """Add the requests child processes were refused since the last collect; return self."""
        self.extend(self._session.child_violations())
        return self


class _MirroredPorts(set[int]):
    """A port set that rewrites the allowed-ports file on `add` and `discard` (all the
    scripted server and `closed_port` use)."""

    def __init__(self, session: "SessionGuard", ports: Iterable[int] = ()) -> None:
        super().__init__(ports)
        self._session = session

    def add(self, port: int) -> None:
        super().add(port)
        self._session.publish()

    def discard(self, port: object) -> None:
        super().discard(port)
        self._session.publish()


class SessionGuard:
    """One per test session; see the module docstring."""

    def __init__(self, workdir: Path) -> None:
        """Keep the guard's files in `workdir` (removed by `stop`)."""
        self.workdir = workdir
        self.log = workdir / "violations.log"
        self.ports_file = workdir / "allowed_ports"
        self.scripted = _MirroredPorts(self, llm.doubles.openai_server.SCRIPTED_PORTS)
        self.closed = _MirroredPorts(self)
        self.current: Violations | None = None
        """The running test's violations; None between tests (they go to the log then)."""
        self.developer_env: dict[str, str] = {}
        """The `LOTSEN_*` variables the session started with (given back to real_llm tests)."""
        self._read = 0
        self.guard = Guard(lambda: self.scripted | self.closed, self._record)

    @classmethod
    def start(cls) -> "SessionGuard":
        """Guard this process and every process started from now on."""
        session = cls(Path(tempfile.mkdtemp(prefix="lotsen-llm-guard-")))
        # ScriptedOpenAIServer registers its port in this set: make it publish the change.
        llm.doubles.openai_server.SCRIPTED_PORTS = session.scripted
        llm.doubles.SCRIPTED_PORTS = session.scripted
        session.publish()
        session.log.touch()
        outer = sys.modules.get("lotsen_test_llm_guard")  # this session runs inside a test
        if outer is not None:
            outer.disable()
        install(session.guard)
        for key in [k for k in os.environ if k.startswith("LOTSEN_")]:
            session.developer_env[key] = os.environ.pop(key)
        os.environ[LOG_ENV] = str(session.log)
        os.environ[PORTS_ENV] = str(session.ports_file)
        path = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join([str(BOOT_DIR), *([path] if path else [])])
        return session

    def stop(self) -> list[str]:
        """Remove the guard's files; return the child violations nobody collected."""
        left = self.child_violations()
        uninstall(self.guard)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return left

    def publish(self) -> None:
        """Write the allowed ports for child processes."""
        write_ports(self.ports_file, self.scripted | self.closed)

    def child_violations(self) -> list[str]:
        """Lines child processes added to the log since the last call."""
        with self.log.open("rb") as log:
            log.seek(self._read)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        self._read += len(complete)
        return complete.decode().splitlines()

    @contextmanager
    def closed_port(self, port: int) -> Iterator[int]:
        """Allow LLM requests to `port` (nothing listens there) while the block runs."""
        self.closed.add(port)
        try:
            yield port
        finally:
            self.closed.discard(port)

    def _record(self, url: str) -> None:
        if self.current is not None:
            self.current.append(url)
        else:  # a session fixture, between tests: the next test to finish reports it
            append_line(self.log, url)
