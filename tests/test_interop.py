"""Third-party MCP clients from npm drive the server: the MCP Inspector CLI, the official TypeScript SDK,
and the MCP conformance suite (pinned in tests/node/package.json). `.ci/run` installs them; the first test
that needs them installs them too (npm ci into tests/node/node_modules). Skipped only when Node.js is absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.http_server import RunningServer, http_server

NODE_DIR = Path(__file__).with_name("node")
BIN = NODE_DIR / "node_modules" / ".bin"

# Scenarios whose pass means something against a real server. Two more "pass" only because the server
# answers an unknown fixture tool with an error result (tools-call-simple-text, tools-call-error).
MEANINGFUL = {
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "logging-set-level",
    "completion-complete",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
}


@pytest.fixture(scope="session")
def node_clients() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js (node and npm) is not installed: the third-party client tests need it")
    if not (BIN / "conformance").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm ci in tests/node failed:\n{done.stdout}\n{done.stderr}"
    return BIN


@pytest.fixture
def node_env(make_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {**os.environ, **make_env(GEMINI_MCP_LOG_LEVEL="WARNING")}


@pytest.fixture
def http(make_env: Callable[..., dict[str, str]]) -> Iterator[RunningServer]:
    env: dict[str, str | None] = {**make_env(GEMINI_MCP_LOG_LEVEL="WARNING"), "GEMINI_MCP_RATE_LIMIT": "0"}
    with http_server(env) as server:
        yield server


def run(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = NODE_DIR
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def last_json(output: str) -> Any:
    """The JSON document a CLI printed (after any banner lines)."""
    start = output.index("{")
    return json.loads(output[start:])


# --- MCP Inspector CLI ------------------------------------------------------------------------------


def inspector(bins: Path, target: list[str], *args: str, env: dict[str, str] | None = None) -> Any:
    done = run([str(bins / "mcp-inspector"), "--cli", *target, *args], env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return last_json(done.stdout)


def stdio_target(node_env: dict[str, str]) -> list[str]:
    keep = ("GEMINI_", "GOOGLE_", "XDG_")  # XDG_: the session's stand-in user folders (conftest `user_folders`)
    settings = [arg for k, v in node_env.items() if k.startswith(keep) for arg in ("-e", f"{k}={v}")]
    return [*settings, sys.executable, "-m", "gemini_mcp"]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_inspector_lists_tools_calls_generate_text_and_reads_media(
    node_clients: Path, node_env: dict[str, str], http: RunningServer, transport: str
) -> None:
    target = stdio_target(node_env) if transport == "stdio" else [http.url, "--transport", "http"]
    tools = inspector(node_clients, target, "--method", "tools/list", env=node_env)
    names = {tool["name"] for tool in tools["tools"]}
    assert {"generate_text", "analyze_media", "generate_image", "generate_speech", "generate_video"} <= names

    answer = inspector(
        node_clients,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "generate_text",
        "--tool-arg",
        "prompt=Say hello to the Inspector",
        env=node_env,
    )
    assert not answer.get("isError"), answer  # the CLI exits 0 even for error results
    assert answer["content"][0]["type"] == "text" and answer["content"][0]["text"]
    assert answer["structuredContent"]["model"]

    image = inspector(
        node_clients,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "generate_image",
        "--tool-arg",
        "prompt=a lighthouse at dusk",
        "output=link",
        env=node_env,
    )
    link = next(block for block in image["content"] if block["type"] == "resource_link")
    # A new CLI process (a new server, over stdio) still finds the media: the output folder is the index.
    read = inspector(node_clients, target, "--method", "resources/read", "--uri", link["uri"], env=node_env)
    contents = read["contents"][0]
    assert contents["uri"] == link["uri"] and contents["mimeType"] == "image/png" and contents["blob"]


def test_inspector_shows_prompts(node_clients: Path, node_env: dict[str, str]) -> None:
    prompts = inspector(node_clients, stdio_target(node_env), "--method", "prompts/list", env=node_env)
    assert {"describe_image", "narrate_text", "storyboard_video"} <= {p["name"] for p in prompts["prompts"]}


# --- TypeScript SDK ---------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_typescript_sdk_client(
    node_clients: Path, node_env: dict[str, str], http: RunningServer, transport: str
) -> None:
    script = str(NODE_DIR / "ts_sdk_client.mjs")
    target = ["stdio", sys.executable, "-m", "gemini_mcp"] if transport == "stdio" else ["http", http.url]
    done = run(["node", script, *target], env=node_env)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])

    tools = {tool["name"]: tool for tool in summary["tools"]}
    assert tools["generate_text"]["hasOutputSchema"] and tools["list_voices"]["annotations"]["readOnlyHint"]
    for kind, mime in [("speech", "audio/wav"), ("image", "image/png")]:
        result = summary[kind]
        assert not result["isError"], result
        types = [block["type"] for block in result["content"]]
        assert types[:2] == ["audio" if kind == "speech" else "image", "resource_link"], types
        assert {block.get("mimeType") for block in result["content"][:2]} == {mime}
        # The progress token the TS SDK sent was honoured: notifications rose to the total.
        progress = result["progress"]
        assert progress and progress[-1]["progress"] == progress[-1]["total"] == 100, progress
    assert summary["resource"][0]["mimeType"] == "image/png" and summary["resource"][0]["blobChars"] > 100


# --- conformance suite --------------------------------------------------------------------------------


def test_conformance_suite(node_clients: Path, http: RunningServer, tmp_path: Path) -> None:
    done = run(
        [
            str(node_clients / "conformance"),
            "server",
            "--url",
            http.url,
            "--expected-failures",
            str(NODE_DIR / "conformance-baseline.yml"),
            "-o",
            str(tmp_path),
        ]
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    passed = set()
    for checks_file in tmp_path.glob("server-*/checks.json"):  # server-<scenario>-<timestamp>/checks.json
        scenario = re.sub(r"^server-|-\d{4}-\d\d-\d\dT.*$", "", checks_file.parent.name)
        checks = json.loads(checks_file.read_text())
        if checks and all(check["status"] == "SUCCESS" for check in checks):
            passed.add(scenario)
    assert passed >= MEANINGFUL, sorted(MEANINGFUL - passed)
