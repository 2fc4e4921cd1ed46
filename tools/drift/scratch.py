"""Work buffers reused from call to call and shared by threads, one set per running call.

Fresh arrays of a megabyte or more come from the OS as new pages, and faulting them in
takes longer than the arithmetic done in them (on a busy or virtualised machine 10x
longer). A thread-local set would be lost with each new thread pool; this pool is not.
"""

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray


class Scratch:
    """One set of named buffers, grown when a call needs more."""

    def __init__(self) -> None:
        self._held: dict[str, NDArray[Any]] = {}

    def get(self, name: str, dtype: DTypeLike, shape: tuple[int, ...]) -> NDArray[Any]:
        """A buffer of this shape (contents undefined), reused under the same name."""
        size = int(np.prod(shape))
        want = np.dtype(dtype)
        held = self._held.get(name)
        if held is None or held.dtype != want or held.size < size:
            held = self._held[name] = np.empty(max(size, 1), dtype=want)
        return held[:size].reshape(shape)


_idle: "queue.SimpleQueue[Scratch]" = queue.SimpleQueue()


@contextmanager
def scratch() -> Iterator[Scratch]:
    """A set of buffers no other running call holds, returned to the pool afterwards."""
    try:
        held = _idle.get_nowait()
    except queue.Empty:
        held = Scratch()
    try:
        yield held
    finally:
        _idle.put(held)
