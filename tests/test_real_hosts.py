"""Real agent hosts from npm drive the server over stdio, each non-interactively, with its model played offline:
Gemini CLI (`gemini -p`) by the project's emulator (scripted turns, src/gemini_mcp/emulator/scripted.py),
Claude Code (`claude -p`) by a fake Anthropic Messages API, Codex (`codex exec`) by a fake OpenAI Responses
API (tests/hosts/). Pinned in tests/node/package.json; `.ci/run` installs them (npm ci), and so does the first
test here that finds one missing. Skipped only when Node.js is absent.

Each test asserts what a user relies on: the host offered its model every tool of ours (compared with
tools/list), the model's calls ran without anyone approving them (the run ends by itself, every call
succeeded), our server reached the Gemini API (the emulator), each result reached the model (the fake sees
it in its next request, and the host's final output quotes it), and what became of an image and an audio
clip on the way to the model. Every host runs with HOME and its config folder in tmp_path, telemetry, update
checks, plugin and marketplace fetches off, and HTTP(S)_PROXY/ALL_PROXY pointing at a proxy that forwards
nothing and records what was tried: the test asserts it was asked for nothing, so traffic stayed on loopback.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from google import genai
from google.genai import types
from mcp import Client

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY
from tests.hosts.anthropic import FakeAnthropic
from tests.hosts.anthropic import blocks as message_blocks
from tests.hosts.fake_api import Blackhole, Call, Script
from tests.hosts.openai_responses import FakeResponses, tool_names

NODE_DIR = Path(__file__).with_name("node")
EXAMPLES = Path(__file__).parents[1] / "examples" / "hosts"
BIN = NODE_DIR / "node_modules" / ".bin"
HOST_TIMEOUT_S = 180  # a bound on a hung host, not a performance assertion: each run takes seconds

TEXT_PROMPT = "Write a haiku about a fox in the snow"
EMULATED_TEXT = f"Answer to: {TEXT_PROMPT}"  # what the emulator answers our server's generate_text with
# The same conversation for every host: an image, a speech clip, then text, whose result the final answer quotes.
CALLS = (
    Call("generate_image", {"prompt": "a red fox in the snow"}),
    Call("generate_speech", {"text": "Hello from the fox"}),
    Call("generate_text", {"prompt": TEXT_PROMPT}),
)


def script(host: str) -> Script:
    return Script(marker=f"RT-{host.upper()}-7f3a", calls=CALLS, answer=f"Scripted final answer for {host}:")


@pytest.fixture(scope="session")
def hosts() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js (node and npm) is not installed: the real-host tests need it")
    if not all((BIN / name).exists() for name in ("gemini", "claude", "codex")):
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"npm ci in tests/node failed:\n{done.stdout}\n{done.stderr}"
    return BIN


def claude_command(bins: Path) -> list[str]:
    """Claude Code's native binary, which its postinstall copies over a placeholder; where npm ran no install
    scripts, the package's own fallback launcher finds the same binary in its platform package."""
    wrapper = NODE_DIR / "node_modules" / "@anthropic-ai" / "claude-code"
    with (wrapper / "bin" / "claude.exe").open("rb") as binary:
        native = binary.read(4) in (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"MZ\x90\x00")  # ELF, Mach-O, PE
    if native:
        return [str(bins / "claude")]
    return ["node", str(wrapper / "cli-wrapper.cjs")]


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    with Blackhole() as proxy:
        yield proxy


@pytest.fixture
def our_tools(make_client: Callable[..., Client]) -> dict[str, dict[str, Any]]:
    """Our tools/list: each tool's input schema by name."""

    async def listing() -> dict[str, dict[str, Any]]:
        async with make_client() as client:
            return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}

    return anyio.run(listing)


def described(schema: Any) -> int:
    """How many field descriptions a schema carries."""
    return json.dumps(schema).count('"description"')


