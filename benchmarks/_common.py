"""Shared helpers for the benchmark scripts: the emulator, a server subprocess, RSS, tables and ratios."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.http_server import free_port, wait_until_listening  # noqa: E402 - the tests' own helpers

KEY = "bench-key-not-secret"


def server_env(base_url: str, output_dir: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(
        {
            "GEMINI_API_KEY": KEY,
            "GOOGLE_GEMINI_BASE_URL": base_url,
            "GOOGLE_VERTEX_BASE_URL": base_url,
            "GEMINI_MCP_OUTPUT_DIR": output_dir,
            "GEMINI_MCP_RATE_LIMIT": "0",
            "GEMINI_MCP_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


@contextmanager
def listening(command: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `command` with `--port <free port>` appended until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not wait_until_listening(port, process):
            raise RuntimeError(f"{command!r} did not start listening")
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def http_server(env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`gemini-mcp` over Streamable HTTP; yields its MCP endpoint."""
    with listening([sys.executable, "-m", "gemini_mcp", "--transport", "http"], env) as (base, process):
        yield f"{base}/mcp", process


@contextmanager
def emulator_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The emulator in its own process, so its CPU does not compete with the client's for one GIL."""
    with listening([sys.executable, "-m", "gemini_mcp", "emulator"]) as running:
        yield running


def configure_emulator(base_url: str, **settings: object) -> None:
    """Change a running emulator's settings through its control plane (`POST /_emulator/config`)."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{base_url}/_emulator/config",
        data=json.dumps(settings).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def _status_mb(field: str, pid: int | None) -> float:
    """A memory figure of a process (default: this one) from /proc/<pid>/status, in MB."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int | None = None) -> float:
    """Resident set size now."""
    return _status_mb("VmRSS", pid)


def peak_rss_mb(pid: int | None = None) -> float:
    """The highest resident set size so far."""
    return _status_mb("VmHWM", pid)


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time a process has used so far, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for row in (header, ["-" * w for w in widths], *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def ratios(**values: float) -> None:
    print("ratios: " + ", ".join(f"{name}={value:.2f}" for name, value in values.items()))


def command_line(doc: str | None, run: Callable[[int], Awaitable[None]], option: str, default: int, quick: int) -> None:
    """The command line of a benchmark with one size: `--<option> N`, or `--quick` (a tiny run, for the tests)."""
    import argparse

    import anyio

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(f"--{option}", type=int, default=default, help=f"default {default}")
    parser.add_argument("--quick", action="store_true", help=f"{option} = {quick}: only checks that the script works")
    args = parser.parse_args()
    anyio.run(run, quick if args.quick else getattr(args, option))
