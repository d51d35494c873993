"""Best-effort arguments for a forced schema tool (``with_structured_output`` on the planner).

The planner has no opinion on arbitrary schemas; it fills every required field with a value of
the right type (text fields get the planner's reply) so parsing does not crash.
"""

from __future__ import annotations

from typing import Any


def structured_args(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """A JSON object that satisfies the required fields of ``schema``."""
    defs = schema.get("$defs") or schema.get("definitions") or {}
    return _object(schema, text, defs)


def _object(schema: dict[str, Any], text: str, defs: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties") or {}
    required = schema.get("required") or list(props)
    out: dict[str, Any] = {}
    for name in required:
        out[name] = _value(props.get(name) or {}, text, defs)
    return out


def _value(schema: dict[str, Any], text: str, defs: dict[str, Any]) -> Any:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = defs.get(ref.rsplit("/", 1)[-1], {})
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            return _value(non_null[0] if non_null else options[0], text, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return _object(schema, text, defs)
    if kind == "array":
        return []
    if kind == "integer":
        return max(0, int(schema.get("minimum", 0)))
    if kind == "number":
        return max(0.0, float(schema.get("minimum", 0)))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text or "n/a"
