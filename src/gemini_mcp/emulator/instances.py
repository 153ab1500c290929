"""Deterministic example values that satisfy a schema, in Gemini's dialect (OBJECT, STRING…) or JSON Schema.

Used for JSON-mode answers and for function-call arguments. The value for a field depends on its name
and the prompt only, so the same request always gets the same answer.
"""

from __future__ import annotations

from typing import Any

from gemini_mcp.emulator.wire import get

_MAX_DEPTH = 12


def instance(schema: Any, hint: str = "value", *, root: Any = None, depth: int = 0) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return f"example {hint}"
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return instance(_resolve(ref, root), hint, root=root, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "any_of", "oneOf", "one_of"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and str(o.get("type", "")).lower() == "null")]
            return instance((non_null or options)[0], hint, root=root, depth=depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for part in all_of:
            if isinstance(part, dict):
                merged.update(part)
        return instance(merged, hint, root=root, depth=depth + 1)

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind).lower() if kind is not None else ("object" if "properties" in schema else "string")

    if kind == "object":
        properties = schema.get("properties") or {}
        ordering = get(schema, "property_ordering") or list(properties)
        names = [n for n in ordering if n in properties] + [n for n in properties if n not in ordering]
        return {name: instance(properties[name], name, root=root, depth=depth + 1) for name in names}
    if kind == "array":
        items = schema.get("items", {})
        count = max(int(get(schema, "min_items", default=0) or 0), 2)
        maximum = get(schema, "max_items")
        if maximum is not None:
            count = min(count, int(maximum))
        singular = hint[:-1] if hint.endswith("s") and len(hint) > 1 else hint
        return [instance(items, f"{singular} {i + 1}", root=root, depth=depth + 1) for i in range(count)]
    if kind == "integer":
        return int(_clamp(42, schema))
    if kind == "number":
        return float(_clamp(3.5, schema))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, hint)


def _string(schema: dict[str, Any], hint: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-01T12:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if fmt == "time":
        return "12:00:00"
    if fmt in ("email",):
        return "ada@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    text = f"example {hint}"
    minimum = int(get(schema, "min_length", default=0) or 0)
    maximum = get(schema, "max_length")
    if len(text) < minimum:
        text = text + "x" * (minimum - len(text))
    if maximum is not None:
        text = text[: int(maximum)]
    return text


def _clamp(value: float, schema: dict[str, Any]) -> float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if low is not None and value < float(low):
        value = float(low)
    if high is not None and value > float(high):
        value = float(high)
    return value


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#/"):
        return {}
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node
