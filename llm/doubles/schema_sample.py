"""A minimal instance of a JSON schema (what a well-behaved model would return)."""

from typing import Any


def sample_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """First enum value, 'ok', 1, true, [] and objects with every required property."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return sample_instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return sample_instance(schema[key][0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {name: sample_instance(props[name], defs) for name in required if name in props}
    defaults: dict[str, Any] = {
        "string": "ok",
        "integer": 1,
        "number": 1.0,
        "boolean": True,
        "array": [],
        "null": None,
    }
    return defaults.get(kind, None)
