"""What the handlers of named resources (caches, File Search stores, batches) share: routes that answer API
errors in Google's envelope, timestamps, names, pages, and the wire form of a stored resource."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gemini_mcp.emulator.wire import ApiError

Handler = Callable[[Request], Awaitable[Response | dict[str, Any]]]


def route(path: str, handler: Handler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ApiError as exc:
            return exc.response()
        return result if isinstance(result, Response) else JSONResponse(result)

    return Route(path, endpoint, methods=methods)


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. Expected an object.")
    return body


def stamp(when: datetime | None = None) -> str:
    """RFC 3339 with a Z, as Google writes times."""
    return (when or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


def new_id(display_name: str | None = None) -> str:
    """An id derived from the display name plus a random suffix, as the API names stores and documents."""
    slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")[:27].strip("-")
    suffix = secrets.token_hex(6)
    return f"{slug}-{suffix}" if slug else suffix


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """The wire form: the private keys (starting with '_') left out."""
    return {key: value for key, value in resource.items() if not key.startswith("_")}


def page(request: Request, items: list[dict[str, Any]], key: str, default_size: int = 10) -> dict[str, Any]:
    """One page of `items` under `key`, with a nextPageToken when more follow."""
    try:
        size = int(request.query_params.get("pageSize") or default_size)
        start = int(request.query_params.get("pageToken") or 0)
    except ValueError as exc:
        raise ApiError(400, f"Invalid pageSize or pageToken: {exc}") from exc
    size = max(1, min(size, 100))
    body: dict[str, Any] = {key: [public(item) for item in items[start : start + size]]}
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return body


def parse_duration(value: Any, field: str) -> float:
    """Seconds from a protobuf Duration string ('3600s', '1.5s')."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d{1,9})?)s\s*", str(value))
    if match is None:
        raise ApiError(400, f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.Duration), \"{value}\"")
    return float(match.group(1))
