"""Checks of command-line values at the boundary: one-line `ConfigError`s, before any change.

Typer converts the text; these say whether the value makes sense (a finite number in range,
a count of at least one, a non-blank name, a file that exists, a folder to write into).
Each returns the value it checked, so a command reads `hours = finite("--hours", hours)`.
"""

import math
import operator
from pathlib import Path
from urllib.parse import urlsplit

from tools.errors import ConfigError

MAX_HOURS = 24.0 * 366 * 10
"""Longest virtual duration a command accepts (ten years): beyond it dates overflow."""


def finite(
    option: str,
    value: float,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> float:
    """`value` if it is a finite number within the bounds, else a ConfigError naming `option`."""
    limits = [(">=", operator.ge, ge), (">", operator.gt, gt), ("<=", operator.le, le)]
    set_limits = [(sign, test, bound) for sign, test, bound in limits if bound is not None]
    if not (math.isfinite(value) and all(test(value, bound) for _, test, bound in set_limits)):
        wanted = " and ".join(f"{sign} {bound:g}" for sign, _, bound in set_limits)
        raise ConfigError(
            f"{option} must be a finite number {wanted}".rstrip() + f", got {value:g}"
        )
    return value


def finite_or_none(option: str, value: float | None, **bounds: float) -> float | None:
    """Like `finite`, for an optional value (None passes)."""
    return None if value is None else finite(option, value, **bounds)


def count(option: str, value: int, *, most: int | None = None, least: int = 1) -> int:
    """`value` if it is a whole number in [least, most], else a ConfigError naming `option`."""
    if value < least or (most is not None and value > most):
        upper = f" and at most {most:,}" if most is not None else ""
        raise ConfigError(f"{option} must be at least {least}{upper}, got {value}")
    return value


def name(option: str, value: str) -> str:
    """`value` stripped, if it is not blank, else a ConfigError naming `option`."""
    if not value.strip():
        raise ConfigError(f"{option} must not be empty")
    return value.strip()


def name_or_none(option: str, value: str | None) -> str | None:
    """Like `name`, for an optional value (None passes)."""
    return None if value is None else name(option, value)


def input_file(option: str, path: Path) -> Path:
    """`path` if it is an existing, readable file, else a ConfigError naming it."""
    if not path.exists():
        raise ConfigError(f"{option}: {path} does not exist")
    if not path.is_file():
        raise ConfigError(f"{option}: {path} is not a file")
    return path


def output_file(option: str, path: Path) -> Path:
    """`path` if a file can be written there: not a folder, in a folder that exists.

    A missing folder is refused rather than created, so a typo does not leave stray
    folders behind.
    """
    if not str(path).strip() or path.is_dir():
        raise ConfigError(f"{option}: {path} is a folder; name the file to write")
    if not path.parent.is_dir():
        raise ConfigError(
            f"{option}: folder {path.parent} does not exist; create it first or pick another"
        )
    return path


def http_url(option: str, value: str) -> str:
    """`value` if it is an http(s) URL with a host, else a ConfigError naming `option`."""
    try:
        parts = urlsplit(value.strip())
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(f"{option} must be an http:// or https:// URL with a host, got {value!r}")
    return value.strip()
