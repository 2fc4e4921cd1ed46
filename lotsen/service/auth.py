"""Who is calling: API tokens, login sessions, a trusted proxy header; roles and CSRF.

The identity that approvals and audit records carry comes from here, never from a request
field. Three ways in, tried in order:

1. `Authorization: Bearer lotsen_...`: an API token (`lotsen users token NAME`), stored
   hashed in the users file. Not a cookie, so no CSRF check applies.
2. The trusted header (LOTSEN_SERVE_TRUSTED_HEADER, off by default), believed only from the
   addresses in LOTSEN_SERVE_TRUSTED_PROXIES (an OIDC proxy in front of Lotsen).
3. The session cookie set by `POST /login` (HttpOnly, SameSite=Strict, Secure unless
   LOTSEN_SERVE_INSECURE_COOKIES).

Every user must be listed in the users file; their roles are read from it on each request,
so removing a user or a role takes effect at once. Console pages use
`current_principal_or_redirect` (a 303 to `/login?next=...` instead of a 401).

CSRF: every unsafe request authenticated by a cookie or the proxy header must carry the
session's token, as the form field `csrf_token` (forms: call `verify_csrf`) or the header
`X-CSRF-Token` (the API checks it itself; htmx sends it with `hx-headers`).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from fastapi import HTTPException, Request

from lotsen.service.sessions import LoginLimiter, Session, SessionStore
from memory.users import ROLES, User, UserDirectory, grants
from tools.errors import ConfigError
from world.settings import Settings

SESSION_COOKIE = "lotsen_session"
CSRF_COOKIE = "lotsen_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Via = Literal["token", "header", "session"]


@dataclass(frozen=True)
class Principal:
    """An authenticated user."""

    name: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        """Whether the user's roles grant `role` (admin: all; operator, approver: viewer)."""
        return grants(self.roles, role)


class AuthState:
    """The app's authentication state: users file, sessions, login limiter, secret."""

    def __init__(self, settings: Settings, users_path: Path) -> None:
        """Start with no sessions; the users file is (re)read when it changes."""
        self.settings = settings
        self.users_path = users_path
        self.sessions = SessionStore(ttl_s=settings.serve_session_hours * 3600)
        self.limiter = LoginLimiter(attempts=settings.serve_login_attempts)
        self.secret = secrets.token_bytes(32)
        self._directory: UserDirectory | None = None
        self._stamp: tuple[int, int] | None = None

    def directory(self) -> UserDirectory:
        """The users file as it is now (re-read after `lotsen users ...` changed it)."""
        try:
            st = self.users_path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._directory is None or stamp != self._stamp:
            self._directory = UserDirectory(self.users_path)
            self._stamp = stamp
        return self._directory

    def principal(self, user: User) -> Principal:
        """The principal of a listed user."""
        return Principal(name=user.name, roles=frozenset(user.roles))

    def cookie_secure(self) -> bool:
        """Whether cookies carry `Secure`."""
        return not self.settings.serve_insecure_cookies


def auth_state(request: Request) -> AuthState:
    """The app's AuthState."""
    state = request.app.state.auth
    assert isinstance(state, AuthState)
    return state


