"""Response/parameter schemas in either dialect Gemini accepts: its Type-based schema or JSON Schema.

Gemini's own schema (`responseSchema`, `parameters`) spells types in capitals (STRING, OBJECT, ...) and
has `nullable` and `propertyOrdering`; JSON Schema (`responseJsonSchema`, `parametersJsonSchema`) is the
standard. We check a schema before any call, with errors that name the path, and validate answers
against it before returning them.
"""

from __future__ import annotations

from typing import Any, Literal

from gemini_mcp.errors import GeminiCallError, UserInputError

Dialect = Literal["gemini", "json"]

GEMINI_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
_GEMINI_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "propertyOrdering", "items", "minimum", "maximum", "anyOf", "minLength", "maxLength",
    "pattern", "example", "default", "minProperties", "maxProperties",
}  # fmt: skip


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def dialect_of(schema: dict[str, Any]) -> Dialect:
    """'gemini' when any `type` is written in capitals (OBJECT, STRING...), else 'json'."""

    def capitals(node: Any) -> bool:
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, str) and kind in GEMINI_TYPES:
                return True
            return any(capitals(v) for v in node.values())
        if isinstance(node, list):
            return any(capitals(v) for v in node)
        return False

    return "gemini" if capitals(schema) else "json"


def check_schema(schema: Any, where: str = "schema") -> Dialect:
    """Raise UserInputError naming the first problem's path; return the dialect."""
    if not isinstance(schema, dict) or not schema:
        raise UserInputError(f"{where}: must be a non-empty JSON object (a JSON Schema or a Gemini schema)")
    dialect = dialect_of(schema)
    if dialect == "gemini":
        _check_gemini(schema, where)
    else:
        _check_json(schema, where)
    return dialect


def _check_gemini(node: Any, path: str) -> None:
    if not isinstance(node, dict):
        raise UserInputError(f"{path}: must be an object describing a schema")
    node = {_camel(k): v for k, v in node.items()}
    unknown = sorted(set(node) - _GEMINI_KEYS)
    if unknown:
        raise UserInputError(f"{path}: unknown key(s) {unknown} in a Gemini schema; allowed: {sorted(_GEMINI_KEYS)}")
    kind = node.get("type")
    if "anyOf" in node:
        for i, option in enumerate(node["anyOf"]):
            _check_gemini(option, f"{path}.anyOf[{i}]")
        if kind is None:
            return
    if not isinstance(kind, str) or kind.upper() not in GEMINI_TYPES:
        raise UserInputError(f"{path}.type: must be one of {sorted(GEMINI_TYPES)}, got {kind!r}")
    kind = kind.upper()
    if kind == "OBJECT":
        properties = node.get("properties")
        if not isinstance(properties, dict) or not properties:
            raise UserInputError(
                f"{path}: an OBJECT must have properties (Gemini rejects empty objects); add "
                '"properties": {"name": {"type": "STRING"}, ...}'
            )
        for name, sub in properties.items():
            _check_gemini(sub, f"{path}.properties.{name}")
        _check_names(node.get("required"), properties, f"{path}.required")
        _check_names(node.get("propertyOrdering"), properties, f"{path}.propertyOrdering")
    elif kind == "ARRAY":
        if "items" not in node:
            raise UserInputError(f'{path}: an ARRAY must have "items" describing its elements')
        _check_gemini(node["items"], f"{path}.items")


def _check_names(names: Any, properties: dict[str, Any], path: str) -> None:
    if names is None:
        return
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserInputError(f"{path}: must be a list of property names")
    missing = [n for n in names if n not in properties]
    if missing:
        raise UserInputError(f"{path}: {missing} not in properties {sorted(properties)}")


def _check_json(schema: dict[str, Any], path: str) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        raise UserInputError(f"{path}{'.' + where if where else ''}: not a valid JSON Schema: {exc.message}") from None
    _walk_json(schema, path)


def _walk_json(node: Any, path: str) -> None:
    if not isinstance(node, dict):
        return
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    if "object" in kinds and "$ref" not in node:
        properties = node.get("properties")
        if not properties and not isinstance(node.get("additionalProperties"), dict):
            raise UserInputError(
                f"{path}: an object must have properties (Gemini rejects empty objects); add "
                '"properties": {"name": {"type": "string"}, ...}'
            )
        for name, sub in (properties or {}).items():
            _walk_json(sub, f"{path}.properties.{name}")
        _check_names(node.get("required"), properties or {}, f"{path}.required")
    if "array" in kinds:
        _walk_json(node.get("items"), f"{path}.items")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(node.get(key) or []):
            _walk_json(option, f"{path}.{key}[{i}]")
    for key in ("$defs", "definitions"):
        for name, sub in (node.get(key) or {}).items():
            _walk_json(sub, f"{path}.{key}.{name}")


def to_json_schema(schema: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """A JSON Schema equivalent of `schema`, for validating answers."""
    if dialect == "json":
        return schema
    return _gemini_to_json(schema)


def _gemini_to_json(node: dict[str, Any]) -> dict[str, Any]:
    node = {_camel(k): v for k, v in node.items()}
    out: dict[str, Any] = {}
    if "anyOf" in node:
        out["anyOf"] = [_gemini_to_json(option) for option in node["anyOf"]]
    kind = node.get("type")
    if isinstance(kind, str):
        json_kind: Any = kind.lower()
        if node.get("nullable"):
            json_kind = [json_kind, "null"]
        out["type"] = json_kind
    for key in ("enum", "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern"):
        if key in node:
            out[key] = node[key]
    if node.get("nullable") and "enum" in out:
        out["enum"] = [*out["enum"], None]
    if "properties" in node:
        out["properties"] = {name: _gemini_to_json(sub) for name, sub in node["properties"].items()}
        out["required"] = list(node.get("required", []))
    if "items" in node:
        out["items"] = _gemini_to_json(node["items"])
    return out


def validate_value(value: Any, json_schema: dict[str, Any], where: str = "answer") -> None:
    """Raise GeminiCallError when Gemini's answer `value` does not match `json_schema`, naming the path: the
    schema was checked before the call, so a mismatch is the model's, not the caller's."""
    from jsonschema import Draft202012Validator

    error = next(iter(sorted(Draft202012Validator(json_schema).iter_errors(value), key=str)), None)
    if error is not None:
        location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise GeminiCallError(
            f"{where}{location}: {error.message}. Gemini's answer did not match the schema: retry, or describe "
            "the field in the prompt or the schema's descriptions"
        )
