"""Cold start: spawn `gemini-mcp` over stdio until `initialize` and `tools/list` are answered, against a bare
`mcp` MCPServer with one echo tool (the floor). Median of N spawns each, interleaved. Target ratio ≤ 1.10.

    python benchmarks/cold_start.py [--runs 10] [--quick]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import KEY, command_line, median_ms, ratios, table

ECHO = str(Path(__file__).with_name("_echo_server.py"))


async def spawn(args: list[str]) -> tuple[float, float]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env["GEMINI_API_KEY"] = KEY
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=args, env=env), mode="legacy") as client:
        initialized = time.perf_counter()
        await client.list_tools()
        listed = time.perf_counter()
    return initialized - started, listed - started


def prepare() -> None:
    """Start from what an installed server has: bytecode for its modules (pip compiles it at install time;
    an editable install under PYTHONDONTWRITEBYTECODE=1 never writes it, so every spawn would recompile)."""
    import compileall

    import gemini_mcp

    compileall.compile_dir(Path(gemini_mcp.__file__).parent, quiet=1)
    compileall.compile_file(ECHO, quiet=1)


async def run(runs: int) -> None:
    prepare()
    ours: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    await spawn([ECHO])  # warm-up, not counted: the OS file cache, and our schema/tool catalog cache
    await spawn(["-m", "gemini_mcp"])
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        floor.append(await spawn([ECHO]))
        ours.append(await spawn(["-m", "gemini_mcp"]))
    rows = []
    for name, samples in (("bare MCPServer + echo", floor), ("gemini-mcp", ours)):
        rows.append([name, f"{median_ms([s[0] for s in samples]):.0f}", f"{median_ms([s[1] for s in samples]):.0f}"])
    table(f"cold start over stdio (median of {runs} spawns)", ["server", "initialize ms", "tools/list ms"], rows)
    ratios(
        cold_start_initialize=median_ms([s[0] for s in ours]) / median_ms([s[0] for s in floor]),
        cold_start_tools_list=median_ms([s[1] for s in ours]) / median_ms([s[1] for s in floor]),
    )


def main() -> None:
    command_line(__doc__, run, "runs", default=10, quick=2)


if __name__ == "__main__":
    main()
