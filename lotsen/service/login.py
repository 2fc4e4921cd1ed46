"""`GET/POST /login` and `POST /logout`: password login to a server-side session."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lotsen.service.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    auth_state,
    csrf_token,
    verify_csrf,
)
from tools.errors import ConfigError

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(tags=["login"], include_in_schema=False)
FAILED = "unknown user or wrong password"


def safe_next(target: str | None) -> str:
    """A local path to go to after login (anything else: the home page)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _page(request: Request, next_url: str, error: str = "", status: int = 200) -> Response:
    context = {"csrf_token": csrf_token(request), "next": next_url, "error": error}
    return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=status)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    """The login form."""
    return _page(request, safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password (rate limited) and open a session."""
    verify_csrf(request, csrf_token)
    auth = auth_state(request)
    target = safe_next(next)
    client = request.client.host if request.client else "unknown"
    keys = (f"user:{username.strip().casefold()}", f"addr:{client}")
    if auth.limiter.blocked(*keys):
        return _page(request, target, "too many failed logins: wait a few minutes", 429)
    try:
        user = auth.directory().get(username)
    except ConfigError:
        user = None
    if user is None or not _password_ok(user.check_password, password):
        auth.limiter.failed(*keys)
        return _page(request, target, FAILED, 401)
    auth.limiter.succeeded(*keys)
    session = auth.sessions.create(user.name)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=int(auth.sessions.ttl_s),
        httponly=True,
        samesite="strict",
        secure=auth.cookie_secure(),
    )
    response.delete_cookie(CSRF_COOKIE)
    return response


def _password_ok(check: Callable[[str], bool], password: str) -> bool:
    try:
        return check(password)
    except ConfigError:  # too short or too long for bcrypt: simply wrong
        return False


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (CSRF token as form field `csrf_token` or header `X-CSRF-Token`)."""
    form = await request.form()
    token = str(form.get("csrf_token") or request.headers.get("X-CSRF-Token", ""))
    verify_csrf(request, token)
    auth = auth_state(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        auth.sessions.drop(session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
