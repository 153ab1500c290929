"""Request checks the real API performs, with messages in the real API's words where we know them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from gemini_mcp.emulator.catalog import ModelSpec
from gemini_mcp.emulator.wire import ApiError, camel, get

MAX_REQUEST_BYTES = 20 * 1024 * 1024

SUPPORTED_MIME_PREFIXES = ("image/", "audio/", "video/", "text/")
SUPPORTED_MIME_TYPES = {
    "application/pdf",
    "application/json",
    "application/x-javascript",
    "application/x-python",
    "application/rtf",
    "application/xml",
}
_UNSUPPORTED_IMAGES = {"image/gif", "image/bmp", "image/tiff", "image/svg+xml"}

GENERATION_CONFIG_KEYS = {
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "presencePenalty",
    "frequencyPenalty",
    "seed",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "responseLogprobs",
    "logprobs",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
    "imageConfig",
    "routingConfig",
    "modelSelectionConfig",
    "audioTimestamp",
    "enableAffectiveDialog",
    "enableEnhancedCivicAnswers",
}
RESPONSE_MIME_TYPES = {"text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"}
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")


def bad(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def check_contents(contents: Any, files: dict[str, dict[str, Any]], now: float) -> None:
    if not isinstance(contents, list) or not contents:
        raise bad("* GenerateContentRequest.contents: contents is not specified")
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise bad(f"Invalid value at 'contents[{i}]': expected a Content object")
        role = content.get("role")
        if role not in (None, "", "user", "model", "function", "tool"):
            raise bad(f"Please use a valid role: user, model. (contents[{i}].role was '{role}')")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise bad(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        for j, part in enumerate(parts):
            check_part(part, f"contents[{i}].parts[{j}]", files, now)


def check_part(part: Any, where: str, files: dict[str, dict[str, Any]], now: float) -> None:
    if not isinstance(part, dict) or not part:
        raise bad(f"* GenerateContentRequest.{where}: a part must have exactly one data field")
    inline = get(part, "inline_data")
    if inline is not None:
        mime = get(inline, "mime_type")
        data = get(inline, "data")
        if not mime:
            raise bad(f"* GenerateContentRequest.{where}.inline_data.mime_type: mime_type is required")
        check_mime(str(mime))
        try:
            b64decode(data)
        except (binascii.Error, ValueError) as exc:
            raise bad(f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed") from exc
    file_data = get(part, "file_data")
    if file_data is not None:
        uri = str(get(file_data, "file_uri") or "")
        if not uri:
            raise bad(f"* GenerateContentRequest.{where}.file_data.file_uri: file_uri is required")
        file_id = file_id_of(uri)
        if file_id is not None:
            entry = known_file(files, file_id)
            if entry["ready_at"] > now:
                raise bad(f"The File {file_id} is not in an ACTIVE state and usage is not allowed.")


def known_file(files: Mapping[str, dict[str, Any]], file_id: str) -> dict[str, Any]:
    """The Files API entry of `file_id`; the API's 403 when there is none (it says the same for a file that never
    existed, was deleted or expired)."""
    entry = files.get(file_id)
    if entry is None:
        raise ApiError(
            403, f"You do not have permission to access the File {file_id} or it may not exist.", "PERMISSION_DENIED"
        )
    return entry


def file_id_of(uri: str) -> str | None:
    match = re.search(r"/files/([a-z0-9-]+)$", uri)
    return match.group(1) if match else None


def check_mime(mime: str) -> None:
    base = mime.split(";")[0].strip().lower()
    if base in _UNSUPPORTED_IMAGES or not (base in SUPPORTED_MIME_TYPES or base.startswith(SUPPORTED_MIME_PREFIXES)):
        raise bad(f"Unsupported MIME type: {mime}")


def check_generation_config(config: Any, spec: ModelSpec) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise bad("Invalid value at 'generation_config': expected an object")
    for key in config:
        if camel(key) not in GENERATION_CONFIG_KEYS:
            raise bad(
                f"Invalid JSON payload received. Unknown name \"{key}\" at 'generation_config': Cannot find field."
            )
    _range(config, "temperature", 0.0, 2.0)
    _range(config, "top_p", 0.0, 1.0)
    _range(config, "presence_penalty", -2.0, 2.0, upper_open=True)
    _range(config, "frequency_penalty", -2.0, 2.0, upper_open=True)
    top_k = get(config, "top_k")
    if top_k is not None and int(top_k) < 1:
        raise bad("top_k must be at least 1.")
    count = get(config, "candidate_count")
    if count is not None and not 1 <= int(count) <= 8:
        raise bad("Only values from 1 to 8 are supported for candidate_count.")
    maximum = get(config, "max_output_tokens")
    if maximum is not None and not 1 <= int(maximum) <= spec.output_token_limit:
        raise bad(
            f"Unable to submit request because it has a maxOutputTokens value of {maximum} but the supported "
            f"range is from 1 (inclusive) to {spec.output_token_limit + 1} (exclusive). Update the value and try again."
        )
    stops = get(config, "stop_sequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 5):
        raise bad("stop_sequences accepts at most 5 sequences.")
    check_thinking(get(config, "thinking_config"), spec)
    check_response_format(config)


def _range(config: dict[str, Any], name: str, low: float, high: float, upper_open: bool = False) -> None:
    value = get(config, name)
    if value is None:
        return
    if not isinstance(value, (int, float)) or value < low or value > high or (upper_open and value >= high):
        raise bad(
            f"Unable to submit request because it has a {camel(name)} value of {value} but the supported range "
            f"is from {low:g} (inclusive) to {high:g} ({'exclusive' if upper_open else 'inclusive'}). "
            "Update the value and try again."
        )


def check_thinking(thinking: Any, spec: ModelSpec) -> None:
    if thinking is None:
        return
    if spec.thinking is None:
        if get(thinking, "thinking_budget") not in (None, 0) or get(thinking, "include_thoughts"):
            raise bad("Thinking is not supported by this model.")
        return
    budget = get(thinking, "thinking_budget")
    if budget is None or budget == -1:
        return
    limits = spec.thinking
    if budget == 0:
        if not limits.can_disable:
            raise bad("Budget 0 is invalid. This model only works in thinking mode.")
        return
    if not limits.minimum <= int(budget) <= limits.maximum:
        raise bad(
            f"The thinking budget {budget} is invalid. Please choose a value between {limits.minimum} and "
            f"{limits.maximum}."
        )


def check_response_format(config: dict[str, Any]) -> None:
    mime = get(config, "response_mime_type")
    schema = get(config, "response_schema")
    json_schema = get(config, "response_json_schema")
    if mime is not None and mime not in RESPONSE_MIME_TYPES:
        raise bad(
            f"* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are "
            f"{', '.join(sorted(RESPONSE_MIME_TYPES))}; got {mime}"
        )
    if schema is not None and json_schema is not None:
        raise bad("response_schema and response_json_schema cannot both be set.")
    if (schema is not None or json_schema is not None) and mime not in ("application/json", "text/x.enum"):
        raise bad(
            "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must be one of "
            "[application/json, text/x.enum] when a response schema is set."
        )
    if schema is not None:
        check_gemini_schema(schema, "generation_config.response_schema")


def check_gemini_schema(schema: Any, where: str) -> None:
    if not isinstance(schema, dict):
        raise bad(f"* GenerateContentRequest.{where}: must be a Schema object")
    kind = str(schema.get("type", "")).upper()
    properties = schema.get("properties")
    if kind == "OBJECT" and not properties:
        raise bad(f"* GenerateContentRequest.{where}.properties: should be non-empty for OBJECT type")
    if kind == "ARRAY" and "items" not in schema:
        raise bad(f"* GenerateContentRequest.{where}.items: missing field.")
    for name, sub in (properties or {}).items():
        check_gemini_schema(sub, f"{where}.properties[{name}].value")
    if "items" in schema:
        check_gemini_schema(schema["items"], f"{where}.items")
    for name in schema.get("required") or []:
        if name not in (properties or {}):
            raise bad(f"* GenerateContentRequest.{where}.required[{name}]: property is not defined")


def check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise bad("Invalid value at 'tools': expected a list")
    has_functions = False
    has_builtin = False
    for i, tool in enumerate(tools):
        declarations = get(tool, "function_declarations")
        if declarations:
            has_functions = True
            for j, declaration in enumerate(declarations):
                name = str(get(declaration, "name") or "")
                if not _FUNCTION_NAME.match(name):
                    raise bad(
                        f"* GenerateContentRequest.tools[{i}].function_declarations[{j}].name: Invalid function "
                        "name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain "
                        "underscores, dots, colons and dashes, with a maximum length of 64."
                    )
                parameters = get(declaration, "parameters")
                if parameters is not None:
                    check_gemini_schema(parameters, f"tools[{i}].function_declarations[{j}].parameters")
        if any(get(tool, key) is not None for key in ("google_search", "google_search_retrieval", "url_context")):
            has_builtin = True
    if has_functions and has_builtin:
        raise bad("Tool use with function calling is unsupported when combined with Google Search or URL context.")


def decode_inline(part: dict[str, Any]) -> tuple[str, bytes] | None:
    inline = get(part, "inline_data")
    if inline is None:
        return None
    return str(get(inline, "mime_type")), b64decode(get(inline, "data"))


def b64decode(data: Any) -> bytes:
    """Google's JSON accepts bytes in standard and URL-safe base64 (the SDK sends URL-safe)."""
    text = str(data or "").replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
