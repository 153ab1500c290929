"""Per-call overhead of generate_text through MCP (in memory, stdio, HTTP) against the emulator, compared
with the direct SDK call to the same emulator, and with a bare echo tool round trip over the same
transport. Targets: MCP overhead (MCP call − direct SDK call) ≤ 1.1 × the echo round trip over stdio and
HTTP, ≤ 1.3 × in memory.

Over HTTP it also measures CPU: what the server process spends per generate_text, against what the bare
echo server spends per echo call plus what the plain SDK spends (in this process, nothing else running)
on the same generateContent request. Target: ours ≤ 1.1 × (echo floor + plain SDK). Beside it, the same bare
server's `generate` tool making that request through the plain SDK (one process). Blocks of calls take
turns, several rounds, medians (CPU time is read from /proc in clock ticks, so a block must be long).

    python benchmarks/call_overhead.py [--calls 200] [--quick]
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    KEY,
    command_line,
    cpu_seconds,
    emulator_process,
    listening,
    median_ms,
    ratios,
    server_env,
    table,
)

ECHO = str(Path(__file__).with_name("_echo_server.py"))
PROMPT = {"prompt": "Say something short"}


async def timed(calls: int, **variants: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Median ms per variant. Variants take turns call by call, so drift in machine speed (common on
    shared virtual machines) affects them all alike instead of whichever happened to run last."""
    for call in variants.values():
        for _ in range(min(20, calls)):  # warm-up: pools, caches, lazy imports
            await call()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(calls):
        for name, call in variants.items():
            started = time.perf_counter()
            await call()
            samples[name].append(time.perf_counter() - started)
    return {name: median_ms(values) for name, values in samples.items()}


async def cpu_per_call(
    calls: int, rounds: int, **variants: tuple[int | None, Callable[[], Awaitable[Any]]]
) -> dict[str, float]:
    """Median CPU ms per call of the process each variant runs in (None: this one), blocks taking turns."""
    for _, call in variants.values():
        for _ in range(min(20, calls)):  # warm-up: a variant new here imports the SDK on its first call
            await call()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (pid, call) in variants.items():
            before = cpu_seconds(pid)
            for _ in range(calls):
                await call()
            samples[name].append((cpu_seconds(pid) - before) / calls * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


async def run(calls: int) -> None:
    from benchmarks._common import http_server
    from google import genai
    from google.genai import types
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server

    rows = []
    with emulator_process() as (base_url, _), tempfile.TemporaryDirectory() as media:
        env = server_env(base_url, media)
        import httpx2

        from gemini_mcp.gemini.transport import NO_DELAY

        # The same socket options the server uses, so the baseline is not penalised by Nagle + delayed ACK.
        transport = httpx2.AsyncHTTPTransport(socket_options=NO_DELAY)
        sdk = genai.Client(
            api_key=KEY,
            http_options=types.HttpOptions(base_url=base_url, async_client_args={"transport": transport}),
        )

        def direct() -> Awaitable[Any]:
            return sdk.aio.models.generate_content(model="gemini-2.5-flash", contents="Say something short")

        import benchmarks._echo_server as echo_module

        transports: dict[str, tuple[Any, Any]] = {
            "in memory": (build_server(Settings.from_env(env)), echo_module.server),
            "stdio": (
                StdioServerParameters(command=sys.executable, args=["-m", "gemini_mcp"], env=env),
                StdioServerParameters(command=sys.executable, args=[ECHO], env=dict(os.environ)),
            ),
        }
        # The echo MCPServer configures logging at INFO when imported; keep both servers equally quiet.
        logging.getLogger().setLevel(logging.WARNING)
        for name, (ours, floor) in transports.items():
            async with Client(ours) as client, Client(floor) as echo:
                ms = await timed(
                    calls,
                    mcp=lambda c=client: c.call_tool("generate_text", PROMPT),
                    direct=direct,
                    echo=lambda e=echo: e.call_tool("echo", {"text": "hi"}),
                )
            rows.append([name, ms["mcp"], ms["direct"], ms["echo"]])

        floor_env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": base_url}
        with (
            listening([sys.executable, ECHO, "--with-sdk"], floor_env) as (echo_base, floor),
            http_server(env) as (url, ours),
        ):
            async with Client(url) as client, Client(f"{echo_base}/mcp") as echo:
                ms = await timed(
                    calls,
                    mcp=lambda: client.call_tool("generate_text", PROMPT),
                    direct=direct,
                    echo=lambda: echo.call_tool("echo", {"text": "hi"}),
                )
                cpu = await cpu_per_call(
                    max(calls, 5),
                    5 if calls >= 50 else 1,
                    ours=(ours.pid, lambda: client.call_tool("generate_text", PROMPT)),
                    floor=(floor.pid, lambda: echo.call_tool("echo", {"text": "hi"})),
                    sdk=(None, direct),
                    bare_sdk=(floor.pid, lambda: echo.call_tool("generate", PROMPT)),
                )
            rows.append(["HTTP", ms["mcp"], ms["direct"], ms["echo"]])
    table(
        f"generate_text per-call latency (median of {calls})",
        ["transport", "MCP generate_text ms", "direct SDK ms", "echo round trip ms", "overhead ms", "overhead/echo"],
        [
            [r[0], f"{r[1]:.2f}", f"{r[2]:.2f}", f"{r[3]:.2f}", f"{r[1] - r[2]:.2f}", f"{(r[1] - r[2]) / r[3]:.2f}"]
            for r in rows
        ],
    )
    budget = cpu["floor"] + cpu["sdk"]
    table(
        f"CPU per call over HTTP (median of 5 blocks of {max(calls, 5)})",
        ["process", "CPU ms/call"],
        [
            ["gemini-mcp server, generate_text", f"{cpu['ours']:.2f}"],
            ["bare echo server, echo (floor)", f"{cpu['floor']:.2f}"],
            ["plain SDK, generateContent (this process)", f"{cpu['sdk']:.2f}"],
            ["floor + SDK", f"{budget:.2f}"],
            ["bare server's generate tool (plain SDK inside)", f"{cpu['bare_sdk']:.2f}"],
        ],
    )
    ratios(
        **{f"overhead_over_echo_{r[0].replace(' ', '_')}": (r[1] - r[2]) / r[3] for r in rows},
        http_cpu_over_floor_plus_sdk=cpu["ours"] / budget if budget else float("nan"),
        http_cpu_over_bare_server_with_sdk=cpu["ours"] / cpu["bare_sdk"] if cpu["bare_sdk"] else float("nan"),
    )


def main() -> None:
    command_line(__doc__, run, "calls", default=200, quick=5)


if __name__ == "__main__":
    main()
