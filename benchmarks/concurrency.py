"""Concurrency over Streamable HTTP, side by side with a bare `mcp` echo server and the plain SDK.

1. Throughput with an instant upstream: 1, 8 and 32 MCP clients (one session each) calling in a loop,
   gemini-mcp's generate_text against the bare echo server's echo (the floor; target: ≥ 0.8 × its calls/s
   with 32 clients), and against the same bare server's `generate` tool, which makes the same
   generateContent request through the plain SDK (the floor plus the SDK: what any MCP server that calls
   Gemini pays).
2. Bursts at 100 ms of emulator latency, with the server's default settings (GEMINI_MCP_MAX_CONCURRENCY
   included): N concurrent generate_text calls on one client against one call, beside the same bursts
   sent straight through the SDK from this process, and the CPU each process spends per call. Target:
   a burst of N ≤ 1.2 × one call up to N = 32.

`--limits 8,16,32,64` repeats the bursts with the server started at each GEMINI_MCP_MAX_CONCURRENCY (how
the default was chosen). The emulator runs in its own process.

    python benchmarks/concurrency.py [--calls 32] [--limits default] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    KEY,
    configure_emulator,
    cpu_seconds,
    emulator_process,
    http_server,
    listening,
    ratios,
    server_env,
    table,
)

ECHO = str(Path(__file__).with_name("_echo_server.py"))
LATENCY_S = 0.1
CLIENTS = (1, 8, 32)
ROUNDS = 3  # bursts per size; the median is reported


async def burst(calls: int, call: Callable[[int], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(calls):
            group.start_soon(call, index)
    return time.perf_counter() - started


async def throughput(url: str, tool: str, arguments: dict[str, Any], clients: int, total: int) -> float:
    """Calls per second of `clients` sessions (opened before the clock starts) making `total` calls between them."""
    from mcp import Client

    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(Client(url)) for _ in range(clients)]
        for session in sessions:
            await session.call_tool(tool, arguments)  # warm: connections, lazy imports
        each = max(1, total // clients)

        async def loop(index: int) -> None:
            for _ in range(each):
                result = await sessions[index].call_tool(tool, arguments)
                assert not result.is_error, result.content

        elapsed = await burst(clients, loop)
    return clients * each / elapsed


async def bursts(url: str, server_pid: int, emulator_pid: int, sizes: list[int], sdk: Any) -> list[list[Any]]:
    """Per size: median burst wall time through MCP and straight through the SDK, single calls, CPU per call."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    top = max(sizes)
    limits = httpx2.Limits(max_connections=top + 8, max_keepalive_connections=top + 8)
    rows = []
    async with (
        httpx2.AsyncClient(limits=limits, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):

        async def through_mcp(index: int) -> None:
            result = await client.call_tool("generate_text", {"prompt": f"call {index}"})
            assert not result.is_error, result.content

        async def direct(index: int) -> None:
            await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents=f"call {index}")

        await burst(top, through_mcp)  # warm-up: connections on both sides
        await burst(top, direct)
        single = statistics.median([await burst(1, through_mcp) for _ in range(5)])
        single_sdk = statistics.median([await burst(1, direct) for _ in range(5)])
        for size in sizes:
            walls, floors = [], []
            pids = (server_pid, emulator_pid, None)
            spent = [0.0, 0.0, 0.0]  # summed over the rounds: one burst is only a few clock ticks
            for _ in range(ROUNDS):
                before = [cpu_seconds(pid) for pid in pids]
                walls.append(await burst(size, through_mcp))
                spent = [total + cpu_seconds(pid) - b for total, pid, b in zip(spent, pids, before, strict=True)]
                floors.append(await burst(size, direct))
            cpu = [total / (size * ROUNDS) * 1000 for total in spent]
            rows.append([size, statistics.median(walls), single, statistics.median(floors), single_sdk, *cpu])
    return rows