@pytest.fixture
def server_env(make_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    """What the host must hand our server: the emulator as the Gemini API, tmp media and user folders."""
    return make_env(GEMINI_MCP_LOG_LEVEL="WARNING")


def example_entry(config: dict[str, Any], server_env: dict[str, str]) -> dict[str, Any]:
    """The `gemini` stdio entry of an examples/hosts config, started the way the tests start the server."""
    return {**config, "command": sys.executable, "args": ["-m", "gemini_mcp"], "env": server_env}


def host_env(tmp_path: Path, proxy: Blackhole, **extra: str) -> dict[str, str]:
    """A clean environment for a host: nothing inherited but PATH, every per-user folder in tmp_path, and every
    proxy variable on the blackhole (loopback itself exempt, for the fake model and the emulator)."""
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        env[name] = env[name.lower()] = proxy.base_url
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    for folder in (home, tmp_path / "tmp", tmp_path / "work"):
        folder.mkdir(parents=True, exist_ok=True)
    return {**env, **extra}


def run_host(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # No stdin: a host that wanted to ask for an approval would get end-of-file, not a person.
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=HOST_TIMEOUT_S, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert FAKE_KEY not in done.stdout + done.stderr
    return done


def is_png(data: str) -> bool:
    return base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")


def assert_server_used_emulator(emulator: Emulator) -> None:
    """Our server made the Gemini calls the model asked for: an image, speech, and the text."""
    seen = [(r["rpc"], r["model"]) for r in emulator.requests() if r.get("model")]
    assert any("image" in str(model) for _, model in seen), seen
    assert any("tts" in str(model) for _, model in seen), seen
    texts = emulator.requests(where=lambda r: TEXT_PROMPT in json.dumps(r.get("body")) and not r["body"].get("tools"))
    assert texts, f"our server never sent generate_text's prompt to the emulator; requests: {seen}"


# --- Gemini CLI ------------------------------------------------------------------------------------------


def gemini_settings(server_env: dict[str, str]) -> dict[str, Any]:
    example = json.loads((EXAMPLES / "gemini_cli.settings.json").read_text())["mcpServers"]["gemini"]
    # Headless, Gemini CLI offers its model only tools that need no confirmation: without `trust` (or --yolo)
    # it offers none of ours at all.
    return {
        "mcpServers": {"gemini": {**example_entry(example, server_env), "trust": True}},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
        # Clearcut usage statistics: without this, the one outside call of a headless run (play.googleapis.com).
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},  # OpenTelemetry export
        "security": {
            "auth": {"selectedType": "gemini-api-key"},  # GEMINI_API_KEY, no Google login (OAuth)
            "folderTrust": {"enabled": False},  # the tmp workspace is not in a trusted-folders list
        },
    }


def test_gemini_cli_calls_our_tools_with_the_emulator_as_its_model(
    hosts: Path,
    emulator: Emulator,
    server_env: dict[str, str],
    our_tools: dict[str, dict[str, Any]],
    blackhole: Blackhole,
    tmp_path: Path,
) -> None:
    flow = script("gemini")
    # Gemini CLI adds a `wait_for_previous` argument to every tool it offers; a model that fills it in must
    # not break the call (the server ignores it), so the scripted generate_text call sends it.
    calls = [
        {"name": c.name, "args": {**c.args, "wait_for_previous": True} if c.name == "generate_text" else c.args}
        for c in flow.calls
    ]
    emulator.configure(extra={"scripted": [{"marker": flow.marker, "calls": calls, "answer": flow.answer}]})
    env = host_env(
        tmp_path,
        blackhole,
        GEMINI_API_KEY=FAKE_KEY,
        GOOGLE_GEMINI_BASE_URL=emulator.base_url,  # Gemini CLI's model calls go to the emulator
        GEMINI_CLI_NO_RELAUNCH="true",  # no child process re-spawned with a bigger heap
    )
    settings = Path(env["HOME"]) / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(gemini_settings(server_env)))

    # -m: a model the emulator serves (the default, gemini-3.1-pro-preview, and its flash-lite router are not).
    done = run_host(
        [str(hosts / "gemini"), "-p", f"{flow.marker}: use the gemini tools", "-o", "json", "-m", "gemini-2.5-flash"],
        env,
        tmp_path / "work",
    )
    output = json.loads(done.stdout[done.stdout.index("{") :])

    turns = emulator.requests(where=lambda r: flow.marker in json.dumps(r.get("body")))
    assert len(turns) == len(flow.calls) + 1, [r["rpc"] for r in turns]
    offered = [d["name"] for t in turns[0]["body"]["tools"] for d in t.get("functionDeclarations", [])]
    assert {n.removeprefix("mcp_gemini_") for n in offered if n.startswith("mcp_gemini_")} == set(our_tools)
    declarations = [d for t in turns[0]["body"]["tools"] for d in t["functionDeclarations"]]
    ours = [d for d in declarations if d["name"].startswith("mcp_gemini_")]
    assert all("wait_for_previous" in d["parametersJsonSchema"]["properties"] for d in ours)

    # No approval: every call ran and succeeded, and the run ended by itself.
    tools = output["stats"]["tools"]
    assert tools["totalCalls"] == len(flow.calls) and tools["totalSuccess"] == len(flow.calls), tools
    assert_server_used_emulator(emulator)

    # What the model was handed: the content blocks as text (structuredContent ignored), the image as inline
    # data beside the function response, the audio not at all (only the text line that names the saved WAV).
    history = turns[-1]["body"]["contents"]
    responses = {
        p["functionResponse"]["name"].removeprefix("mcp_gemini_"): (p["functionResponse"], content["parts"])
        for content in history
        for p in content.get("parts", [])
        if "functionResponse" in p
    }
    text_response, _ = responses["generate_text"]
    assert EMULATED_TEXT in text_response["response"]["output"]
    assert "finish_reason" not in json.dumps(text_response)  # a structuredContent field: not passed on
    image_response, image_parts = responses["generate_image"]
    images = [p["inlineData"] for p in image_parts if "inlineData" in p]
    assert [i["mimeType"] for i in images] == ["image/png"] and is_png(images[0]["data"])
    assert "Image saved:" in image_response["response"]["output"]
    speech_response, speech_parts = responses["generate_speech"]
    assert not [p for p in speech_parts if "inlineData" in p]  # audio dropped by the host
    assert "Audio saved:" in speech_response["response"]["output"]

    assert flow.answer in output["response"] and EMULATED_TEXT in output["response"]
    assert blackhole.targets() == []


