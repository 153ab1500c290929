"""Explicit context caches: create_cache, list_caches, update_cache, delete_cache.

A cache holds long material (documents, media, a system instruction) for one model; generate_text,
generate_json and analyze_media take its name as `cached_content`, and the cached tokens are billed at the
cached rate (10-25% of the input price, by model, plus storage per token-hour) instead of in full on every call.
The result's `usage.cached_tokens` shows the saving.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult
from pydantic import Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini import caches
from gemini_mcp.gemini.models import Task, pick
from gemini_mcp.gemini.request import MEDIA_DESCRIPTION, SYSTEM_DESCRIPTION, user_contents
from gemini_mcp.media.inputs import MediaInput
from gemini_mcp.tools._knowledge import (
    CREATES,
    DELETES,
    DEVELOPER_API_HINT,
    GEMINI_ONLY,
    NEXT_PAGE,
    READS,
    UPDATES,
    Deleted,
    PagedInput,
    page_text,
)

TTL_DESCRIPTION = "Lifetime in seconds; storage is billed per token-hour."
NAME_DESCRIPTION = "cachedContents/ID from create_cache."


class CacheInfo(ToolOutput):
    name: Annotated[str, Field(description="Pass as cached_content to generate_text, generate_json, analyze_media.")]
    model: Annotated[str, Field(description="The only model this cache serves.")]
    display_name: str | None = None
    tokens: Annotated[int | None, Field(description="Tokens held: billed at the cached rate in each call.")] = None
    expires: Annotated[str | None, Field(description="When the cache is deleted (update_cache extends it).")] = None


def _info(cache: caches.Cache) -> CacheInfo:
    return CacheInfo(
        name=cache.name, model=cache.model, display_name=cache.display_name, tokens=cache.tokens, expires=cache.expires
    )


def _line(cache: CacheInfo) -> str:
    label = f" '{cache.display_name}'" if cache.display_name else ""
    return f"{cache.name}{label}: {cache.model}, {cache.tokens or '?'} tokens, expires {cache.expires or '?'}"


class CacheOutput(ToolOutput):
    cache: CacheInfo


# --- create_cache ------------------------------------------------------------------------------------------
class CreateCacheInput(ToolInput):
    """Arguments of create_cache."""

    text: Annotated[str | None, Field(description="Material to cache: documents, code, examples.")] = None
    media: Annotated[list[MediaInput] | None, Field(max_length=50, description=MEDIA_DESCRIPTION)] = None
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None
    model: Annotated[str | None, Field(description="Default flash; the cache serves only this model.")] = None
    ttl_seconds: Annotated[int, Field(ge=1, description=TTL_DESCRIPTION)] = 3600
    display_name: Annotated[str | None, Field(max_length=128, description="A label for list_caches.")] = None


async def create_cache(args: CreateCacheInput, call: Call) -> CallToolResult:
    if not args.text and not args.media:
        raise UserInputError("text: give the material to cache as text, media or both")
    call.model = model = pick(call, args.model, Task.TEXT).model
    contents = await user_contents(args.text, args.media, call)
    cache = _info(
        await caches.create_cache(
            call,
            model,
            contents,
            system_instruction=args.system_instruction,
            ttl_s=args.ttl_seconds,
            display_name=args.display_name,
        )
    )
    text = (
        f"Cached {cache.tokens or '?'} tokens for {cache.model} as {cache.name}, until {cache.expires or '?'}. Pass "
        f"cached_content='{cache.name}' to generate_text, generate_json or analyze_media (without system_instruction "
        "or tools: the cache carries them)."
    )
    return structured_result(CacheOutput(cache=cache), text=text)


# --- list_caches -------------------------------------------------------------------------------------------
class ListCachesInput(PagedInput):
    """Arguments of list_caches."""


class ListCachesOutput(ToolOutput):
    caches: list[CacheInfo]
    next_page_token: Annotated[str | None, Field(description=NEXT_PAGE)] = None


async def list_caches(args: ListCachesInput, call: Call) -> CallToolResult:
    found, token = await caches.list_caches(call, args.page_size, args.page_token)
    output = ListCachesOutput(caches=[_info(cache) for cache in found], next_page_token=token)
    return structured_result(output, text=page_text([_line(c) for c in output.caches], token, "No caches."))


# --- update_cache ------------------------------------------------------------------------------------------
class UpdateCacheInput(ToolInput):
    """Arguments of update_cache."""

    name: Annotated[str, Field(min_length=1, description=NAME_DESCRIPTION)]
    ttl_seconds: Annotated[int, Field(ge=1, description="New lifetime, counted from now.")]


async def update_cache(args: UpdateCacheInput, call: Call) -> CallToolResult:
    name = caches.cache_name(args.name, "name")
    cache = _info(await caches.update_cache(call, name, args.ttl_seconds, "name"))
    return structured_result(CacheOutput(cache=cache), text=f"Updated {_line(cache)}")


# --- delete_cache ------------------------------------------------------------------------------------------
class DeleteCacheInput(ToolInput):
    """Arguments of delete_cache."""

    name: Annotated[str, Field(min_length=1, description=NAME_DESCRIPTION)]


async def delete_cache(args: DeleteCacheInput, call: Call) -> CallToolResult:
    name = caches.cache_name(args.name, "name")
    await caches.delete_cache(call, name, "name")
    return structured_result(Deleted(deleted=name), text=f"Deleted {name}: its storage is no longer billed.")


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        opt_in=True,
        name="create_cache",
        title="Cache context for reuse",
        description=(
            "Cache long material (text, PDFs, video, a system instruction) for one model, then ask many questions "
            "with generate_text/generate_json/analyze_media `cached_content`: cached tokens cost 10-25% of the "
            "input price, plus storage per hour. Worth it above a few thousand tokens reused several times; the "
            "API refuses less than the model's minimum (1024-4096 tokens, the error gives the numbers)."
        ),
        input_model=CreateCacheInput,
        output_model=CacheOutput,
        handler=create_cache,
        annotations=CREATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="list_caches",
        title="List context caches",
        description="List the live context caches (name, model, tokens, expiry), paged.",
        input_model=ListCachesInput,
        output_model=ListCachesOutput,
        handler=list_caches,
        annotations=READS,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="update_cache",
        title="Extend or shorten a cache's lifetime",
        description="Set a context cache's TTL (seconds from now); its contents cannot change.",
        input_model=UpdateCacheInput,
        output_model=CacheOutput,
        handler=update_cache,
        annotations=UPDATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="delete_cache",
        title="Delete a context cache",
        description="Delete a context cache now, which stops its storage billing.",
        input_model=DeleteCacheInput,
        output_model=Deleted,
        handler=delete_cache,
        annotations=DELETES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
]
