"""The "no real LLM" guard, for the test process and every process the tests start.

Any OpenAI-style request (a path ending in chat/completions, completions, embeddings, models
or responses, behind any prefix: `/v1/...`, `/openai/deployments/x/...`, none) is refused
unless it goes to a loopback port of a running scripted server or a deliberately closed port.
The guard patches the httpx transports (and the httpx2 fork openai 3.x uses) and
`http.client` (urllib, urllib3, requests), each when it is first imported, so a process that
never makes HTTP requests pays nothing.

Child processes: the test session puts `tests/support/guard_boot` on PYTHONPATH and sets
`LOTSEN_TEST_LLM_GUARD` (the violations log) and `LOTSEN_TEST_LLM_GUARD_PORTS` (the allowed
ports, kept current by the test process). Every Python process started with that environment
(subprocess CLI runs, multiprocessing 'spawn' workers) runs `guard_boot/sitecustomize.py`,
which calls `install_from_env`; refused requests are appended to the log, which the test
process reads. Stdlib only: this module is loaded by file path before anything else.
"""

import importlib.abc
import importlib.machinery
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

LOG_ENV = "LOTSEN_TEST_LLM_GUARD"
"""Path of the violations log a guarded child process appends to (one URL a line)."""
PORTS_ENV = "LOTSEN_TEST_LLM_GUARD_PORTS"
"""Path of the file listing the allowed loopback ports (one a line)."""
BOOT_DIR = Path(__file__).with_name("guard_boot")
"""Directory with the `sitecustomize.py` that guards a child process (put on PYTHONPATH)."""

LLM_PATH = re.compile(r"(?:^|/)(?:chat/completions|completions|embeddings|models|responses)/?$")
_LOOPBACK = ("127.", "::1", "[::1]", "localhost")


class RealLlmRefusedError(RuntimeError):
    """A test (or a process it started) tried to reach a real LLM endpoint."""


class Guard:
    """Decides whether a request may go out; records and refuses the ones that may not."""

    def __init__(self, allowed: Callable[[], set[int]], record: Callable[[str], None]) -> None:
        """Refuse LLM requests to ports outside `allowed()`; report each with `record`."""
        self.allowed = allowed
        self.record = record
        self.enabled = True

    def check(self, host: str | None, port: int | None, path: str, url: str) -> None:
        """Raise `RealLlmRefusedError` (after recording `url`) for a forbidden LLM request."""
        if not self.enabled or not LLM_PATH.search(path):
            return
        if (host or "").startswith(_LOOPBACK) and port in self.allowed():
            return
        self.record(url)
        raise RealLlmRefusedError(f"test tried to reach a real LLM at {url}")


_GUARD: list[Guard] = []


def _check(host: str | None, port: int | None, path: str, url: str) -> None:
    for guard in _GUARD:
        guard.check(host, port, path, url)


def _patch_httpx(module: ModuleType) -> None:
    sync, async_ = module.HTTPTransport, module.AsyncHTTPTransport
    handle, handle_async = sync.handle_request, async_.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        url = request.url
        _check(url.host, url.port, url.path, str(url))
        return handle(self, request)

    async def handle_async_request(self: Any, request: Any) -> Any:
        url = request.url
        _check(url.host, url.port, url.path, str(url))
        return await handle_async(self, request)

    sync.handle_request = handle_request
    async_.handle_async_request = handle_async_request


def _patch_http_client(module: ModuleType) -> None:
    connection = module.HTTPConnection
    putrequest = connection.putrequest

    def guarded_putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        host, port = (parts.hostname, parts.port) if parts.netloc else (self.host, self.port)
        scheme = "https" if isinstance(self, module.HTTPSConnection) else "http"
        full = url if parts.netloc else f"{scheme}://{self.host}:{self.port}{url}"
        _check(host, port, parts.path, full)
        return putrequest(self, method, url, *args, **kwargs)

    connection.putrequest = guarded_putrequest


_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "httpx": _patch_httpx,
    "httpx2": _patch_httpx,
    "http.client": _patch_http_client,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches an HTTP library right after it is first imported."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            # Another guard's finder (this module loaded twice: by a child's sitecustomize
            # and by the tests, as in an xdist worker) would ask this one back, forever.
            if type(finder).__name__ == type(self).__name__ or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and isinstance(spec.loader, importlib.abc.Loader):
                spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, patch: Callable[[ModuleType], None]) -> None:
        self.loader = loader
        self.patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.patch(module)


_PATCHED: list[bool] = []
"""Non-empty once the HTTP libraries are patched (a process patches them once)."""


def install(guard: Guard) -> None:
    """Guard this process: patch the HTTP libraries now or when they are first imported."""
    if _GUARD:
        raise RuntimeError("the LLM guard is already installed in this process")
    _GUARD.append(guard)
    if _PATCHED:  # a later test session in the same process (e.g. mutmut's runs)
        return
    _PATCHED.append(True)
    for name, patch in _PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchOnImport())


def uninstall(guard: Guard) -> None:
    """Stop checking with `guard` (its session ended); the patches stay, checking nothing."""
    if guard in _GUARD:
        _GUARD.remove(guard)


def disable() -> None:
    """Switch off the guards installed in this process (a nested test session takes over)."""
    for guard in _GUARD:
        guard.enabled = False


def append_line(path: Path, line: str) -> None:
    """Append one line to `path` in a single write (safe across processes)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def read_ports(path: Path) -> set[int]:
    """The ports listed in `path` (none when it does not exist)."""
    try:
        return {int(line) for line in path.read_text(encoding="utf-8").split()}
    except FileNotFoundError:
        return set()


def write_ports(path: Path, ports: Iterable[int]) -> None:
    """Replace the allowed-ports file atomically (readers never see half of it)."""
    staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    staging.write_text("".join(f"{port}\n" for port in sorted(ports)), encoding="utf-8")
    staging.replace(path)


def child_env() -> dict[str, str]:
    """What a child started with a hand-made environment needs to be guarded too."""
    return {k: os.environ[k] for k in (LOG_ENV, PORTS_ENV, "PYTHONPATH") if k in os.environ}


def install_from_env() -> None:
    """Guard a child process as the test process's environment says (see the module doc)."""
    log, ports = os.environ.get(LOG_ENV), os.environ.get(PORTS_ENV)
    if not log or not ports or _GUARD:
        return
    log_path, ports_path = Path(log), Path(ports)

    def allowed() -> set[int]:
        own = sys.modules.get("llm.doubles.openai_server")  # a server this process started
        return read_ports(ports_path) | set(getattr(own, "SCRIPTED_PORTS", ()))

    install(Guard(allowed, lambda url: append_line(log_path, url)))
