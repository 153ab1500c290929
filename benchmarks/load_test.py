"""Load test: N concurrent MCP clients over HTTP calling mixed tools against the emulator.

    python benchmarks/load_test.py [--clients 16] [--calls 25] [--quick]

Reports errors (must be 0) and the server's RSS before and after (must stay flat: within 25 MB or 20 %).
Loopback only; bounded by count and a time limit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import http_server, ratios, rss_mb, server_env, table

MIX = [
    ("generate_text", {"prompt": "Summarise the benefits of load testing"}),
    ("count_tokens", {"prompt": "How many tokens is this?"}),
    ("generate_json", {"prompt": "A person", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}),
    ("embed_text", {"texts": ["alpha", "beta"], "output_dimensionality": 64}),
    ("generate_image", {"prompt": "a small square", "output": "link"}),
    ("list_models", {"contains": "flash"}),
]


async def run(clients: int, calls: int, limit_s: float) -> int:
    from mcp import Client

    from gemini_mcp.emulator import Emulator

    with Emulator() as emulator, tempfile.TemporaryDirectory() as media:
        env = server_env(emulator.base_url, media, GEMINI_MCP_MAX_CONCURRENCY="64")
        with http_server(env) as (url, process):
            async with Client(url) as warm:
                for name, arguments in MIX:
                    await warm.call_tool(name, arguments)
            before = rss_mb(process.pid)
            errors: list[str] = []
            done = 0
            started = time.monotonic()

            async def worker(index: int) -> None:
                nonlocal done
                async with Client(url) as client:
                    for call in range(calls):
                        name, arguments = MIX[(index + call) % len(MIX)]
                        result = await client.call_tool(name, arguments)
                        if result.is_error:
                            errors.append(f"{name}: {result.content[0]}")
                        done += 1

            with anyio.move_on_after(limit_s):
                async with anyio.create_task_group() as group:
                    for index in range(clients):
                        group.start_soon(worker, index)
            elapsed = time.monotonic() - started
            after = rss_mb(process.pid)
    table(
        "load test (HTTP, mixed tools, emulator)",
        ["clients", "calls", "errors", "seconds", "calls/s", "RSS before MB", "RSS after MB"],
        [[clients, done, len(errors), f"{elapsed:.1f}", f"{done / elapsed:.0f}", f"{before:.0f}", f"{after:.0f}"]],
    )
    for error in errors[:5]:
        print("error:", error)
    growth_ok = after - before <= max(25.0, before * 0.2)
    ratios(rss_after_over_before=after / before, errors=float(len(errors)))
    print("result:", "PASS" if not errors and growth_ok and done == clients * calls else "FAIL")
    return 0 if not errors and growth_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--calls", type=int, default=25)
    parser.add_argument("--limit", type=float, default=110.0, help="seconds before the test stops")
    parser.add_argument("--quick", action="store_true", help="a few calls, to check the script works")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.calls = 3, 3
    return anyio.run(run, args.clients, args.calls, args.limit)


if __name__ == "__main__":
    sys.exit(main())
