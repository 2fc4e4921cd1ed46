"""What every console page shares: templates, the logged-in user, the world, errors."""

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from lotsen.service.auth import Principal, csrf_token, current_principal_or_redirect
from lotsen.service.console.svg import histogram_svg

HERE = Path(__file__).parent
PREFIX = "/console"
NAV = (
    ("chat", "Chat"),
    ("incidents", "Incidents"),
    ("approvals", "Approvals"),
    ("fleet", "Fleet"),
    ("pools", "GPU pools"),
    ("compliance", "Compliance"),
    ("evals", "Evals"),
)
ROLE_ORDER = ("admin", "approver", "operator", "viewer")


@cache
def templates() -> Jinja2Templates:
    """The console's Jinja2 templates (autoescaped), loaded on first use."""
    t = Jinja2Templates(directory=HERE / "templates")
    t.env.globals["nav"] = NAV
    t.env.globals["prefix"] = PREFIX
    t.env.filters["histogram_svg"] = histogram_svg
    t.env.filters["pct"] = pct
    return t


def pct(value: float | None) -> str:
    """A share as a percentage (`-` when unknown)."""
    return "-" if value is None else f"{value:.0%}"


def principal_of(request: Request) -> Principal:
    """The logged-in user (else a 303 to the login page)."""
    return current_principal_or_redirect(request)


def role_label(principal: Principal) -> str:
    """The user's roles, strongest first."""
    return ", ".join(r for r in ROLE_ORDER if r in principal.roles) or "no role"


def render(
    request: Request,
    principal: Principal,
    template: str,
    active: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """A full page (or, for htmx, only what it asked for) with the nav bar's context."""
    base = {
        "user": principal,
        "roles": role_label(principal),
        "csrf_token": csrf_token(request),
        "active": active,
    }
    return templates().TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def error_page(request: Request, principal: Principal, status: int, message: str) -> Response:
    """A console page that says what went wrong in one line (no stack trace)."""
    return render(request, principal, "error.html", "", status_code=status, message=message)


__all__ = ["HTMLResponse", "error_page", "principal_of", "render", "templates"]
