"""Reading one large stdio line: a `ping` padded to 8, 16, 32 and 64 MB, from the first byte written until
its answer arrives, for `gemini-mcp` and for a bare `mcp` MCPServer (the SDK's own stdio reader). Median
of 5 each, the two servers taking turns.

`linearity` is the time per MB of the largest line over that of the smallest: a reader that re-scans its
buffer for every chunk is quadratic and lands near 8 (it took 26 s for 64 MB); a linear one stays near 1,
give or take what the JSON parser and the memory caches add, which `sdk_linearity` shows for the SDK's
reader with the same parser. Target: linearity ≤ 1.5 × sdk_linearity, and largest_over_sdk ≤ 1.3.

    python benchmarks/stdio_line.py [--mb 64] [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import KEY, command_line, ratios, table

ECHO = str(Path(__file__).with_name("_echo_server.py"))
RUNS = 5
MB = 1024 * 1024


class Server:
    """A stdio server subprocess spoken to in raw JSON-RPC lines."""

    def __init__(self, args: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
        env.update(GEMINI_API_KEY=KEY, GEMINI_MCP_LOG_LEVEL="WARNING", GEMINI_MCP_STDIO_MAX_LINE_MB="1024")
        self.process = subprocess.Popen(
            [sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.next_id = 0
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        }
        self.roundtrip(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}).encode())
        self.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def roundtrip(self, line: bytes) -> float:
        """Seconds from the first byte of `line` written until the answer to it is read."""
        assert self.process.stdout is not None
        started = time.perf_counter()
        # The pipe holds 64 KB: a thread writes while we wait, or both ends would block.
        writer = threading.Thread(target=self.write, args=(line + b"\n",))
        writer.start()
        answer = json.loads(self.process.stdout.readline())
        elapsed = time.perf_counter() - started
        writer.join()
        if "result" not in answer:
            raise RuntimeError(f"not answered: {str(answer)[:300]}")
        return elapsed

    def ping(self, size: int) -> float:
        self.next_id += 1
        head = b'{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"_meta":{"pad":"' % self.next_id
        tail = b'"}}}'
        return self.roundtrip(head + b"x" * (size - len(head) - len(tail)) + tail)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


async def run(max_mb: int) -> None:
    sizes = [max_mb * MB // 8, max_mb * MB // 4, max_mb * MB // 2, max_mb * MB]
    servers = {"gemini-mcp": Server(["-m", "gemini_mcp"]), "bare MCPServer": Server([ECHO])}
    seconds: dict[str, dict[int, float]] = {name: {} for name in servers}
    try:
        for server in servers.values():
            server.ping(sizes[-1])  # warm-up: lazy imports, and the heap grown once to the largest line
        for size in sizes:
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(RUNS):  # the servers take turns, so machine noise hits both alike
                for name, server in servers.items():
                    samples[name].append(server.ping(size))
            for name in servers:
                seconds[name][size] = statistics.median(samples[name])
    finally:
        for server in servers.values():
            server.close()
    ours, sdk = seconds["gemini-mcp"], seconds["bare MCPServer"]
    rows = [
        [f"{size / MB:g}", f"{ours[size]:.3f}", f"{size / MB / ours[size]:.0f}", f"{sdk[size]:.3f}"] for size in sizes
    ]
    table(
        f"one ping line padded to N MB, first byte written → answer read (median of {RUNS})",
        ["MB", "gemini-mcp s", "gemini-mcp MB/s", "bare MCPServer s"],
        rows,
    )

    def per_mb(found: dict[int, float], size: int) -> float:
        return found[size] / size

    ratios(
        linearity=per_mb(ours, sizes[-1]) / per_mb(ours, sizes[0]),
        sdk_linearity=per_mb(sdk, sizes[-1]) / per_mb(sdk, sizes[0]),
        largest_over_sdk=ours[sizes[-1]] / sdk[sizes[-1]],
    )


def main() -> None:
    command_line(__doc__, run, "mb", default=64, quick=2)


if __name__ == "__main__":
    main()
