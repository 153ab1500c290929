"""The server as hosts run it: `gemini-mcp` over a stdio subprocess; the CLI's help and emulator command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import pytest
from mcp import Client
from mcp_types import TextContent

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY, stdio_params

pytestmark = pytest.mark.anyio


async def test_stdio_subprocess_lists_tools_and_generates(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    async with Client(stdio_params(make_env())) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "generate_text" in names
        result = await client.call_tool("generate_text", {"prompt": "over stdio"})
        bad = await client.call_tool("generate_text", {"prompt": "x", "model": "gemini-pro"})
        after = await client.call_tool("count_tokens", {"prompt": "still serving"})
    assert not result.is_error
    assert "over stdio" in result.content[0].text  # type: ignore[union-attr]
    assert bad.is_error and "gemini-2.5-pro" in bad.content[0].text  # type: ignore[union-attr]
    assert not after.is_error
    assert any(r["rpc"] == "generateContent" for r in emulator.requests())


async def test_stdio_subprocess_without_key_starts_and_explains(
    make_env: Callable[..., dict[str, str]],
) -> None:
    async with Client(stdio_params(make_env(GEMINI_API_KEY=None))) as client:
        assert (await client.list_tools()).tools
        result = await client.call_tool("generate_text", {"prompt": "x"})
    assert result.is_error
    assert isinstance(result.content[0], TextContent) and "GEMINI_API_KEY" in result.content[0].text


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gemini_mcp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_help_documents_every_option_and_variable() -> None:
    from gemini_mcp.config.settings import SETTINGS

    out = _run("--help")
    assert out.returncode == 0
    for option in ("--transport", "--host", "--port", "--log-level", "emulator"):
        assert option in out.stdout
    help_lines = out.stdout.splitlines()
    for setting in SETTINGS:
        for name in setting.names:
            assert name in out.stdout
        default = setting.default_text()
        if default != "—":  # each variable's default is on its own line (or the line after a long name)
            first = setting.names[0] + ("," if len(setting.names) > 1 else "")
            at = next(i for i, line in enumerate(help_lines) if line.split()[:1] == [first])
            assert f"[default: {default}]" in " ".join(help_lines[at : at + 2]), setting.names[0]
    emulator_help = _run("emulator", "--help")
    assert emulator_help.returncode == 0 and "--port" in emulator_help.stdout


@pytest.mark.parametrize("stdin", ["closed", "pipe"])
def test_a_bad_setting_stops_the_server_with_one_line(stdin: str) -> None:
    """Whether or not a client is there, a value the server cannot use is named, once, with what it expects."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(GEMINI_MCP_TIMEOUT="abc", GEMINI_API_KEY=FAKE_KEY)
    out = subprocess.run(
        [sys.executable, "-m", "gemini_mcp"],
        input="" if stdin == "pipe" else None,
        stdin=subprocess.DEVNULL if stdin == "closed" else None,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "gemini-mcp: cannot start: GEMINI_MCP_TIMEOUT='abc' is not valid: expected a number greater than 0; fix it "
        "or unset it for the default (120)"
    ]
    assert "Traceback" not in out.stderr and FAKE_KEY not in out.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_emulator_command_serves_the_api() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_mcp", "emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1beta/models", headers={"x-goog-api-key": FAKE_KEY})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert b"gemini-2.5-flash" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_http_transport_serves_mcp(make_env: Callable[..., dict[str, str]]) -> None:
    """`gemini-mcp --transport http` answers MCP on 127.0.0.1 (hardening is tested with the HTTP issue)."""
    import anyio

    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}, **make_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_mcp", "--transport", "http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def talk() -> None:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            result = await client.call_tool("generate_text", {"prompt": "over http"})
            assert not result.is_error and "over http" in result.content[0].text  # type: ignore[union-attr]

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if time.monotonic() > deadline or process.poll() is not None:
                    detail = process.stderr.read() if process.stderr else "server did not start"
                    raise AssertionError(detail) from exc
                time.sleep(0.2)
        anyio.run(talk)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert FAKE_KEY not in stderr
