"""`lotsen users ...`: who may act, with which roles (the users file)."""

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from lotsen.cli.context import console, print_json, world_of
from memory.users import ROLES, Role, normalise
from tools.errors import ConfigError, NotFoundError
from world.world import World

app = typer.Typer(help="Users and roles: viewer, operator, approver, admin.")
AsUser = Annotated[str | None, typer.Option("--as", help="Acting admin (default LOTSEN_USER).")]


@app.command("list")
def list_users(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """The users file's users and roles (passwords are never shown)."""
    directory = world_of(ctx).users
    users = directory.users()
    if as_json:
        print_json([u.model_copy(update={"password_hash": None, "tokens": []}) for u in users])
        return
    if not users:
        console.print(
            f"No users file ({directory.path}): the CLI runs as one local operator with every "
            "role. `lotsen users add NAME --role admin` starts one."
        )
        return
    table = Table(title=f"Users ({directory.path})")
    for column in ("name", "roles", "password"):
        table.add_column(column)
    for user in users:
        table.add_row(user.name, ", ".join(user.roles), "set" if user.password_hash else "-")
    console.print(table)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    role: Annotated[list[str], typer.Option(help=f"Role, repeatable: {', '.join(ROLES)}.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read a password (for the web console) from stdin.")
    ] = False,
    user: AsUser = None,
) -> None:
    """Add a user or replace their roles (the first user must be an admin)."""
    world = world_of(ctx)
    roles = [_role(r) for r in role]
    actor = _admin(world, user, roles)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    added = world.users.put(name, roles, password)
    _audit(world, "user_added", actor, {"user": added.name, "roles": list(added.roles)})
    console.print(f"{added.name}: {', '.join(added.roles)} (in {world.users.path})")


@app.command("token")
def token(ctx: typer.Context, name: str, user: AsUser = None) -> None:
    """Issue an API token for NAME (shown once; stored hashed), for `LOTSEN_SERVER_TOKEN`."""
    world = world_of(ctx)
    if not world.users.configured:
        raise ConfigError("no users file yet: `lotsen users add NAME --role admin` first")
    actor = world.user(user, "admin")
    issued = world.users.issue_token(name, datetime.now(UTC))
    token_id = issued.split("_")[1]
    _audit(world, "token_issued", actor, {"user": normalise(name), "token": token_id})
    typer.echo(issued)


@app.command("remove")
def remove(ctx: typer.Context, name: str, user: AsUser = None) -> None:
    """Remove a user."""
    world = world_of(ctx)
    actor = _admin(world, user, [])
    world.users.remove(name)
    _audit(world, "user_removed", actor, {"user": name})
    console.print(f"removed {name}")


def _role(value: str) -> Role:
    for role in ROLES:
        if value.strip().casefold() == role:
            return role
    raise ConfigError(f"unknown role {value!r}; roles are {', '.join(ROLES)}")


def _admin(world: World, user: str | None, new_roles: list[Role]) -> str:
    """The acting admin; with no users yet, the first user must be an admin."""
    if world.users.configured:
        return world.user(user, "admin")
    if "admin" not in new_roles:
        raise ConfigError("the first user must have --role admin, or nobody could manage users")
    return world.user(user, "admin")


def _audit(world: World, kind: str, actor: str, data: dict[str, object]) -> None:
    try:
        world.audit.append(kind, actor=actor, data=data)
    except NotFoundError:
        pass  # no world seeded yet: nothing to audit into
