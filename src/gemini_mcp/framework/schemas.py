"""Lean tool input schemas: what the agent reads on every turn, without pydantic's noise.

An agent host sends every tool's input schema to its model on every turn, so each byte costs context.
pydantic's JSON schema spends most of its bytes on things an agent gains nothing from: a `title` on every
model and property, `anyOf: [{...}, {"type": "null"}]` plus `default: null` for every optional field, and
`additionalProperties: true` on free-form objects. `lean_input_schema` keeps the rules (types, `enum`,
`required`, `additionalProperties: false`, numeric bounds, item counts, string lengths) and the
descriptions, and drops the rest:

- an optional field is its plain type, not required (a `null` branch only ever meant "leave it out");
- no generated titles (a property *named* `title` stays: only the keyword goes);
- `default` is kept only for scalars (an enum's or a flag's default tells the agent what happens when it
  says nothing); `default: null` and defaults of lists and objects go;
- the root's description (the input model's docstring) goes: the tool's description says it better;
- required properties come first, so what the agent must send is what it reads first;
- `$ref`s are inlined (framework/schema_refs.py): clients and hosts read the schema without a resolver.

The server validates every argument against the input model anyway, with errors that name the field, so
nothing here loosens validation; an explicit `null` for an optional field is still accepted.

Bump `GENERATOR_VERSION` whenever the output of this module changes: the schema cache
(framework/schema_cache.py) keys on it, so no cached schema outlives the generator that made it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gemini_mcp.framework.schema_refs import inline_refs

GENERATOR_VERSION = "lean-1"

# Keywords whose value is one subschema, a list of subschemas, or a map of name → subschema.
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")
# Numeric keywords pydantic writes as floats (ge=0.0 → 0.0): 0 says the same in fewer bytes.
_NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_SCALARS = (str, int, float, bool)
_ANNOTATIONS = {"description", "default", "examples"}


def lean_input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The input schema a tool advertises for `model` (see the module docstring for what is kept)."""
    schema = lean(inline_refs(model.model_json_schema(by_alias=True)))
    schema.pop("description", None)
    return schema


def lean(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without titles, null branches and uninformative defaults (a new dict; `schema` is left as it was)."""
    return _node(schema)


def _node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _ONE:
            out[key] = _node(value)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_node(item) for item in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: _node(sub) for name, sub in value.items()}
        elif key in _NUMBERS and isinstance(value, float) and value.is_integer():
            out[key] = int(value)
        else:
            out[key] = value
    out = _without_null_branch(out)
    required = out.get("required")
    properties = out.get("properties")
    if isinstance(required, list) and isinstance(properties, dict):
        # What the agent must send comes first (mixins put shared settings before a tool's own fields).
        first = [name for name in properties if name in required]
        out["properties"] = {name: properties[name] for name in first + [n for n in properties if n not in first]}
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]  # the JSON Schema default: saying it costs bytes and means nothing
    if "default" in out and (out["default"] is None or not isinstance(out["default"], _SCALARS)):
        del out["default"]
    return out


def _without_null_branch(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` → X, with the node's own keywords (description, default) kept beside it.

    A field's description overrides its model's (as an inlined `$ref`'s sibling does); any other keyword the
    two both carry keeps the `anyOf`, which then only loses its null branch."""
    options = node.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return node
    rest = [option for option in options if option != {"type": "null"}]
    siblings = {key: value for key, value in node.items() if key != "anyOf"}
    if len(rest) == 1 and isinstance(rest[0], dict) and set(rest[0]) & set(siblings) <= _ANNOTATIONS:
        return {**rest[0], **siblings}
    return {"anyOf": rest, **siblings} if rest else siblings