# --- Claude Code -----------------------------------------------------------------------------------------


def test_claude_code_calls_our_tools_with_a_fake_messages_api(
    hosts: Path,
    emulator: Emulator,
    server_env: dict[str, str],
    our_tools: dict[str, dict[str, Any]],
    blackhole: Blackhole,
    tmp_path: Path,
) -> None:
    flow = script("claude")
    example = json.loads((EXAMPLES / "claude_code.mcp.json").read_text())["mcpServers"]["gemini"]
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"gemini": example_entry(example, server_env)}}))
    with FakeAnthropic(flow) as fake:
        env = host_env(
            tmp_path,
            blackhole,
            CLAUDE_CONFIG_DIR=str(tmp_path / "claude"),  # settings, sessions, the saved tool results
            ANTHROPIC_BASE_URL=fake.base_url,
            ANTHROPIC_API_KEY="sk-ant-fake-key",  # an API key: no claude.ai login (OAuth)
            # No auto-update, feedback, error reports or telemetry: without it, api.anthropic.com is called
            # (the three below are covered by it, and said again in case its scope changes).
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
            # Every tool definition in the request (with tool search, MCP tools wait behind a ToolSearch tool).
            ENABLE_TOOL_SEARCH="false",
        )
        done = run_host(
            [
                *claude_command(hosts),
                "-p",
                f"{flow.marker}: use the gemini tools",
                "--mcp-config",
                str(config),
                "--strict-mcp-config",  # only this config's servers, none from the user's or the project's
                "--allowedTools",
                "mcp__gemini",  # every tool of the server, without a permission prompt
                "--output-format",
                "json",
            ],
            env,
            tmp_path / "work",
        )
        turns = fake.scripted_requests()
    output = json.loads(done.stdout)

    assert len(turns) == len(flow.calls) + 1
    offered = [t["name"] for t in turns[0]["body"]["tools"]]
    assert {n.removeprefix("mcp__gemini__") for n in offered if n.startswith("mcp__gemini__")} == set(our_tools)
    assert output["permission_denials"] == [] and not output["is_error"], output
    assert_server_used_emulator(emulator)

    # What the model was handed: the structuredContent JSON instead of our text blocks; images and resource
    # links kept (as an image block, the saved copy's path, and a line for the link); audio replaced by text.
    results: dict[str, list[dict[str, Any]]] = {}
    messages = turns[-1]["body"]["messages"]
    names = {
        b["id"]: b["name"].removeprefix("mcp__gemini__")
        for m in messages
        for b in message_blocks(m["content"])
        if b.get("type") == "tool_use"
    }
    for m in messages:
        for b in message_blocks(m["content"]):
            if b.get("type") == "tool_result":
                results[names[b["tool_use_id"]]] = message_blocks(b["content"])
    text_result = results["generate_text"]
    assert [b["type"] for b in text_result] == ["text"]
    structured = json.loads(text_result[0]["text"])
    assert EMULATED_TEXT in structured["text"] and structured["finish_reason"] == "STOP"
    image_result = results["generate_image"]
    images = [b["source"] for b in image_result if b["type"] == "image"]
    assert [i["media_type"] for i in images] == ["image/png"] and is_png(images[0]["data"])
    assert any("gemini://media/" in b.get("text", "") for b in image_result)
    assert any(json.loads(b["text"]).get("images") for b in image_result if b.get("text", "").startswith("{"))
    speech_result = results["generate_speech"]
    assert all(b["type"] == "text" for b in speech_result), speech_result
    speech = json.dumps(speech_result)
    assert ".wav" in speech

    assert flow.answer in output["result"] and EMULATED_TEXT in output["result"]
    assert blackhole.targets() == []


