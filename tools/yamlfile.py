"""Loading YAML files into pydantic models with errors that name the file, line and field."""

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tools.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def read_text(path: Path, error: type[ConfigError] = ConfigError, what: str = "") -> str:
    """A UTF-8 text file's content.

    Raises:
        ConfigError: (or `error`) the file is unreadable, or binary / not UTF-8; the message
            names the file (and `what` it is, e.g. the setting that points at it).
    """
    named = f"{what} {path}" if what else str(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {named}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(
            f"cannot read {named}: not a UTF-8 text file (byte {exc.start} is not text)"
        ) from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """`line N: what is wrong` of a YAML error, without the excerpt of the file.

    PyYAML's own message quotes the offending lines, which may hold a secret (an `api_key:`
    line of a tiers file): only the line number and the problem are shown.
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


def read_yaml(path: Path, error: type[ConfigError] = ConfigError) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; return its data and its node tree (for line numbers).

    Raises:
        ConfigError: (or `error`) the file is unreadable, binary or not YAML, with file and
            line (never the file's text).
    """
    text = read_text(path, error)
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise error(f"{where}: not valid YAML: {problem}") from None


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse `path` and validate it as `model`.

    Raises:
        ConfigError: the file is missing, is not YAML, or does not match the model; the
            message reads `file:line: field: reason`.
    """
    data, node = read_yaml(path)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(_describe(path, node, exc)) from exc


def _describe(path: Path, node: yaml.Node | None, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "(top level)"
        problems.append(f"{path}:{line_of(node, loc)}: {field}: {error['msg']}")
    more = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def line_of(node: yaml.Node | None, loc: tuple[Any, ...] | list[Any]) -> int:
    """1-based line of the deepest node along `loc` (a pydantic error location).

    Parts with no node of their own (the tag pydantic adds for a tagged-union member) are
    skipped.
    """
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            if isinstance(part, str) and isinstance(node, yaml.MappingNode):
                continue
            break
        node, line = child, child.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
