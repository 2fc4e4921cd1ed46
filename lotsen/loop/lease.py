"""The leader lease: exactly one operating loop acts at a time.

On the embedded store the lease is an exclusive `flock` on a dedicated file,
`<data_dir>/.lotsen-loop.lease` (not the data dir's own lock, which every command holds
shared). With the state in PostgreSQL (`LOTSEN_CHECKPOINT_URL`) it is a session-level
advisory lock on a connection of its own. Either way the holder's death releases it at
once (the kernel closes the file; the server ends the dead client's session), so a waiting
replica takes over on its next try.
"""

import fcntl
import hashlib
import os
import socket
from pathlib import Path
from typing import Any, Protocol

from tools.errors import BackendUnavailableError, ConfigError
from world.settings import Settings

LEASE_FILE = ".lotsen-loop.lease"
LEASE_NAME = "lotsen.operating-loop"


def advisory_key(name: str = LEASE_NAME) -> int:
    """A stable signed 64-bit advisory-lock key for a lease name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def holder_id() -> str:
    """Who this process is, as recorded by the lease and the loop: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease(Protocol):
    """A lock that at most one process holds."""

    def acquire(self) -> bool:
        """Take the lease if it is free (never waits); True when held now."""
        ...

    def held(self) -> bool:
        """Whether this process still holds it (False once lost, e.g. the database went)."""
        ...

    def release(self) -> None:
        """Give it back (idempotent)."""
        ...

    def describe(self) -> str:
        """Where the lease lives, for messages."""
        ...


class FileLease:
    """An exclusive `flock` on a dedicated lease file; the file names the holder."""

    def __init__(self, path: Path) -> None:
        """Use `path` (created on first acquire)."""
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; write `host:pid` into the file when taken."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_id().encode() + b"\n", 0)
        self._fd = fd
        return True

    def held(self) -> bool:
        """Held since acquired: a flock is only lost with the process."""
        return self._fd is not None

    def release(self) -> None:
        """Unlock and close."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def describe(self) -> str:
        """The lease file and who last held it."""
        try:
            last = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            last = ""
        return f"{self.path}" + (f" (last holder {last})" if last else "")


class PostgresLease:
    """A session-level PostgreSQL advisory lock on a dedicated connection."""

    def __init__(self, url: str, key: int | None = None) -> None:
        """Use the database at `url`; `key` defaults to the loop's advisory key."""
        self._url = url
        self.key = advisory_key() if key is None else key
        self._conn: Any = None

    def acquire(self) -> bool:
        """`pg_try_advisory_lock` on a fresh connection (kept while held)."""
        if self.held():
            return True
        self.release()  # a lost connection: start afresh
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError(
                "LOTSEN_CHECKPOINT_URL needs the postgres extra: pip install 'lotsen[postgres]'"
            ) from exc
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            first = str(exc).splitlines()[0]
            raise BackendUnavailableError(f"cannot reach the lease database: {first}") from exc
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """True while the lock's connection answers (the lock lives as long as it)."""
        if self._conn is None:
            return False
        import psycopg

        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Unlock (closing the connection releases it too)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        import psycopg

        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error:
            pass  # the connection is gone, and the lock with it
        finally:
            conn.close()

    def describe(self) -> str:
        """The advisory key (the URL may hold a password: not shown)."""
        return f"PostgreSQL advisory lock {self.key}"


def lease_for(settings: Settings) -> Lease:
    """PostgreSQL's advisory lock when the state is there, else the data dir's lease file."""
    if settings.checkpoint_url is not None:
        return PostgresLease(settings.checkpoint_url.get_secret_value())
    return FileLease(settings.data_dir / LEASE_FILE)
