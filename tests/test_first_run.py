"""A friendly first run: `gemini-mcp doctor` (one test per finding) and `gemini-mcp --demo` (every tool
offline, every result labelled as emulated)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.framework.toolkit import DEMO_LABEL
from gemini_mcp.server.doctor import Finding, diagnose, doctor, report
from tests.conftest import FAKE_KEY, stdio_params
from tests.http_server import free_port

pytestmark = pytest.mark.anyio


async def findings(env: dict[str, str], network: bool = False) -> dict[str, Finding]:
    return {f.check: f for f in await diagnose(Settings.from_env(env), env, network=network)}


async def test_doctor_reports_versions(make_env: Callable[..., dict[str, str]]) -> None:
    found = (await findings(make_env()))["versions"]
    assert found.status == "ok" and "google-genai" in found.detail and "mcp" in found.detail


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"GEMINI_API_KEY": None}, "fail", "no API key"),
        ({}, "ok", "key from GEMINI_API_KEY"),
        ({"GOOGLE_API_KEY": "other"}, "ok", "GEMINI_API_KEY also set and ignored"),
        ({"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": "v"}, "ok", "express mode"),
        (
            {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GOOGLE_CLOUD_PROJECT": "my-proj", "GOOGLE_CLOUD_LOCATION": "eu"},
            "ok",
            "project my-proj",
        ),
        ({"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None}, "fail", "without credentials"),
    ],
)
async def test_doctor_credentials(
    make_env: Callable[..., dict[str, str | None]], changes: dict[str, str | None], status: str, words: str
) -> None:
    found = (await findings(make_env(**changes)))["credentials"]
    assert found.status == status and words in found.detail, found
    assert FAKE_KEY not in found.detail + found.fix
    if status == "fail":
        assert "GOOGLE_API_KEY" in found.fix or "GEMINI_API_KEY" in found.fix


async def test_doctor_backend(make_env: Callable[..., dict[str, str]]) -> None:
    developer = (await findings(make_env()))["backend"]
    assert developer.status == "ok" and "Gemini Omni" in developer.detail  # video works with only an API key
    assert "GOOGLE_GENAI_USE_VERTEXAI" in developer.detail  # and it says how to reach Imagen and Veo
    vertex = (await findings(make_env(GOOGLE_GENAI_USE_VERTEXAI="true")))["backend"]
    assert vertex.status == "ok" and "Veo" in vertex.detail


async def test_doctor_output_folder(make_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    assert (await findings(make_env()))["output folder"].status == "ok"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found = (await findings(make_env(GEMINI_MCP_OUTPUT_DIR=str(blocker / "media"))))["output folder"]
    assert found.status == "fail" and "GEMINI_MCP_OUTPUT_DIR" in found.fix


async def test_doctor_local_media_folders(make_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    assert (await findings(make_env(GEMINI_MCP_ALLOWED_DIRS=str(tmp_path))))["local media folders"].status == "ok"
    found = (await findings(make_env(GEMINI_MCP_ALLOWED_DIRS=str(tmp_path / "missing"))))["local media folders"]
    assert found.status == "warn" and "GEMINI_MCP_ALLOWED_DIRS" in found.fix


async def test_doctor_endpoint_and_key(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> None:
    found = await findings(make_env(), network=True)
    assert found["endpoint"].status == "ok" and found["API key"].status == "ok"

    emulator.add_fault(match="models", status=403, times=None)
    rejected = (await findings(make_env(), network=True))["API key"]
    assert rejected.status == "fail" and "aistudio.google.com/apikey" in rejected.fix
    assert all("key=" not in r["path"] for r in emulator.requests())  # the key went in a header

    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = (await findings(make_env(GOOGLE_GEMINI_BASE_URL=closed), network=True))["endpoint"]
    assert unreachable.status == "fail" and "HTTPS_PROXY" in unreachable.fix


async def test_doctor_lists_the_settings_set_and_where_they_come_from(
    make_env: Callable[..., dict[str, str]],
) -> None:
    env = make_env(GEMINI_MCP_TIMEOUT="30", GEMINI_MCP_AUTH_TOKEN="tok-5e3b7", GOOGLE_API_KEY="other-key-41")
    found = await diagnose(Settings.from_env(env), env, network=False, origins={"GEMINI_MCP_TIMEOUT": "set by --x"})
    settings = next(f for f in found if f.check == "settings")
    assert settings.status == "ok"
    assert "GEMINI_MCP_TIMEOUT = 30  (set by --x)" in settings.items
    assert "GEMINI_MCP_AUTH_TOKEN = (hidden)  (secret, HTTP only)" in settings.items
    assert "GOOGLE_API_KEY = (hidden)  (secret)" in settings.items
    assert "GEMINI_API_KEY = (hidden)  (secret, ignored: GOOGLE_API_KEY wins)" in settings.items
    shown = report(found)
    assert all(secret not in shown for secret in (FAKE_KEY, "tok-5e3b7", "other-key-41"))


async def test_doctor_warns_about_variables_no_setting_has(make_env: Callable[..., dict[str, str]]) -> None:
    found = (await findings(make_env(GEMINI_MCP_TIMEOUTS="30")))["unknown variables"]
    assert found.status == "warn" and "GEMINI_MCP_TIMEOUTS" in found.detail
    assert "did you mean GEMINI_MCP_TIMEOUT?" in found.fix
    assert "unknown variables" not in await findings(make_env())


async def test_doctor_reports_a_bad_value_instead_of_crashing(make_env: Callable[..., dict[str, str]]) -> None:
    found = {f.check: f for f in await doctor(make_env(GEMINI_MCP_TIMEOUT="abc"), network=False)}
    assert found["settings"].status == "fail"
    assert found["settings"].items == [
        "GEMINI_MCP_TIMEOUT='abc' is not valid: expected a number greater than 0; fix it or unset it for the "
        "default (120)"
    ]


@pytest.mark.parametrize("args", [("--demo", "doctor"), ("doctor", "--demo")])
def test_demo_doctor_checks_the_emulator_and_says_so(tmp_path: Path, args: tuple[str, str]) -> None:
    params = stdio_params({"GEMINI_MCP_OUTPUT_DIR": str(tmp_path), "GEMINI_API_KEY": FAKE_KEY}, *args)
    done = subprocess.run([params.command, *params.args], env=params.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("✓ mode: demo: the checks below run against the built-in offline emulator at https://")
    assert any(line.startswith("✓ endpoint: https://127.0.0.1:") for line in lines)  # over TLS, with the demo's CA
    assert "✓ credentials: Gemini Developer API, key from GEMINI_API_KEY" in lines
    assert "    GEMINI_API_KEY = (hidden)  (set by --demo, secret)" in lines
    assert lines[-1].startswith("all good: the demo works offline")
    assert "run 'gemini-mcp --demo'" not in done.stdout  # it checked the demo instead of pointing at it
    assert FAKE_KEY not in done.stdout + done.stderr


def test_doctor_command_exit_status_and_json(make_env: Callable[..., dict[str, str]]) -> None:
    def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        params = stdio_params(env, "doctor", *args)
        command = [params.command, *params.args]
        return subprocess.run(command, env=params.env, capture_output=True, text=True, timeout=60)

    good = doctor(make_env())
    assert good.returncode == 0, good.stdout + good.stderr
    assert "✓ credentials" in good.stdout and FAKE_KEY not in good.stdout + good.stderr
    bad = doctor(make_env(GEMINI_API_KEY=None), "--json", "--offline")
    assert bad.returncode == 1
    assert {"check": "credentials", "status": "fail"}.items() <= {
        **next(f for f in json.loads(bad.stdout) if f["check"] == "credentials")
    }.items()


async def test_demo_mode_serves_every_tool_offline_and_labels_results(tmp_path: Path) -> None:
    env = {"GEMINI_MCP_OUTPUT_DIR": str(tmp_path), "HOME": os.environ.get("HOME", str(tmp_path))}
    params = stdio_params(env, "--demo")
    assert params.env is not None and not any(k in params.env for k in ("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    async with Client(params) as client:
        instructions = client.instructions or ""
        assert instructions.startswith("DEMO MODE")
        listed = await client.call_tool("list_models", {})
        capabilities = listed.structured_content["capabilities"]  # type: ignore[index]
        assert capabilities["demo"] is True
        available = {t["name"] for t in capabilities["tools"] if t["available"]}
        assert {"generate_video", "generate_image", "generate_text"} <= available
        for tool, arguments in [
            ("generate_text", {"prompt": "hello"}),
            ("generate_image", {"prompt": "a kite", "output": "link"}),
            ("live_converse", {"text": "hello", "output": "link"}),
        ]:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, result
            last = result.content[-1]
            assert isinstance(last, TextContent) and last.text == DEMO_LABEL
