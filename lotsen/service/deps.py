"""Dependencies of the API's endpoints: the locked World, the caller."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from world.world import World


@contextmanager
def locked_world(request: Request) -> Iterator[World]:
    """The app's World, held exclusively (it is not thread-safe) for the `with` block."""
    lock = request.app.state.world_lock
    world = request.app.state.world
    assert isinstance(lock, type(threading.Lock())) and isinstance(world, World)
    with lock:
        yield world
