"""Explicit context caches (Developer API): `cachedContents` create, get, list, patch (TTL), delete, and the
`cachedContent` field of generateContent.

A cache holds contents, a system instruction and tools for one model until its expireTime (now + ttl, default
one hour). The API refuses contents below the model's minimum ("Cached content is too small.
total_token_count=N, min_total_token_count=M"); generateContent with a cache prepends its contents, refuses a
request that sets its own system instruction, tools or tool config, and reports `cachedContentTokenCount`.
Tests expire a cache on command with `expire(state, name)` (or POST /_emulator/cachedContents/{id}:expire)
instead of waiting for its TTL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from gemini_mcp.emulator import catalog, validate
from gemini_mcp.emulator.handlers._resources import body_of, new_id, page, parse_duration, public, route, stamp
from gemini_mcp.emulator.state import EmulatorState, Registry, RpcContext
from gemini_mcp.emulator.wire import ApiError, get

COLLECTION = "cachedContents"
DEFAULT_TTL_S = 3600.0
NOT_FOUND = "CachedContent not found (or permission denied)"


def min_tokens(model: str) -> int:
    """The smallest cache the emulated model accepts (the API's figures: Flash 1024, Flash-Lite 2048, Pro and
    the 3.x models 4096)."""
    if "lite" in model:
        return 2048
    if model.startswith("gemini-2.5-flash") or model.startswith("gemini-2.0-flash"):
        return 1024
    return 4096


def register(registry: Registry) -> None:
    versions = "{ver:str}"
    registry.route(route(f"/{versions}/{COLLECTION}", create, ["POST"]))
    registry.route(route(f"/{versions}/{COLLECTION}", list_caches, ["GET"]))
    registry.route(route(f"/{versions}/{COLLECTION}/{{cache_id:str}}", get_cache, ["GET"]))
    registry.route(route(f"/{versions}/{COLLECTION}/{{cache_id:str}}", update, ["PATCH"]))
    registry.route(route(f"/{versions}/{COLLECTION}/{{cache_id:str}}", delete, ["DELETE"]))
    registry.route(route(f"/_emulator/{COLLECTION}/{{cache_id:str}}:expire", expire_now, ["POST"]))


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _expired(cache: dict[str, Any], now: datetime | None = None) -> bool:
    expires: datetime = cache["_expires_at"]
    return (now or datetime.now(UTC)) >= expires


def find(state: EmulatorState, name: str) -> dict[str, Any]:
    """The live cache called `name` ('cachedContents/ID' or 'ID'); an expired one is gone, as at Google."""
    full = name if name.startswith(f"{COLLECTION}/") else f"{COLLECTION}/{name}"
    cache = state.resources.get(full)
    if cache is None or _expired(cache):
        state.resources.pop(full, None)
        raise ApiError(403, NOT_FOUND, "PERMISSION_DENIED")
    return cache


def expire(state: EmulatorState, name: str) -> None:
    """Let the cache's TTL run out now (for tests: no waiting)."""
    full = name if name.startswith(f"{COLLECTION}/") else f"{COLLECTION}/{name}"
    state.resources[full]["_expires_at"] = datetime.now(UTC) - timedelta(seconds=1)


async def expire_now(request: Request) -> dict[str, Any]:
    """Control plane (keyless): POST /_emulator/cachedContents/{id}:expire lets the cache's TTL run out now."""
    state = _state(request)
    name = f"{COLLECTION}/{request.path_params['cache_id']}"
    if name not in state.resources:
        raise ApiError(404, f"no emulated cache {name!r}", "NOT_FOUND")
    expire(state, name)
    return {"expired": name}


def _expiry(body: dict[str, Any], now: datetime) -> datetime:
    ttl = get(body, "ttl")
    expire_time = get(body, "expire_time")
    if ttl is not None and expire_time is not None:
        raise validate.bad("Only one of ttl or expire_time may be set.")
    if expire_time is not None:
        try:
            return datetime.fromisoformat(str(expire_time).replace("Z", "+00:00"))
        except ValueError as exc:
            timestamp = "type.googleapis.com/google.protobuf.Timestamp"
            raise validate.bad(f"Invalid value at 'expire_time' ({timestamp}), {exc}") from exc
    seconds = DEFAULT_TTL_S if ttl is None else parse_duration(ttl, "ttl")
    return now + timedelta(seconds=seconds)


def tokens_of(body: dict[str, Any]) -> int:
    from gemini_mcp.emulator.handlers.generate import content_tokens  # generate uses this module too

    total = sum(content_tokens(content) for content in get(body, "contents") or [])
    system = get(body, "system_instruction")
    if system is not None:
        total += content_tokens(system)
    return total


