"""Shared helpers for the benchmark scripts: the emulator, a server subprocess, RSS, tables and ratios."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-not-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
def http_server(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_mcp", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def emulator_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The emulator in its own process, so its CPU does not compete with the client's for one GIL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_mcp", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=15)


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


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{process.args!r} did not start listening") from None
            time.sleep(0.05)


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (default: this one), from /proc."""
    path = f"/proc/{pid or os.getpid()}/status"
    for line in Path(path).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int | None = None) -> float:
    path = f"/proc/{pid or os.getpid()}/status"
    for line in Path(path).read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
