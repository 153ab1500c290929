"""Start `gemini-mcp --transport http` as a real subprocess on a free loopback port, for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen[Any], timeout_s: float = 30) -> bool:
    """True once something accepts connections on `port`; False if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                return False
            time.sleep(0.05)


@dataclass
class RunningServer:
    url: str  # the MCP endpoint
    base: str
    port: int
    process: subprocess.Popen[str]
    stderr: str = ""


@contextmanager
def http_server(env: dict[str, str | None], *args: str, host: str = "127.0.0.1") -> Iterator[RunningServer]:
    port = free_port()
    # os.environ carries the test session's stand-in user folders (tests/conftest.py `user_folders`).
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    full.update({k: v for k, v in env.items() if v is not None})
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_mcp", "--transport", "http", "--host", host, "--port", str(port), *args],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = RunningServer(
        url=f"http://127.0.0.1:{port}/mcp", base=f"http://127.0.0.1:{port}", port=port, process=process
    )
    try:
        if not wait_until_listening(port, process):
            raise AssertionError(process.stderr.read() if process.stderr else "server did not start")
        yield server
    finally:
        process.terminate()
        try:
            _, server.stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, server.stderr = process.communicate()