# --- Codex -----------------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # JSON strings, numbers and booleans are valid TOML


def codex_config(fake: FakeResponses, server_env: dict[str, str], catalog: Path) -> str:
    """The example's [mcp_servers.gemini] (required, timeouts, tool approval) with a fake model provider."""
    example = tomllib.loads((EXAMPLES / "codex.config.toml").read_text())["mcp_servers"]["gemini"]
    server = "\n".join(f"{k} = {toml_value(v)}" for k, v in example_entry(example, server_env).items())
    return f"""
model = "fake-model"
model_provider = "fake"
# The bundled gpt-5.5 entry, renamed and without tool search, so every tool definition is in the request.
model_catalog_json = {toml_value(str(catalog))}
approval_policy = "never"
sandbox_mode = "read-only"
# The TUI's release check (codex exec makes none); kept off in case that changes.
check_for_update_on_startup = false

# Usage analytics: otherwise sent to ab.chatgpt.com.
[analytics]
enabled = false

[feedback]
enabled = false

# Plugins: otherwise the marketplace is fetched (github.com, api.github.com, chatgpt.com). Apps: ChatGPT
# connectors, which need a ChatGPT login.
[features]
plugins = false
apps = false

[model_providers.fake]
name = "fake"
base_url = "{fake.base_url}/v1"
wire_api = "responses"
env_key = "FAKE_OPENAI_API_KEY"

[mcp_servers.gemini]
{server}
"""


