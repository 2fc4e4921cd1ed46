"""ASGI middleware: HTTP latency for /metrics, and the anonymous CSRF cookie.

Pure ASGI (not BaseHTTPMiddleware) so that streamed responses (SSE chat) pass untouched.
"""

import time
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lotsen.service import metrics
from lotsen.service.auth import CSRF_COOKIE


class ServiceMiddleware:
    """Times every HTTP request and sets the CSRF cookie a page created."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool) -> None:
        """Wrap `app`."""
        self.app = app
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                fresh = scope.get("state", {}).get("new_csrf_cookie")
                if isinstance(fresh, str):
                    message["headers"] = [*message.get("headers", []), self._cookie(fresh)]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe_request(scope["method"], _template(scope), status, elapsed)

    def _cookie(self, value: str) -> tuple[bytes, bytes]:
        cookie: SimpleCookie = SimpleCookie()
        cookie[CSRF_COOKIE] = value
        morsel = cookie[CSRF_COOKIE]
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "strict"
        if self.secure:
            morsel["secure"] = True
        return b"set-cookie", morsel.OutputString().encode("latin-1")


def _template(scope: Scope) -> str:
    """The matched route as a template (`/api/v1/incidents/{incident_id}`), bounded labels.

    FastAPI includes routers lazily (the matched route's own path lacks the prefixes), so
    the template is rebuilt from the request path and its path parameters.
    """
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in scope.get("path_params", {}).items()}
    parts = [f"{{{params[p]}}}" if p in params else p for p in str(scope["path"]).split("/")]
    return "/".join(parts)
