"""Context caches through MCP: create (refused below the minimum with the numbers), use from the text and
understanding tools with the cached token count reported, list, update the TTL, delete, expiry."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers import caches as emulated_caches
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
HANDBOOK = "Section 4.2: refunds are paid within 14 days of a return. " * 120  # about 1,700 tokens


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def make_cache(client: Client, **extra: Any) -> dict[str, Any]:
    args = {"text": HANDBOOK, "system_instruction": "Answer from the handbook only.", "display_name": "handbook"}
    result = await client.call_tool("create_cache", {**args, **extra})
    assert not result.is_error, text_of(result)
    cache: dict[str, Any] = result.structured_content["cache"]
    return cache


async def test_a_cached_call_reports_the_cached_tokens(client: Client, emulator: Emulator) -> None:
    cache = await make_cache(client)
    assert cache["name"].startswith("cachedContents/") and cache["model"] == "gemini-2.5-flash"
    assert cache["tokens"] > 1024 and cache["display_name"] == "handbook" and cache["expires"]
    [created] = emulator.requests(where=lambda r: r["path"].endswith("/cachedContents") and r["method"] == "POST")
    assert created["body"]["ttl"] == "3600s" and created["body"]["model"] == "models/gemini-2.5-flash"

    result = await client.call_tool(
        "generate_text", {"prompt": "How fast are refunds?", "cached_content": cache["name"]}
    )
    assert not result.is_error, text_of(result)
    usage = result.structured_content["usage"]
    assert usage["cached_tokens"] == cache["tokens"]
    assert usage["prompt_tokens"] > usage["cached_tokens"]
    assert "Answer from the handbook only." in text_of(result)  # the cache's system instruction reached the model
    body = emulator.requests("generateContent")[-1]["body"]
    assert body["cachedContent"] == cache["name"] and "systemInstruction" not in body

    # The model defaults to the cache's own; generate_json and analyze_media take it too.
    data = await client.call_tool(
        "generate_json",
        {
            "prompt": "Refund days?",
            "schema": {"type": "object", "properties": {"days": {"type": "integer"}}},
            "cached_content": cache["name"].removeprefix("cachedContents/"),
        },
    )
    assert not data.is_error, text_of(data)
    assert data.structured_content["usage"]["cached_tokens"] == cache["tokens"]
    media = await client.call_tool(
        "analyze_media",
        {"question": "Same policy here?", "media": [{"data": "aGVsbG8gd29ybGQ="}], "cached_content": cache["name"]},
    )
    assert not media.is_error, text_of(media)
    assert media.structured_content["usage"]["cached_tokens"] == cache["tokens"]


async def test_below_the_minimum_is_refused_with_the_numbers(client: Client) -> None:
    result = await client.call_tool("create_cache", {"text": "A short note."})
    assert result.is_error
    message = text_of(result)
    assert message.startswith("contents: ") and "1024-token minimum" in message and "gemini-2.5-flash" in message
    assert "tokens is below" in message and "implicit caching" in message


async def test_list_update_and_delete(client: Client) -> None:
    cache = await make_cache(client)
    listed = await client.call_tool("list_caches", {})
    assert [c["name"] for c in listed.structured_content["caches"]] == [cache["name"]]
    updated = await client.call_tool("update_cache", {"name": cache["name"], "ttl_seconds": 7200})
    assert not updated.is_error, text_of(updated)
    assert updated.structured_content["cache"]["expires"] > cache["expires"]
    deleted = await client.call_tool("delete_cache", {"name": cache["name"]})
    assert not deleted.is_error and deleted.structured_content["deleted"] == cache["name"]
    assert (await client.call_tool("list_caches", {})).structured_content["caches"] == []


async def test_unknown_and_expired_caches_are_clear_tool_errors(client: Client, emulator: Emulator) -> None:
    for tool, args in [
        ("update_cache", {"name": "cachedContents/nosuch", "ttl_seconds": 60}),
        ("delete_cache", {"name": "nosuch"}),
        ("generate_text", {"prompt": "Hi", "cached_content": "cachedContents/nosuch"}),
    ]:
        result = await client.call_tool(tool, args)
        assert result.is_error, tool
        message = text_of(result)
        assert "cachedContents/nosuch does not exist or is no longer available" in message, message
        assert "create_cache" in message and FAKE_KEY not in message

    cache = await make_cache(client)
    emulated_caches.expire(emulator.state, cache["name"])
    expired = await client.call_tool("generate_text", {"prompt": "Hi", "cached_content": cache["name"]})
    assert expired.is_error and text_of(expired).startswith("cached_content: ") and "TTL" in text_of(expired)


async def test_a_cache_refuses_what_it_cannot_be_combined_with(client: Client, emulator: Emulator) -> None:
    cache = await make_cache(client)
    emulator.state.clear_requests()
    for args, field in [
        ({"system_instruction": "Be terse."}, "system_instruction"),
        ({"url_context": True}, "url_context"),
        ({"model": "pro"}, "model"),
    ]:
        result = await client.call_tool("generate_text", {"prompt": "Hi", "cached_content": cache["name"], **args})
        assert result.is_error and text_of(result).startswith(f"{field}: "), text_of(result)
    bad = await client.call_tool("generate_text", {"prompt": "Hi", "cached_content": "not a name"})
    assert bad.is_error and "not a cache name" in text_of(bad)
    assert not [r for r in emulator.requests("generateContent")]  # refused before anything was generated


async def test_the_caches_toolset(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="caches") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"create_cache", "list_caches", "update_cache", "delete_cache"}
    assert tools["delete_cache"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["list_caches"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert json.dumps(tools["create_cache"].input_schema).count("ttl_seconds") == 1


async def test_the_control_plane_expires_a_cache_over_http(client: Client, emulator: Emulator) -> None:
    import httpx2

    cache = await make_cache(client)
    async with httpx2.AsyncClient(base_url=emulator.base_url) as http:
        answer = await http.post(f"/_emulator/{cache['name']}:expire")
        assert answer.status_code == 200 and answer.json() == {"expired": cache["name"]}
        assert (await http.post("/_emulator/cachedContents/nosuch:expire")).status_code == 404
    listed = await client.call_tool("list_caches", {})
    assert listed.structured_content["caches"] == []
