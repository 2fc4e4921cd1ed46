"""The FastAPI app: the JSON API under /api/v1, login, health, metrics, and the console.

One `World` per process, opened by `create_app` and stored in `app.state.world`. The World
is not thread-safe and FastAPI runs sync endpoints in a thread pool, so every use of it
goes through `app.state.world_lock` (see `lotsen.service.deps.locked_world`).
"""

import importlib
import importlib.util
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lotsen.service import errors, login
from lotsen.service.auth import AuthState
from lotsen.service.middleware import ServiceMiddleware
from world.settings import Settings
from world.world import World

CONSOLE_MODULE = "lotsen.service.console"


def create_app(settings: Settings, *, world: World | None = None) -> FastAPI:
    """Build the app on `settings` (or on an already opened `world`, e.g. in tests).

    A world passed in is not closed by the app; one opened here is closed at shutdown.
    """
    owned = world is None
    opened = world if world is not None else World(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            threads = getattr(app.state, "threads", None)
            if threads is not None:
                threads.close()
            if owned:
                opened.close()

    app = FastAPI(
        title="Lotsen",
        summary="Agents that operate a fleet of production ML models.",
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.world = opened
    app.state.world_lock = threading.Lock()
    app.state.auth = AuthState(settings, opened.users.path)
    errors.install(app)
    app.add_middleware(ServiceMiddleware, secure_cookies=not settings.serve_insecure_cookies)
    app.include_router(login.router)
    from lotsen.service.api import router as api_router
    from lotsen.service.health import router as health_router

    app.include_router(health_router)
    app.include_router(api_router)
    if importlib.util.find_spec(CONSOLE_MODULE) is not None:
        console = getattr(importlib.import_module(CONSOLE_MODULE), "router", None)
        if console is not None:  # the console package may exist before its router does
            app.include_router(console)
    return app
