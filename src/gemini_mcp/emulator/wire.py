"""Small helpers for Google's wire format: mixed camelCase/snake_case input, the error envelope, tokens."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """Raised by handlers; rendered as Google's `{"error": {code, message, status}}` envelope."""

    def __init__(self, code: int, message: str, status: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or status_name(code)
        self.details = details

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return error_response(self.code, self.message, self.status, self.details, headers)


def status_name(code: int) -> str:
    return _STATUS_NAMES.get(code, "UNKNOWN")


def error_response(
    code: int,
    message: str | None = None,
    status: str | None = None,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {
        "code": code,
        "message": message or f"emulated error {code}",
        "status": status or status_name(code),
    }
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=code, headers=headers)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: Any) -> Any:
    """`value` with every dict key in camelCase, recursively (to compare what the SDK sent)."""
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def get(obj: Any, *names: str, default: Any = None) -> Any:
    """Read a field sent either camelCase or snake_case (the SDK mixes both)."""
    if not isinstance(obj, dict):
        return default
    for name in names:
        for spelling in (name, camel(name), _snake(name)):
            if spelling in obj:
                return obj[spelling]
    return default


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def normalised_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy with every key in camelCase."""
    return {camel(key): value for key, value in obj.items()}


def estimate_tokens(text: str) -> int:
    """About four characters per token, as Google's docs estimate."""
    return max(1, (len(text) + 3) // 4) if text else 0


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)
