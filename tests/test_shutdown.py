"""Graceful shutdown of the stdio server: SIGTERM lets in-flight calls finish within the grace period, then
cancels; stdin EOF ends the server; no half-written media are left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gemini_mcp.emulator import Emulator

WAIT_S = 60  # a bound for a broken server to fail the test instead of hanging it; nothing is timed


class RawStdioClient:
    """Just enough JSON-RPC over a subprocess's pipes to send signals at chosen moments."""

    def __init__(self, env: dict[str, str]) -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
        full.update(env)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read while the server runs
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gemini_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=full,
            text=True,
        )
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        )
        assert self.read()["id"] == 1
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise EOFError("server closed stdout")
            message = json.loads(line)
            if "id" in message:
                return message

    def wait_for_stderr(self, words: str) -> None:
        """Until the server has logged `words` (polling its stderr file; the deadline only stops a hang)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            self.stderr.seek(0)
            text = self.stderr.read().decode(errors="replace")
            if words in text:
                return
            assert self.process.poll() is None, f"the server exited before logging {words!r}:\n{text}"
            assert time.monotonic() < deadline, f"{words!r} never logged:\n{text}"
            time.sleep(0.02)

    def call(self, request_id: int, name: str, arguments: dict[str, Any]) -> None:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }
        )


@pytest.fixture
def env(make_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {k: v for k, v in make_env(GEMINI_MCP_RETRIES="1").items() if v is not None}


def test_sigterm_lets_an_in_flight_call_finish(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # in flight until released
    client = RawStdioClient(env)
    client.call(2, "generate_text", {"prompt": "finish me"})
    emulator.wait_for_requests("generateContent", 1)
    client.process.send_signal(signal.SIGTERM)
    client.wait_for_stderr("SIGTERM: letting 1 request(s) in flight finish")
    emulator.release_held()  # the call ends during the drain
    answer = client.read()
    assert answer["id"] == 2 and not answer["result"].get("isError")
    assert "finish me" in answer["result"]["content"][0]["text"]
    assert client.process.wait(timeout=10) == 0


def test_sigterm_cancels_calls_that_outlast_the_grace_period(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts any grace
    client = RawStdioClient({**env, "GEMINI_MCP_SHUTDOWN_GRACE": "0.5"})
    client.call(2, "generate_text", {"prompt": "too slow"})
    emulator.wait_for_requests("generateContent", 1)
    started = time.monotonic()
    client.process.send_signal(signal.SIGTERM)
    client.process.wait(timeout=10)
    assert time.monotonic() - started < 5
    leftovers = (
        list(Path(env["GEMINI_MCP_OUTPUT_DIR"]).glob(".*.partial"))
        if Path(env["GEMINI_MCP_OUTPUT_DIR"]).exists()
        else []
    )
    assert leftovers == []


def test_idle_server_stops_at_once_on_sigint(env: dict[str, str]) -> None:
    client = RawStdioClient(env)
    started = time.monotonic()
    client.process.send_signal(signal.SIGINT)
    assert client.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 3


def test_stdin_eof_ends_the_server(env: dict[str, str]) -> None:
    client = RawStdioClient(env)
    assert client.process.stdin is not None
    client.process.stdin.close()
    assert client.process.wait(timeout=10) == 0


def test_stale_partial_files_are_swept_at_start(env: dict[str, str], tmp_path: Path) -> None:
    media = Path(env["GEMINI_MCP_OUTPUT_DIR"])
    media.mkdir(parents=True, exist_ok=True)
    stale = media / ".20260101-video-x-0123456789ab.mp4.partial"
    stale.write_bytes(b"half a video")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    client = RawStdioClient(env)
    client.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert client.read()["id"] == 2
    assert not stale.exists()
    client.process.terminate()
    client.process.wait(timeout=10)
