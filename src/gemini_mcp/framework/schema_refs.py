"""Inline the `$ref`s of a tool schema, so clients validate and read it without a reference resolver.

pydantic emits nested models as `$defs` + `$ref`. Every `$ref` costs a client that validates results
(the `mcp` Python client does, with jsonschema) a registry lookup per node: for a tool returning thirty
voices, resolving references is most of the validation time. Some hosts also mishandle `$ref` in input
schemas. Self-referencing (recursive) definitions cannot be inlined and are kept, with their `$defs`.
"""

from __future__ import annotations

from typing import Any

_PREFIX = "#/$defs/"


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Return `schema` with every non-recursive local `$ref` replaced by the definition it points to."""
    definitions: dict[str, Any] = schema.get("$defs", {})
    if not definitions:
        return schema
    kept: set[str] = set()

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith(_PREFIX):
            name = reference.removeprefix(_PREFIX)
            if name in trail or name not in definitions:
                kept.add(name)
                return node
            target = resolve(definitions[name], (*trail, name))
            siblings = {k: resolve(v, trail) for k, v in node.items() if k != "$ref"}
            # A $ref with sibling keywords (a description, a default) keeps them beside the definition.
            return {**target, **siblings} if isinstance(target, dict) else target
        return {key: resolve(value, trail) for key, value in node.items() if key != "$defs"}

    inlined: dict[str, Any] = resolve(schema, ())
    if kept:
        # Keep every definition a kept reference may reach (recursive ones resolve among themselves).
        inlined["$defs"] = _close_over(definitions, {name: definitions[name] for name in kept if name in definitions})
    return inlined


def _close_over(definitions: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """Add every definition reachable from the kept ones, unchanged, so their `$ref`s still resolve."""
    result = dict(kept)
    pending = list(kept.values())
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith(_PREFIX):
                name = reference.removeprefix(_PREFIX)
                if name not in result and name in definitions:
                    result[name] = definitions[name]
                    pending.append(definitions[name])
            pending.extend(node.values())
    return result
