"""Shared pieces of the API: role dependencies, bodies, the locked world, error docs."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from lotsen.service.auth import Principal, require_role
from lotsen.service.deps import locked_world
from world.world import World

T = TypeVar("T")

Viewer = Annotated[Principal, Depends(require_role("viewer"))]
Operator = Annotated[Principal, Depends(require_role("operator"))]
Approver = Annotated[Principal, Depends(require_role("approver"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


class Problem(BaseModel):
    """An error: one line saying what was wrong."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not authenticated (or the session expired)."},
    403: {"model": Problem, "description": "Role lacking, or CSRF token missing."},
    404: {"model": Problem, "description": "No such object."},
    409: {"model": Problem, "description": "Conflicts with the current state."},
    422: {"model": Problem, "description": "Malformed body or parameter."},
}


class Note(BaseModel):
    """An optional note (a decision's reason)."""

    note: str | None = Field(default=None, max_length=2000)


class RequiredNote(BaseModel):
    """A note that must be given (closing an incident)."""

    note: str = Field(min_length=1, max_length=2000)


def with_world(request: Request, work: Callable[[World], T]) -> T:
    """Run `work` on the app's World under its lock."""
    with locked_world(request) as world:
        return work(world)
