"""Streamable HTTP as remote agents use it: tools, progress, cancellation, both protocol eras, replicas."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

import anyio
import pytest
from mcp import Client

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY
from tests.http_server import http_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
async def test_tools_and_a_call_in_every_protocol_era(make_env: Callable[..., dict[str, str]], mode: str) -> None:
    with http_server(make_env()) as server:
        async with Client(server.url, mode=mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("generate_text", {"prompt": f"hello over http ({mode})"})
    assert {"generate_text", "generate_image", "generate_video"} <= names
    assert not result.is_error and f"({mode})" in result.content[0].text  # type: ignore[union-attr]
    assert FAKE_KEY not in server.stderr


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_progress_and_cancellation_over_http(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, mode: str
) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    with http_server(make_env()) as server:
        async with Client(server.url, mode=mode) as client:
            streamed = await client.call_tool(
                "generate_text", {"prompt": "stream these words to me please"}, progress_callback=on_progress
            )
            emulator.configure(latency_s=5)
            started = time.monotonic()
            with anyio.move_on_after(0.5):
                await client.call_tool("generate_text", {"prompt": "slow"})
            assert time.monotonic() - started < 2
            emulator.configure(latency_s=0)
            after = await client.call_tool("count_tokens", {"prompt": "still serving"})
    assert not streamed.is_error and len(messages) >= 2 and messages[-1] == streamed.content[0].text  # type: ignore[union-attr]
    assert not after.is_error


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_health_and_readiness(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env()) as server:
        health = await anyio.to_thread.run_sync(get, f"{server.base}/healthz")
        ready = await anyio.to_thread.run_sync(get, f"{server.base}/readyz")
    with http_server(make_env(GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9")) as server:
        unready = await anyio.to_thread.run_sync(get, f"{server.base}/readyz")
    assert health == (200, {"status": "ok", "version": health[1]["version"]})
    assert ready[0] == 200 and ready[1]["ready"] is True
    assert unready[0] == 503 and unready[1]["ready"] is False


async def test_stateless_replicas_answer_alternately_and_share_video_operations(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)  # the video runs until the test finishes it
    env = make_env(
        GOOGLE_GENAI_USE_VERTEXAI="true",
        GEMINI_API_KEY=None,
        GOOGLE_API_KEY=FAKE_KEY,
        GEMINI_MCP_STATE_KEYS="shared-sealing-key-0123456789abcdef",
    )
    with http_server(env, "--stateless") as first, http_server(env, "--stateless") as second:
        answers = []
        for index in range(4):
            replica = (first, second)[index % 2]
            async with Client(replica.url, mode="2026-07-28") as client:
                answers.append(await client.call_tool("generate_text", {"prompt": f"turn {index}"}))
        async with Client(first.url, mode="2026-07-28") as client:
            started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        (operation,) = emulator.operations()  # started upstream before the call returned
        emulator.finish_operation(operation)
        async with Client(second.url, mode="2026-07-28") as client:
            collected = await client.call_tool(
                "get_video_operation", {"operation_name": started.structured_content["operation_name"]}
            )
            refused = await client.call_tool("chat_start", {})
    assert all(not a.is_error for a in answers)
    assert [f"turn {i}" in a.content[0].text for i, a in enumerate(answers)] == [True] * 4  # type: ignore[union-attr]
    assert collected.structured_content["status"] == "done"
    assert refused.is_error and "stateless" in refused.content[0].text  # type: ignore[union-attr]


async def test_legacy_sse_transport(make_env: Callable[..., dict[str, str]]) -> None:
    from mcp.client.sse import sse_client

    with http_server(make_env(), "--legacy-sse") as server:
        async with Client(sse_client(f"{server.base}/sse"), mode="legacy") as client:
            result = await client.call_tool("generate_text", {"prompt": "over sse"})
    assert not result.is_error
