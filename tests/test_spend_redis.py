"""The spend ledger in Redis (GEMINI_MCP_LEDGER_URL=redis://…): replicas share budgets and idempotency keys.

A real `redis-server` is started on 127.0.0.1 for this module (skipped, saying why, where none is installed;
.ci/run installs it). Two servers in one test stand for two replicas: each has its own process state and SDK
client, and only the Redis URL in common."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.server.app import build_server

pytestmark = pytest.mark.anyio
IMAGE_RPC = "generateContent"
READY = "Ready to accept connections"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server is not installed (apt-get install -y redis-server): the Redis ledger is untested here"
        )
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # the server says when it listens: no polling, no sleeping
            seen.append(line)
            if READY in line:
                break
        else:
            pytest.fail("redis-server exited before it was ready:\n" + "".join(seen))
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def replica(make_env: Callable[..., dict[str, str]], redis_url: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    redis.Redis.from_url(redis_url).flushdb()
    made = 0

    def make(**env: str | None) -> Any:
        nonlocal made
        made += 1
        # Each replica has its own media folder and process state; the ledger URL is all they share.
        return build_server(
            Settings.from_env(
                make_env(GEMINI_MCP_LEDGER_URL=redis_url, GEMINI_MCP_OUTPUT_DIR=str(tmp_path / f"r{made}"), **env)
            )
        )

    yield make


async def test_two_replicas_never_exceed_a_shared_budget_under_50_concurrent_calls(
    replica: Callable[..., Any], emulator: Emulator
) -> None:
    budget = {"GEMINI_MCP_BUDGET_DAILY_USD": "0.39"}  # ten images at $0.039
    results: list[CallToolResult] = []

    async def one(client: Client, index: int) -> None:
        results.append(await client.call_tool("generate_image", {"prompt": f"a fox, take {index}"}))

    async with Client(replica(**budget)) as first, Client(replica(**budget)) as second:
        async with anyio.create_task_group() as group:
            for index in range(50):
                group.start_soon(one, first if index % 2 else second, index)
        report = await first.call_tool("spend_report", {"by": "tool"})
    paid = [result for result in results if not result.is_error]
    refused = [result for result in results if result.is_error]
    assert len(paid) == 10, [text_of(result) for result in refused[:3]]
    assert len(emulator.requests(IMAGE_RPC)) == 10  # refused calls sent nothing
    assert all("GEMINI_MCP_BUDGET_DAILY_USD" in text_of(result) for result in refused)
    data = report.structured_content or {}
    assert data["total_usd"] <= 0.39 and data["calls"] == 10  # a refusal leaves no row: nothing was spent
    assert data["rows"][0]["failed"] == 0 and data["ledger"].startswith("redis://127.0.0.1")
    assert data["budgets"]["daily"]["used_usd"] <= 0.39


async def test_an_idempotency_key_holds_across_replicas(replica: Callable[..., Any], emulator: Emulator) -> None:
    call = {"prompt": "a heron", "idempotency_key": "heron-1"}
    async with Client(replica()) as first:
        made = await first.call_tool("generate_image", call)
    async with Client(replica()) as second:
        again = await second.call_tool("generate_image", call)
    assert not made.is_error and not again.is_error, text_of(again)
    assert len(emulator.requests(IMAGE_RPC)) == 1
    assert (again.structured_content or {})["cost"]["replayed"] is True


async def test_a_failed_call_releases_its_reservation_in_redis(replica: Callable[..., Any], emulator: Emulator) -> None:
    emulator.add_fault(match=IMAGE_RPC, status=400, message="Invalid prompt.", times=1)
    budget = {"GEMINI_MCP_BUDGET_DAILY_USD": "0.05"}
    async with Client(replica(**budget)) as client:
        failed = await client.call_tool("generate_image", {"prompt": "a fox"})
        paid = await client.call_tool("generate_image", {"prompt": "a fox"})
        over = await client.call_tool("generate_image", {"prompt": "a fox"})
        report = await client.call_tool("spend_report", {})
    assert failed.is_error and not paid.is_error and over.is_error, text_of(paid)
    row = (report.structured_content or {})["rows"][0]
    assert row["calls"] == 2 and row["failed"] == 1 and row["usd"] < 0.05
