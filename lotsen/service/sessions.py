"""Server-side login sessions and the login rate limiter (in memory, one per app).

Sessions live in the serving process: a restart logs everyone out, which is the safe
direction. A session id is 256 random bits; the cookie carries only the id.
"""

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

LOGIN_WINDOW_S = 300.0
"""Failed logins are counted over this many seconds."""


@dataclass(frozen=True)
class Session:
    """One logged-in browser."""

    id: str
    name: str
    """The user's canonical name."""
    csrf: str
    """The token every form POST of this session must carry."""
    expires: float
    """Epoch seconds."""


@dataclass
class SessionStore:
    """Sessions by id, expiring after `ttl_s` (the clock is injectable for tests)."""

    ttl_s: float
    now: Callable[[], float] = time.time
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, name: str) -> Session:
        """Open a session for `name`."""
        session = Session(
            id=secrets.token_urlsafe(32),
            name=name,
            csrf=secrets.token_urlsafe(32),
            expires=self.now() + self.ttl_s,
        )
        with self._lock:
            self._drop_expired()
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session of that id (None: unknown, logged out or expired)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= self.now():
                del self._sessions[session_id]
                return None
            return session

    def drop(self, session_id: str) -> None:
        """Log a session out (unknown ids are ignored)."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def _drop_expired(self) -> None:
        now = self.now()
        for sid in [sid for sid, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[sid]


@dataclass
class LoginLimiter:
    """At most `attempts` failed logins per key (user name, client address) per window."""

    attempts: int
    window_s: float = LOGIN_WINDOW_S
    now: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked(self, *keys: str) -> bool:
        """Whether any key has used up its failed attempts."""
        with self._lock:
            return any(len(self._recent(key)) >= self.attempts for key in keys)

    def failed(self, *keys: str) -> None:
        """Count one failed login against every key."""
        with self._lock:
            for key in keys:
                self._recent(key).append(self.now())

    def succeeded(self, *keys: str) -> None:
        """A good login clears the keys' failures."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        horizon = self.now() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return times
