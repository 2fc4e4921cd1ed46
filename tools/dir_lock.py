"""The data directory's lock: commands share it; re-seeding, backup and restore hold it alone.

Every process that opens a world holds the lock shared (`flock` on `<data_dir>/.lotsen.lock`,
released by the kernel when the process ends, even when it is killed). `fleet init`,
`state backup` and `state restore` take it exclusive, so they never run beside another
command. A process that cannot get the lock waits up to a bounded time, then fails naming
the processes that hold it. Within one process the lock is reentrant: a command that holds
it exclusive may open a world (shared) without waiting for itself.
"""

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.errors import ConflictError

LOCK_NAME = ".lotsen.lock"
DEFAULT_WAIT_S = 30.0


@dataclass
class _Held:
    fd: int
    shared: int = 0
    exclusive: int = 0


_HELD: dict[Path, _Held] = {}
_MUTEX = threading.Lock()


def acquire_shared(data_dir: Path, wait_s: float = DEFAULT_WAIT_S) -> None:
    """Hold the data dir's lock shared (reentrant; pair each call with `release_shared`).

    Raises:
        ConflictError: another process held it exclusive for longer than `wait_s`.
    """
    with _MUTEX:
        held = _entry(data_dir)
        if held.shared == 0 and held.exclusive == 0:
            _flock(held.fd, fcntl.LOCK_SH, data_dir, wait_s, "open it")
        held.shared += 1


def release_shared(data_dir: Path) -> None:
    """Give back one shared hold."""
    with _MUTEX:
        held = _HELD.get(_key(data_dir))
        if held is None or held.shared == 0:
            return
        held.shared -= 1
        _settle(data_dir, held)


@contextmanager
def exclusive(data_dir: Path, what: str, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
    """Hold the data dir's lock alone while the block runs.

    Args:
        data_dir: The data directory.
        what: What needs it (for the error message), e.g. "re-seed the fleet".
        wait_s: How long to wait for other commands to finish.

    Raises:
        ConflictError: other processes still held it after `wait_s`.
    """
    with _MUTEX:
        held = _entry(data_dir)
        if held.exclusive == 0:
            _flock(held.fd, fcntl.LOCK_EX, data_dir, wait_s, what)
        held.exclusive += 1
    try:
        yield
    finally:
        with _MUTEX:
            held.exclusive -= 1
            _settle(data_dir, held)


def _key(data_dir: Path) -> Path:
    return data_dir.resolve()


def _entry(data_dir: Path) -> _Held:
    key = _key(data_dir)
    held = _HELD.get(key)
    if held is None:
        key.mkdir(parents=True, exist_ok=True)
        fd = os.open(key / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        held = _HELD[key] = _Held(fd)
    return held


def _settle(data_dir: Path, held: _Held) -> None:
    """Downgrade or drop the kernel lock to match what this process still holds."""
    if held.exclusive:
        return
    if held.shared:
        fcntl.flock(held.fd, fcntl.LOCK_SH)
        return
    fcntl.flock(held.fd, fcntl.LOCK_UN)
    os.close(held.fd)
    del _HELD[_key(data_dir)]


def _flock(fd: int, mode: int, data_dir: Path, wait_s: float, what: str) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"cannot {what}: {data_dir} is in use by {holders(data_dir)} "
                    f"(waited {wait_s:.0f} s); let it finish, then retry"
                ) from None
            time.sleep(0.1)
        else:
            return


def holders(data_dir: Path) -> str:
    """The processes holding the data dir's lock, as `PID n (command)`, from /proc/locks."""
    try:
        inode = (data_dir / LOCK_NAME).stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "another Lotsen process"
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[5].rsplit(":", 1)[-1] == str(inode):
            pid = fields[4]
            if pid != str(os.getpid()):
                found.append(f"PID {pid} ({_command(pid)})")
    return ", ".join(dict.fromkeys(found)) or "another Lotsen process"


def _command(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "ended"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    lotsen = [w for w in words if "lotsen" in w.rsplit("/", 1)[-1]]
    start = words.index(lotsen[0]) if lotsen else 0
    return " ".join(["lotsen", *words[start + 1 :]] if lotsen else words)[:120]
