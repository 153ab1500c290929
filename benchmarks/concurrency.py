"""Concurrency: 128 concurrent generate_text calls over HTTP while the emulator adds 300 ms of latency,
against a single call. Target: wall time ≤ 1.3 × one call (nothing serialises: one pooled async client,
no blocking I/O, no global locks). The server runs with GEMINI_MCP_MAX_CONCURRENCY=128 (the default, 16,
deliberately queues bursts to protect quotas, which would serialise this test into 8 rounds).

The emulator runs in its own process. Smaller bursts are measured too, and the same bursts sent straight
through the SDK from this process: that floor shows how much of the time is the SDK's own CPU per call.

    python benchmarks/concurrency.py [--calls 128] [--quick]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    command_line,
    configure_emulator,
    cpu_seconds,
    emulator_process,
    http_server,
    ratios,
    server_env,
    table,
)

LATENCY_S = 0.3


async def burst(calls: int, call: Callable[[int], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(calls):
            group.start_soon(call, index)
    return time.perf_counter() - started


async def run(calls: int) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    sizes = sorted({size for size in (16, 32, 64, calls) if size <= calls})
    rows = []
    errors = 0
    with emulator_process() as (base_url, emulator), tempfile.TemporaryDirectory() as media:
        env = server_env(base_url, media, GEMINI_MCP_MAX_CONCURRENCY=str(max(calls, 16)))
        sdk = direct_client(base_url, calls)
        with http_server(env) as (url, server):
            limits = httpx2.Limits(max_connections=calls + 8, max_keepalive_connections=calls + 8)
            async with (
                httpx2.AsyncClient(limits=limits, timeout=60) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):

                async def through_mcp(index: int) -> None:
                    nonlocal errors
                    result = await client.call_tool("generate_text", {"prompt": f"call {index}"})
                    errors += bool(result.is_error)

                async def direct(index: int) -> None:
                    await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=f"call {index}")

                await burst(min(calls, 32), through_mcp)  # warm-up: connections on both sides
                await burst(min(calls, 32), direct)
                configure_emulator(base_url, latency_s=LATENCY_S)
                single = await burst(1, through_mcp)
                for size in sizes:
                    pids = (server.pid, emulator.pid, None)
                    before = [cpu_seconds(pid) for pid in pids]
                    wall = await burst(size, through_mcp)
                    cpu = [(cpu_seconds(pid) - b) / size * 1000 for pid, b in zip(pids, before, strict=True)]
                    floor = await burst(size, direct)
                    rows.append([size, wall, floor, *cpu])
    table(
        f"concurrent generate_text over HTTP, emulator latency {LATENCY_S * 1000:.0f} ms, single call "
        f"{single * 1000:.0f} ms",
        [
            "calls",
            "through MCP ms",
            "× single",
            "direct SDK ms",
            "× single",
            "CPU ms/call: server",
            "emulator",
            "client",
        ],
        [
            [
                n,
                f"{w * 1000:.0f}",
                f"{w / single:.2f}",
                f"{f * 1000:.0f}",
                f"{f / single:.2f}",
                *(f"{c:.2f}" for c in cpu),
            ]
            for n, w, f, *cpu in rows
        ],
    )
    print(f"errors: {errors}; the machine has {os.cpu_count()} cores")
    _, wall, floor, *_ = rows[-1]
    ratios(concurrent_over_single=wall / single, concurrent_over_direct_sdk=wall / floor)


def direct_client(base_url: str, calls: int) -> Any:
    """The SDK with the same transport settings as the server's, called from this process."""
    from google import genai
    from google.genai import types

    from gemini_mcp.gemini.transport import ResilientTransport

    return genai.Client(
        api_key="bench",
        http_options=types.HttpOptions(base_url=base_url, async_client_args={"transport": ResilientTransport(calls)}),
    )


def main() -> None:
    command_line(__doc__, run, "calls", default=128, quick=8)


if __name__ == "__main__":
    main()
