"""Shared CLI plumbing: settings from the typer context, console, JSON output."""

import json
import re
from typing import Any

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from tools.errors import ConfigError
from world.settings import Settings
from world.world import World

console = Console()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning a validation error into one clear line."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting LOTSEN_{field.upper()}: {first['msg']}") from None
    except SettingsError as exc:  # a complex value (list, dict) that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        field = found.group(1).upper() if found else "(unknown)"
        raise ConfigError(
            f"invalid setting LOTSEN_{field}: not valid JSON ({exc.__cause__ or exc})"
        ) from None


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built by the root callback."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def world_of(ctx: typer.Context) -> World:
    """The process's one World (opened lazily on first use, closed when the command ends)."""
    root = ctx.find_root()
    world = root.meta.get("lotsen.world")
    if world is None:
        world = World(settings_of(ctx))
        root.meta["lotsen.world"] = world
        root.call_on_close(world.close)
    assert isinstance(world, World)
    return world


def progress_bar() -> Progress:
    """The progress bar long commands show (transient: it disappears when done)."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def print_json(value: BaseModel | list[Any]) -> None:
    """Print a model or a list of models as JSON."""
    if isinstance(value, BaseModel):
        typer.echo(value.model_dump_json(indent=2))
    else:
        data = TypeAdapter(list[Any]).dump_python(value, mode="json")
        typer.echo(json.dumps(data, indent=2))
