"""Explicit context caches: create (refused below the model's minimum with both numbers), list, get, update
the TTL, delete; and `use_cache`, how a generation names one.

A cache is bound to one model and holds contents, a system instruction and tools; a request that uses it may
not set its own system instruction or tools (the API refuses), and its prompt tokens then include the cached
ones, billed at the cached rate (`usage.cached_tokens`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import UserInputError
from gemini_mcp.gemini.files import missing

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

PREFIX = "cachedContents/"
_TOO_SMALL = re.compile(r"total_token_count=(\d+), min_total_token_count=(\d+)")
GONE_FIX = "caches end when their TTL runs out: create it again with create_cache (list_caches shows the live ones)"


@dataclass(frozen=True)
class Cache:
    name: str
    model: str
    display_name: str | None
    expires: str | None
    created: str | None
    updated: str | None
    tokens: int | None


def cache_name(value: str, field: str) -> str:
    """'cachedContents/ID' from the name create_cache returned, or its ID."""
    text = value.strip()
    ident = text.removeprefix(PREFIX)
    if not ident or "/" in ident or " " in ident:
        raise UserInputError(f"{field}: '{value}' is not a cache name; give the name create_cache returned")
    return PREFIX + ident


def _stamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _cache(found: types.CachedContent) -> Cache:
    usage = found.usage_metadata
    return Cache(
        name=found.name or "",
        model=(found.model or "").removeprefix("models/"),
        display_name=found.display_name,
        expires=_stamp(found.expire_time),
        created=_stamp(found.create_time),
        updated=_stamp(found.update_time),
        tokens=usage.total_token_count if usage is not None else None,
    )


def _reraise(exc: Exception, field: str, name: str) -> None:
    problem = missing(exc, field, f"cache {name}", GONE_FIX)
    if problem is not None:
        raise problem from None


async def create_cache(
    call: GeminiCall,
    model: str,
    contents: list[types.Content],
    *,
    system_instruction: str | None,
    ttl_s: int,
    display_name: str | None,
) -> Cache:
    from google.genai import errors as genai_errors
    from google.genai import types

    client = await call.client()
    config = types.CreateCachedContentConfig(
        contents=contents or None,
        system_instruction=system_instruction,
        ttl=f"{ttl_s}s",
        display_name=display_name,
    )
    try:
        return _cache(await client.aio.caches.create(model=model, config=config))
    except genai_errors.APIError as exc:
        small = _TOO_SMALL.search(exc.message or "")
        if exc.code == 400 and small is not None:
            total, minimum = int(small.group(1)), int(small.group(2))
            raise UserInputError(
                f"contents: {total} tokens is below the {minimum}-token minimum a cache on {model} must hold; add "
                f"at least {minimum - total} tokens of material (a cache pays off for long context reused many "
                "times), or send the material with each call instead: Gemini's implicit caching discounts "
                "repeated prefixes by itself"
            ) from None
        raise


async def list_caches(call: GeminiCall, page_size: int, page_token: str | None) -> tuple[list[Cache], str | None]:
    from google.genai import types

    client = await call.client()
    pager = await client.aio.caches.list(
        config=types.ListCachedContentsConfig(page_size=page_size, page_token=page_token)
    )
    return [_cache(found) for found in pager.page], pager.config.get("page_token") or None


async def get_cache(call: GeminiCall, name: str, field: str) -> Cache:
    client = await call.client()
    try:
        return _cache(await client.aio.caches.get(name=name))
    except Exception as exc:
        _reraise(exc, field, name)
        raise


async def update_cache(call: GeminiCall, name: str, ttl_s: int, field: str) -> Cache:
    from google.genai import types

    client = await call.client()
    try:
        updated = await client.aio.caches.update(name=name, config=types.UpdateCachedContentConfig(ttl=f"{ttl_s}s"))
    except Exception as exc:
        _reraise(exc, field, name)
        raise
    return _cache(updated)


async def delete_cache(call: GeminiCall, name: str, field: str) -> None:
    client = await call.client()
    try:
        await client.aio.caches.delete(name=name)
    except Exception as exc:
        _reraise(exc, field, name)
        raise


async def use_cache(
    call: GeminiCall,
    cached_content: str | None,
    model: str,
    *,
    model_given: bool,
    conflicts: dict[str, bool],
    field: str = "cached_content",
) -> tuple[str, str | None]:
    """The model to call and the cache name to send, for a generation that may name a cache.

    With a cache, the model is the cache's own unless the caller named one (a cache serves one model: a different
    one is refused), and `conflicts` — the request's own system instruction or tools, by field name — are refused,
    as the API refuses them."""
    if cached_content is None:
        return model, None
    name = cache_name(cached_content, field)
    for conflict, present in conflicts.items():
        if present:
            raise UserInputError(
                f"{conflict}: cannot be combined with {field} (Gemini refuses a request that sets its own system "
                "instruction or tools when it uses a cache); put it in the cache with create_cache, or leave "
                f"{field} out"
            )
    cache = await get_cache(call, name, field)
    if model_given and model != cache.model:
        raise UserInputError(
            f"model: cache {name} was made for {cache.model}, and a cache serves only its own model; leave model "
            f"out (it defaults to the cache's) or create a cache for {model}"
        )
    return cache.model, name


CACHED_CONTENT_DESCRIPTION = "From create_cache; billed at the cached rate."
