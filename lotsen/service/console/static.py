"""The console's own assets (htmx, the stylesheet, the chat script), served locally."""

from functools import cache

from fastapi import APIRouter
from fastapi.responses import Response

from lotsen.service.console.web import HERE, PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
TYPES = {
    "htmx.min.js": "text/javascript; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


@cache
def _asset(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


@router.get("/static/{name}")
def asset(name: str) -> Response:
    """One asset by name (only the listed files; anything else is 404)."""
    media = TYPES.get(name)
    if media is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        _asset(name), media_type=media, headers={"Cache-Control": "public, max-age=3600"}
    )