def current_principal(request: Request) -> Principal:
    """The caller (FastAPI dependency).

    Raises:
        HTTPException: 401 without valid credentials or with an expired session.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    auth = auth_state(request)
    principal, via = _authenticate(request, auth)
    request.state.principal = principal
    request.state.auth_via = via
    return principal


def _authenticate(request: Request, auth: AuthState) -> tuple[Principal, Via]:
    directory = auth.directory()
    bearer = request.headers.get("authorization", "")
    if bearer:
        scheme, _, token = bearer.partition(" ")
        user = directory.by_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise _unauthorised("invalid API token (issue one with `lotsen users token NAME`)")
        return auth.principal(user), "token"
    header = auth.settings.serve_trusted_header
    client = request.client.host if request.client else ""
    if header and client in auth.settings.serve_trusted_proxies and header in request.headers:
        user = _listed(directory, request.headers[header])
        if user is None:
            raise HTTPException(403, f"{request.headers[header]!r} is not a Lotsen user")
        return auth.principal(user), "header"
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        session = auth.sessions.get(session_id)
        if session is None:
            raise _unauthorised("session expired or logged out; log in again at /login")
        user = _listed(directory, session.name)
        if user is None:
            raise _unauthorised(f"{session.name} is no longer a Lotsen user")
        request.state.session = session
        return auth.principal(user), "session"
    raise _unauthorised("authentication required: log in at /login or send a bearer API token")


def _listed(directory: UserDirectory, name: str) -> User | None:
    try:
        return directory.get(name)
    except ConfigError:  # a malformed name is nobody
        return None


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def require_role(role: str) -> "RoleCheck":
    """A dependency that yields the caller if their roles grant `role` (else 403).

    It checks no CSRF token: the API router does that for all its routes
    (`require_api_csrf`); a console form handler must call `verify_csrf(request,
    form["csrf_token"])` itself before acting.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return RoleCheck(role)


class RoleCheck:
    """The dependency `require_role` returns."""

    def __init__(self, role: str) -> None:
        """Check for `role`."""
        self.role = role

    def __call__(self, request: Request) -> Principal:
        """The caller, if allowed.

        Raises:
            HTTPException: 401 unauthenticated, 403 lacking the role.
        """
        principal = current_principal(request)
        if not principal.has(self.role):
            roles = ", ".join(sorted(principal.roles)) or "no role"
            raise HTTPException(403, f"{principal.name} ({roles}) may not act as {self.role}")
        return principal


def require_api_csrf(request: Request) -> None:
    """API dependency: an unsafe cookie/proxy-authenticated request needs `X-CSRF-Token`.

    Raises:
        HTTPException: 403 on a missing or wrong token.
    """
    if request.method in SAFE_METHODS:
        return
    current_principal(request)
    if getattr(request.state, "auth_via", None) == "token":
        return
    verify_csrf(request, request.headers.get(CSRF_HEADER, ""))


def csrf_token(request: Request) -> str:
    """The CSRF token forms of this request's page must carry (field `csrf_token`).

    Logged in: the session's token. Behind the trusted proxy: one derived from the user.
    Anonymous (the login form): a random token also set as a cookie (double submit).
    """
    auth = auth_state(request)
    expected = _expected_csrf(request, auth)
    if expected is not None:
        return expected
    fresh = secrets.token_urlsafe(32)
    request.state.new_csrf_cookie = fresh
    return fresh


def verify_csrf(request: Request, token: str) -> None:
    """Check a submitted CSRF token.

    Raises:
        HTTPException: 403 when missing or not this session's.
    """
    expected = _expected_csrf(request, auth_state(request))
    if not token or expected is None or not hmac.compare_digest(token, expected):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")


def _expected_csrf(request: Request, auth: AuthState) -> str | None:
    session = _session_of(request, auth)
    if session is not None:
        return session.csrf
    principal = getattr(request.state, "principal", None)
    if getattr(request.state, "auth_via", None) == "header" and isinstance(principal, Principal):
        return hmac.new(auth.secret, principal.name.encode(), hashlib.sha256).hexdigest()
    pending = getattr(request.state, "new_csrf_cookie", None)
    if isinstance(pending, str):
        return pending
    return request.cookies.get(CSRF_COOKIE) or None


def _session_of(request: Request, auth: AuthState) -> Session | None:
    cached = getattr(request.state, "session", None)
    if isinstance(cached, Session):
        return cached
    session_id = request.cookies.get(SESSION_COOKIE)
    return auth.sessions.get(session_id) if session_id else None


def current_principal_or_redirect(request: Request) -> Principal:
    """Like `current_principal`, for browser pages: unauthenticated -> 303 to the login page.

    Raises:
        HTTPException: 303 with `Location: /login?next=<this page>`.
    """
    try:
        return current_principal(request)
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}"
        raise HTTPException(303, "log in first", headers={"Location": location}) from None