def codex_catalog(codex: Path, env: dict[str, str], path: Path) -> Path:
    done = subprocess.run(
        [str(codex), "debug", "models"], env=env, capture_output=True, text=True, timeout=HOST_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr
    models = json.loads(done.stdout)["models"]
    entry = next(m for m in models if m["slug"] == "gpt-5.5")
    assert "image" in entry["input_modalities"]  # a model that takes images: Codex may pass them on
    path.write_text(json.dumps({"models": [{**entry, "slug": "fake-model", "supports_search_tool": False}]}))
    return path


def test_codex_calls_our_tools_with_a_fake_responses_api(
    hosts: Path,
    emulator: Emulator,
    server_env: dict[str, str],
    our_tools: dict[str, dict[str, Any]],
    blackhole: Blackhole,
    tmp_path: Path,
) -> None:
    flow = script("codex")
    codex_home = tmp_path / "codex"
    codex_home.mkdir()
    with FakeResponses(flow) as fake:
        env = host_env(tmp_path, blackhole, CODEX_HOME=str(codex_home), FAKE_OPENAI_API_KEY="sk-fake-key")
        catalog = codex_catalog(hosts / "codex", env, tmp_path / "models.json")
        (codex_home / "config.toml").write_text(codex_config(fake, server_env, catalog))
        done = run_host(
            [str(hosts / "codex"), "exec", "--skip-git-repo-check", "--json", f"{flow.marker}: use the gemini tools"],
            env,
            tmp_path / "work",
        )
        turns = fake.scripted_requests()
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    assert len(turns) == len(flow.calls) + 1
    offered = tool_names(turns[0]["body"])
    assert {n.removeprefix("mcp__gemini.") for n in offered if n.startswith("mcp__gemini.")} == set(our_tools)
    # Codex drops every field description from a schema above about 6 KB: with lean schemas none is lost.
    namespace = next(t for t in turns[0]["body"]["tools"] if t.get("name") == "mcp__gemini")
    kept = {t["name"]: described(t["parameters"]) for t in namespace["tools"]}
    assert kept == {name: described(schema) for name, schema in our_tools.items()}

    # No approval: each MCP call completed (an unapproved one ends as "user cancelled MCP tool call").
    calls = [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "mcp_tool_call"]
    assert [(c["tool"], c["status"], c["error"]) for c in calls] == [(c.name, "completed", None) for c in flow.calls]
    assert_server_used_emulator(emulator)

    # What the model was handed: for a result with structuredContent, only that JSON as a string (after a
    # "Wall time" line); the content blocks, the image among them, are dropped, though the model takes images.
    items = turns[-1]["body"]["input"]
    names = {i["call_id"]: i["name"] for i in items if i.get("type") == "function_call"}
    outputs = {names[i["call_id"]]: i["output"] for i in items if i.get("type") == "function_call_output"}
    assert all(isinstance(o, str) for o in outputs.values()), outputs
    text_output = outputs["generate_text"]
    structured = json.loads(text_output[text_output.index("{") :])
    assert EMULATED_TEXT in structured["text"] and structured["finish_reason"] == "STOP"
    image = json.loads(outputs["generate_image"][outputs["generate_image"].index("{") :])
    assert image["images"][0]["uri"].startswith("gemini://media/") and image["images"][0]["path"].endswith(".png")
    assert "input_image" not in json.dumps(items)
    assert ".wav" in outputs["generate_speech"]

    final = [
        e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
    ]
    assert final and flow.answer in final[-1] and EMULATED_TEXT in final[-1]
    assert blackhole.targets() == []


# --- The emulator's scripted turns, through the SDK (no Node.js needed) ------------------------------------


def test_emulator_scripted_turns_call_a_prefixed_tool_then_quote_its_result(emulator: Emulator) -> None:
    rule = {"marker": "RT-SDK", "calls": [{"name": "generate_text", "args": {"prompt": "hi"}}], "answer": "Done."}
    # The control plane takes the script as well as Emulator.configure does (a host's test may be another process).
    assert httpx2.post(f"{emulator.base_url}/_emulator/config", json={"extra": {"scripted": [rule]}}).is_success
    client = genai.Client(api_key=FAKE_KEY, http_options=types.HttpOptions(base_url=emulator.base_url))
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="mcp_gemini_generate_text",
                description="Text.",
                parameters_json_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
            )
        ]
    )
    config = types.GenerateContentConfig(tools=[tool])
    first = client.models.generate_content(model="gemini-2.5-flash", contents="RT-SDK: go", config=config)
    assert first.function_calls and first.function_calls[0].name == "mcp_gemini_generate_text"
    assert first.function_calls[0].args == {"prompt": "hi"}

    call = first.candidates[0].content if first.candidates else None
    assert call is not None
    result = types.Part.from_function_response(name="mcp_gemini_generate_text", response={"output": "a fox"})
    history = [
        types.Content(role="user", parts=[types.Part(text="RT-SDK: go")]),
        call,
        types.Content(role="user", parts=[result]),
    ]
    second = client.models.generate_content(model="gemini-2.5-flash", contents=history, config=config)
    assert second.text is not None and second.text.startswith("Done.") and '"output": "a fox"' in second.text

    # Without the marker, or without the tool, the emulator answers as it always does.
    plain = client.models.generate_content(model="gemini-2.5-flash", contents="RT-SDK: go")
    assert plain.text is not None and "Answer to: RT-SDK: go" in plain.text