async def run(calls: int, limits: list[str], total: int) -> None:
    sizes = sorted({size for size in (1, 8, 16, 32, calls) if size <= calls})
    clients = [n for n in CLIENTS if n <= max(calls, 1)] or [1]
    found: dict[str, list[list[Any]]] = {}
    with emulator_process() as (base_url, emulator), tempfile.TemporaryDirectory() as media:
        sdk = direct_client(base_url)
        env = server_env(base_url, media)
        configure_emulator(base_url, latency_s=0)
        served: list[list[Any]] = []
        floor_env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": base_url}
        with listening([sys.executable, ECHO, "--with-sdk"], floor_env) as (echo_base, _), http_server(env) as (url, _):
            for n in clients:
                ours = await throughput(url, "generate_text", {"prompt": "hi"}, n, total)
                with_sdk = await throughput(f"{echo_base}/mcp", "generate", {"prompt": "hi"}, n, total)
                floor = await throughput(f"{echo_base}/mcp", "echo", {"text": "hi"}, n, total)
                served.append([n, ours, with_sdk, floor])
        configure_emulator(base_url, latency_s=LATENCY_S)
        for limit in limits:
            extra = {} if limit == "default" else {"GEMINI_MCP_MAX_CONCURRENCY": limit}
            with http_server(server_env(base_url, media, **extra)) as (url, server):
                found[limit] = await bursts(url, server.pid, emulator.pid, sizes, sdk)
    table(
        "throughput over HTTP, instant upstream (calls/s): gemini-mcp generate_text, the bare server's generate "
        "(plain SDK), its echo",
        ["clients", "gemini-mcp", "bare + SDK", "echo floor", "÷ bare + SDK", "÷ floor"],
        [
            [n, f"{ours:.0f}", f"{sdk:.0f}", f"{floor:.0f}", f"{ours / sdk:.2f}", f"{ours / floor:.2f}"]
            for n, ours, sdk, floor in served
        ],
    )
    for limit, rows in found.items():
        setting = f"GEMINI_MCP_MAX_CONCURRENCY={limit}" if limit != "default" else "default settings"
        table(
            f"bursts of generate_text over HTTP, emulator latency {LATENCY_S * 1000:.0f} ms, {setting} "
            f"(single call {rows[0][2] * 1000:.0f} ms, straight through the SDK {rows[0][4] * 1000:.0f} ms)",
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
                [n, f"{w * 1000:.0f}", f"{w / s:.2f}", f"{f * 1000:.0f}", f"{f / fs:.2f}", *(f"{c:.2f}" for c in cpu)]
                for n, w, s, f, fs, *cpu in rows
            ],
        )
    print(f"the machine has {os.cpu_count()} cores")
    values = {f"throughput_{n}_over_floor": ours / floor for n, ours, _, floor in served}
    values |= {f"throughput_{n}_over_bare_sdk": ours / sdk for n, ours, sdk, _ in served}
    for limit, rows in found.items():
        suffix = "" if limit == "default" else f"_limit_{limit}"
        n, wall, single, floor, single_sdk, *_ = rows[-1]
        values[f"burst_{n}_over_single{suffix}"] = wall / single
        values[f"sdk_burst_{n}_over_single{suffix}"] = floor / single_sdk
    ratios(**values)


def direct_client(base_url: str) -> Any:
    """The plain SDK, with the same socket options as the server's transport, called from this process."""
    import httpx2
    from google import genai
    from google.genai import types

    from gemini_mcp.gemini.transport import NO_DELAY

    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=200)
    transport = httpx2.AsyncHTTPTransport(socket_options=NO_DELAY, limits=limits)
    return genai.Client(
        api_key=KEY, http_options=types.HttpOptions(base_url=base_url, async_client_args={"transport": transport})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=32, help="the largest burst (default 32)")
    parser.add_argument("--limits", default="default", help="GEMINI_MCP_MAX_CONCURRENCY values, e.g. 8,16,32,64")
    parser.add_argument("--total", type=int, default=640, help="calls per throughput measurement (default 640)")
    parser.add_argument("--quick", action="store_true", help="a tiny run: only checks that the script works")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.total = 8, 16
    anyio.run(run, args.calls, [limit.strip() for limit in args.limits.split(",")], args.total)


if __name__ == "__main__":
    main()
