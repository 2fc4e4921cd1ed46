"""Error responses: one clear JSON message, the right status, never a stack trace."""

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tools.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    LotsenError,
    NotFoundError,
    StateError,
)

log = logging.getLogger(__name__)


def status_of(exc: LotsenError) -> int:
    """The HTTP status of a user-facing error."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, BackendUnavailableError):
        return 503
    if isinstance(exc, StateError):
        return 500
    if isinstance(exc, ConfigError):
        return 400
    return 400


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(LotsenError)
    async def lotsen_error(request: Request, exc: LotsenError) -> Response:
        return JSONResponse({"detail": str(exc).splitlines()[0]}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"detail": _first_problem(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (logged on the server)"}, status_code=500)


def _first_problem(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "malformed JSON body: " + str(first.get("ctx", {}).get("error", "cannot parse"))
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"invalid {where}: {first.get('msg', 'invalid value')}"


__all__ = ["HTTPException", "install", "status_of"]
