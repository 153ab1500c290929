"""Every example is exercised: host configs are parsed and their commands started against the emulator
(stdio entries launched as the host would, HTTP entries connected with their headers), the Claude Code
script runs against a recording `claude`, and the example scripts run in demo mode. Codex's TOML entries are
started the way Codex starts them: with a cleared environment, plus the variables they forward."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from gemini_mcp.config.settings import Settings
from tests.conftest import FAKE_KEY, user_folders_env
from tests.http_server import RunningServer, http_server

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOSTS = EXAMPLES / "hosts"
CONFIGS = sorted([*HOSTS.glob("*.json"), *HOSTS.glob("*.toml")])
PLACEHOLDER_ROOT = "/absolute/path/to/gemini-mcp-server"
TOKEN = "example-http-token-5d1c"
GEMINI_MCP = Path(sys.executable).with_name("gemini-mcp")


# About what Codex keeps of its own environment for a stdio server (the user, shell, locale and temporary
# folder); anything else must be forwarded by `env_vars` or written in `env`, or the entry fails here.
CODEX_KEPT = ("HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ")


def load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text()) if path.suffix == ".toml" else json.loads(path.read_text())


def servers_of(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """VS Code calls the map `servers`; Claude, Cursor and Gemini CLI `mcpServers`; Codex `mcp_servers`."""
    return config.get("servers") or config.get("mcpServers") or config["mcp_servers"]


def entries() -> list[tuple[str, str]]:
    return [(path.name, name) for path in CONFIGS for name in servers_of(load(path))]


def fill(value: str, variable: str, make_value: Callable[[str], str]) -> str:
    """Replace a config's placeholder (your-..., ${input:...}, ${VAR}, $VAR) with a working value."""
    if re.fullmatch(r"your-[\w-]+|\$\{[\w:.-]+\}|\$[A-Z_]+", value) or value.startswith(PLACEHOLDER_ROOT):
        return make_value(variable)
    return value


def test_every_config_is_valid_json_with_servers() -> None:
    assert {p.name for p in CONFIGS} >= {
        "claude_desktop_config.json",
        "claude_code.mcp.json",
        "vscode.mcp.json",
        "cursor.mcp.json",
        "gemini_cli.settings.json",
        "codex.config.toml",
    }
    for path in CONFIGS:
        for name, server in servers_of(load(path)).items():
            assert ("command" in server) != any(k in server for k in ("url", "httpUrl")), (path.name, name)
            if "command" in server:
                assert server["command"].startswith(PLACEHOLDER_ROOT) or server["command"] in ("uvx", "pipx")


@pytest.fixture
def http(make_env: Callable[..., dict[str, str]]) -> Iterator[RunningServer]:
    with http_server({**make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN), "GEMINI_MCP_LOG_LEVEL": "WARNING"}) as server:
        yield server


