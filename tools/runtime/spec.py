"""Tools as typed functions: pydantic arguments, docstring = description, safety metadata."""

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel

from tools.domain import Environment
from tools.runtime.envelope import ToolResult

Ctx = TypeVar("Ctx")
ToolFunc = Callable[[Any, Any], ToolResult]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the runtime can offer a model."""

    name: str
    description: str
    """The function's docstring: what the model reads to decide when to call it."""
    args_model: type[BaseModel]
    func: ToolFunc = field(repr=False)
    mutating: bool = False
    """Changes the world; never runs without passing the mutation gate."""
    environments: frozenset[Environment] = frozenset(Environment)
    """Environments the tool may touch."""

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI/vLLM `tools` entry."""
        parameters = self.args_model.model_json_schema()
        parameters.pop("title", None)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }


def tool(
    *, mutating: bool = False, environments: frozenset[Environment] = frozenset(Environment)
) -> Callable[[ToolFunc], ToolSpec]:
    """Turn `def name(ctx, args: ArgsModel) -> ToolResult` into a ToolSpec.

    Raises:
        TypeError: no docstring, or the second parameter is not a pydantic model.
    """

    def wrap(func: ToolFunc) -> ToolSpec:
        doc = inspect.getdoc(func)
        if not doc:
            raise TypeError(
                f"tool {func.__name__} needs a docstring: it is the model's description"
            )
        params = list(inspect.signature(func).parameters)
        hints = get_type_hints(func)
        args_model = hints.get(params[1]) if len(params) == 2 else None
        if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
            raise TypeError(f"tool {func.__name__} must take (ctx, args: <pydantic model>)")
        return ToolSpec(
            name=func.__name__,
            description=doc,
            args_model=args_model,
            func=func,
            mutating=mutating,
            environments=environments,
        )

    return wrap
