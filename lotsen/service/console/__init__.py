"""The web console: server-rendered pages (Jinja2 + htmx) on the same app as the API.

`router` is included by `lotsen.service.app.create_app`. Pages live under `/console`;
`/` sends a browser there. Every asset is served from `static/` (no CDN, works offline).
"""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from lotsen.service.console import actions, chat, pages, static
from lotsen.service.console.web import PREFIX

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> Response:
    """A browser opening the server lands on the console."""
    return RedirectResponse(f"{PREFIX}/chat", status_code=303)


for _module in (pages, actions, chat, static):
    router.include_router(_module.router)

__all__ = ["router"]
