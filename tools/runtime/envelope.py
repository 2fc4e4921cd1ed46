"""The result envelope every tool returns (what the model sees)."""

from typing import Literal

from pydantic import BaseModel, JsonValue

Status = Literal["ok", "error", "no_data"]


class ToolResult(BaseModel):
    """A tool's answer: status, data, and the error message a model can correct itself by."""

    status: Status
    data: JsonValue = None
    error: str | None = None
    """What went wrong, in words the model can act on."""
    note: str | None = None
    """E.g. that the output was truncated, and how much was left out."""

    @classmethod
    def ok(cls, data: object) -> "ToolResult":
        """A successful result; `data` must be JSON-shaped (validated)."""
        return cls.model_validate({"status": "ok", "data": data})

    @classmethod
    def fail(cls, error: str) -> "ToolResult":
        """A failed call, with the reason."""
        return cls(status="error", error=error)

    @classmethod
    def empty(cls, what: str) -> "ToolResult":
        """Nothing matched."""
        return cls(status="no_data", note=what)