@pytest.mark.parametrize(("config_name", "server_name"), entries())
async def test_config_entry_starts_and_serves(
    config_name: str,
    server_name: str,
    make_env: Callable[..., dict[str, str]],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    server = servers_of(load(HOSTS / config_name))[server_name]
    emulator_env = make_env()
    codex = config_name.endswith(".toml")

    def value_for(variable: str) -> str:
        if variable == "GEMINI_MCP_OUTPUT_DIR":
            return str(tmp_path / "media")
        if variable == "Authorization":
            return f"Bearer {TOKEN}"
        return FAKE_KEY

    if "command" in server:
        env = {k: fill(v, k, value_for) for k, v in (server.get("env") or {}).items()}
        env.update({name: value_for(name) for name in server.get("env_vars") or []})  # Codex: from your shell
        env.update({k: v for k, v in emulator_env.items() if k.endswith("BASE_URL")})
        env.setdefault("GEMINI_MCP_OUTPUT_DIR", str(tmp_path / "media"))
        command, args = server["command"], list(server.get("args") or [])
        if command == "uvx":
            if shutil.which("uvx") is None:
                assert args[:1] == ["--from"] and args[1] == PLACEHOLDER_ROOT and args[2] == "gemini-mcp"
                pytest.skip("uvx is not installed here: the entry's shape was checked, not launched")
            args = [a.replace(PLACEHOLDER_ROOT, str(EXAMPLES.parent)) for a in args]
        else:
            command = str(GEMINI_MCP) if command.startswith(PLACEHOLDER_ROOT) else command
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_", "API_KEY"))}
        if codex:  # a cleared environment; the test session's stand-in user folders keep the real ones untouched
            base = {k: v for k, v in base.items() if k in CODEX_KEPT} | user_folders_env()
        target: Any = StdioServerParameters(command=command, args=args, env={**base, **env})
        expected_backend = "vertex" if env.get("GOOGLE_GENAI_USE_VERTEXAI") == "true" else "gemini"
    else:
        url = server.get("url") or server["httpUrl"]
        assert url == "http://127.0.0.1:8000/mcp"  # the documented default: loopback, port 8000, /mcp
        headers = {k: fill(v.removeprefix("Bearer "), k, value_for) for k, v in (server.get("headers") or {}).items()}
        if server.get("bearer_token_env_var") == "GEMINI_MCP_AUTH_TOKEN":  # Codex reads the token from your shell
            headers["Authorization"] = value_for("Authorization")
        http: RunningServer = request.getfixturevalue("http")  # started only for HTTP entries
        target = streamable_http_client(http.url, http_client=httpx2.AsyncClient(headers=headers, timeout=30))
        expected_backend = "gemini"
    async with Client(target) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "generate_text" in names
        answer = await client.call_tool("generate_text", {"prompt": f"hello from {config_name}"})
        assert not answer.is_error, answer
        models = await client.call_tool("list_models", {})
        assert models.structured_content["capabilities"]["backend"] == expected_backend  # type: ignore[index]


def test_claude_code_script_registers_both_servers(tmp_path: Path) -> None:
    recorder = tmp_path / "bin" / "claude"
    recorder.parent.mkdir()
    recorder.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$CLAUDE_CALLS"\n')
    recorder.chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = {
        **os.environ,
        "PATH": f"{recorder.parent}{os.pathsep}{os.environ['PATH']}",
        "CLAUDE_CALLS": str(calls),
        "GEMINI_API_KEY": FAKE_KEY,
        "GEMINI_MCP_AUTH_TOKEN": TOKEN,
    }
    done = subprocess.run(["bash", str(HOSTS / "claude_code.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stdio, remote = calls.read_text().splitlines()
    assert stdio.startswith("mcp add gemini --scope user --env GEMINI_API_KEY=")
    assert stdio.endswith(f"-- {PLACEHOLDER_ROOT}/.venv/bin/gemini-mcp")
    assert (
        remote
        == f"mcp add --transport http gemini-remote http://127.0.0.1:8000/mcp --header Authorization: Bearer {TOKEN}"
    )


def run_example(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    env["GEMINI_MCP_OUTPUT_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_media_tour_makes_an_image_speech_and_a_video(tmp_path: Path) -> None:
    done = run_example("media_tour.py", "--demo", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("    saved ") == 3
    assert "Gemini is drawing your image" in done.stdout and "Gemini Omni finished" in done.stdout
    assert {p.suffix for p in tmp_path.iterdir()} == {".png", ".wav", ".mp4"}


def readme_demo_command(script: str) -> list[str]:
    """The arguments the README's "try it offline" block gives `script` (up to its comment)."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    line = re.search(rf"^\.venv/bin/python examples/{re.escape(script)}(?P<args>[^#\n]*)", readme, re.MULTILINE)
    assert line, f"the README shows no `.venv/bin/python examples/{script}` command"
    return shlex.split(line["args"])


def test_agent_loop_runs_as_the_readme_says(tmp_path: Path) -> None:
    args = readme_demo_command("agent_loop.py")
    assert args == ["--demo"]  # no goal: the script must not need one
    done = run_example("agent_loop.py", *args, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no goal given: using the default goal 'Draw an image of a red kite over green hills'" in done.stdout
    assert 'step 1: generate_image({"prompt": "Draw an image of a red kite over green hills"' in done.stdout
    assert "gemini://media/" in done.stdout and "\nanswer: " in done.stdout
    [saved] = tmp_path.iterdir()
    assert saved.suffix == ".png" and "-red-kite-over-" in saved.name  # the goal became the prompt


def test_agent_loop_acts_on_the_goal(tmp_path: Path) -> None:
    done = run_example("agent_loop.py", "--demo", "Say good morning in a cheerful voice", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "default goal" not in done.stdout
    assert 'step 1: generate_speech({"text": "Say good morning in a cheerful voice"' in done.stdout
    assert "generate_image" not in done.stdout
    assert [p.suffix for p in tmp_path.iterdir()] == [".wav"]


def test_agent_loop_names_unknown_tools_and_a_missing_key(tmp_path: Path) -> None:
    unknown = run_example("agent_loop.py", "--demo", "--tools", "generate_image,draw_pony", tmp_path=tmp_path)
    assert unknown.returncode == 1
    assert "--tools: the server has no draw_pony; it has: " in unknown.stderr and "Traceback" not in unknown.stderr
    keyless = run_example("agent_loop.py", "Draw a kite", tmp_path=tmp_path)
    assert keyless.returncode == 2 and "set GEMINI_API_KEY" in keyless.stderr and "--demo" in keyless.stderr


def test_agent_loop_lets_the_model_call_tools(tmp_path: Path) -> None:
    done = run_example("agent_loop.py", "--demo", "Draw an image of a red kite", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "step 1: generate_image(" in done.stdout
    assert "gemini://media/" in done.stdout and "\nanswer: " in done.stdout
    assert [p.suffix for p in tmp_path.iterdir()] == [".png"]


def test_codex_waits_for_the_server_and_runs_its_tools_unprompted() -> None:
    defaults = Settings.from_env({})
    longest_call = defaults.video_deadline_s + defaults.request_timeout_s  # a Veo call's own limit
    servers = servers_of(load(HOSTS / "codex.config.toml"))
    assert set(servers) == {"gemini", "gemini-remote"}
    for name, server in servers.items():
        # Optional servers get about a second before Codex runs a turn without them: ours is waited for.
        assert server["required"] is True and server["startup_timeout_sec"] >= 30, name
        assert server["tool_timeout_sec"] > longest_call, name  # the server's own deadline message comes first
        assert server["default_tools_approval_mode"] == "approve", name  # `codex exec` cancels what needs a prompt
        assert "env" not in server, name  # no key written into the file
    assert servers["gemini"]["env_vars"] == ["GEMINI_API_KEY"]
    assert servers["gemini-remote"]["bearer_token_env_var"] == "GEMINI_MCP_AUTH_TOKEN"
