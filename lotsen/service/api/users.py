"""Users and roles (admins): list, add or change, remove, issue an API token."""

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from lotsen.service.api.common import ERRORS, Admin, with_world
from lotsen.service.auth import auth_state
from memory.users import Role
from tools.errors import NotFoundError
from world.world import World

router = APIRouter(responses=ERRORS, tags=["users"])


class UserView(BaseModel):
    """A user as the API shows them (no secrets)."""

    name: str
    roles: list[Role]
    password: bool
    tokens: int


class UserChange(BaseModel):
    """Roles (and optionally a new password) of a user."""

    roles: list[Role] = Field(min_length=1)
    password: Annotated[str, StringConstraints(min_length=8, max_length=72)] | None = None


class IssuedToken(BaseModel):
    """A new API token: shown once."""

    user: str
    token: str


@router.get("/users", summary="Users and roles")
def users(request: Request, who: Admin) -> list[UserView]:
    """Every user of the users file."""
    return [
        UserView(
            name=u.name, roles=u.roles, password=u.password_hash is not None, tokens=len(u.tokens)
        )
        for u in auth_state(request).directory().users()
    ]


@router.put("/users/{name}", summary="Add a user or change their roles")
def put_user(request: Request, name: str, who: Admin, body: UserChange) -> UserView:
    """Add or replace a user's roles (and password); audited as the caller."""

    def change(w: World) -> UserView:
        user = auth_state(request).directory().put(name, body.roles, body.password)
        _audit(w, "user_added", who.name, {"user": user.name, "roles": list(user.roles)})
        return UserView(
            name=user.name,
            roles=user.roles,
            password=user.password_hash is not None,
            tokens=len(user.tokens),
        )

    return with_world(request, change)


@router.delete("/users/{name}", summary="Remove a user", status_code=204)
def delete_user(request: Request, name: str, who: Admin) -> None:
    """Remove a user (404: unknown); their sessions end at their next request."""

    def remove(w: World) -> None:
        directory = auth_state(request).directory()
        if directory.get(name) is None:
            raise NotFoundError(f"unknown user {name!r}")
        directory.remove(name)
        _audit(w, "user_removed", who.name, {"user": name})

    with_world(request, remove)


@router.post("/users/{name}/tokens", summary="Issue an API token", status_code=201)
def issue_token(request: Request, name: str, who: Admin) -> IssuedToken:
    """A new API token for the user (only its hash is kept)."""
    from datetime import UTC, datetime

    def issue(w: World) -> IssuedToken:
        directory = auth_state(request).directory()
        if directory.get(name) is None:
            raise NotFoundError(f"unknown user {name!r}")
        token = directory.issue_token(name, datetime.now(UTC))
        user = directory.by_token(token)
        assert user is not None
        _audit(w, "token_issued", who.name, {"user": user.name, "token": token.split("_")[1]})
        return IssuedToken(user=user.name, token=token)

    return with_world(request, issue)


def _audit(world: World, kind: str, actor: str, data: dict[str, object]) -> None:
    try:
        world.audit.append(kind, actor=actor, data=data)
    except NotFoundError:
        pass  # no world seeded: nothing to audit into