async def create(request: Request) -> dict[str, Any]:
    state = _state(request)
    body = await body_of(request)
    model_name = str(get(body, "model") or "")
    if not model_name:
        raise validate.bad("* CreateCachedContentRequest.cached_content.model: model is required")
    spec = catalog.lookup(model_name.removeprefix("models/"))
    if spec is None or "createCachedContent" not in spec.methods:
        raise ApiError(
            404,
            f"models/{model_name.removeprefix('models/')} is not found for API version "
            f"{request.path_params['ver']}, or is not supported for createCachedContent.",
            "NOT_FOUND",
        )
    contents = get(body, "contents") or []
    if contents:
        validate.check_contents(contents, state.files, time.monotonic())
    system = get(body, "system_instruction")
    if not contents and system is None:
        raise validate.bad("Cached content must have contents or a system instruction.")
    validate.check_tools(get(body, "tools"))
    total = tokens_of(body)
    minimum = min_tokens(spec.id)
    if total < minimum:
        raise validate.bad(f"Cached content is too small. total_token_count={total}, min_total_token_count={minimum}")
    now = datetime.now(UTC)
    expires = _expiry(body, now)
    name = f"{COLLECTION}/{new_id()}"
    cache: dict[str, Any] = {
        "name": name,
        "model": f"models/{spec.id}",
        "createTime": stamp(now),
        "updateTime": stamp(now),
        "expireTime": stamp(expires),
        "usageMetadata": {"totalTokenCount": total},
        "_expires_at": expires,
        "_contents": contents,
        "_system": system,
        "_tools": get(body, "tools"),
    }
    if get(body, "display_name"):
        cache["displayName"] = str(get(body, "display_name"))
    state.resources[name] = cache
    return public(cache)


async def list_caches(request: Request) -> dict[str, Any]:
    state = _state(request)
    now = datetime.now(UTC)
    live = [r for n, r in state.resources.items() if n.startswith(f"{COLLECTION}/") and not _expired(r, now)]
    return page(request, sorted(live, key=lambda r: str(r["createTime"])), COLLECTION)


async def get_cache(request: Request) -> dict[str, Any]:
    return public(find(_state(request), request.path_params["cache_id"]))


async def update(request: Request) -> dict[str, Any]:
    cache = find(_state(request), request.path_params["cache_id"])
    body = await body_of(request)
    if get(body, "ttl") is None and get(body, "expire_time") is None:
        raise validate.bad("Only ttl or expire_time can be updated.")
    now = datetime.now(UTC)
    expires = _expiry(body, now)
    cache.update(_expires_at=expires, expireTime=stamp(expires), updateTime=stamp(now))
    return public(cache)


async def delete(request: Request) -> dict[str, Any]:
    state = _state(request)
    cache = find(state, request.path_params["cache_id"])
    del state.resources[cache["name"]]
    return {}


# --- generateContent with a cache -------------------------------------------------------------------------
def used_cache(ctx: RpcContext) -> dict[str, Any] | None:
    """The cache a generateContent request names (checked as the API checks it), or None."""
    name = get(ctx.body, "cached_content")
    if not name:
        return None
    cache = find(ctx.state, str(name))
    if cache["model"] != f"models/{ctx.model}":
        raise validate.bad(
            f"Model used by GenerateContent request (models/{ctx.model}) and CachedContent ({cache['model']}) "
            "has to be the same."
        )
    if any(get(ctx.body, key) is not None for key in ("system_instruction", "tools", "tool_config")):
        raise validate.bad(
            "CachedContent can not be used with GenerateContent request setting system_instruction, tools or "
            "tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request."
        )
    return cache


def cached_tokens(cache: dict[str, Any]) -> int:
    return int(cache["usageMetadata"]["totalTokenCount"])


def cached_system(cache: dict[str, Any]) -> Any:
    return cache["_system"]


def cached_contents(cache: dict[str, Any]) -> list[Any]:
    return list(cache["_contents"] or [])


def answer_lines(cache: dict[str, Any]) -> list[str]:
    """What the emulated model says it used from the cache (so a user sees the cache reached the model)."""
    from gemini_mcp.emulator.handlers.generate import prompt_text

    lines = [f"Cached context used: {cache['name']} ({cached_tokens(cache)} tokens)"]
    if cache["_system"] is not None:
        lines.append(f"System instruction followed: {prompt_text(cache['_system'])}")
    return lines
