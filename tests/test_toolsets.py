"""Toolsets: the settings and flags choose the tools a server offers; over HTTP, headers narrow them per request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from gemini_mcp.config.settings import SETTINGS, Settings, SettingsError
from gemini_mcp.server.app import build_server
from gemini_mcp.server.cli import build_parser
from gemini_mcp.tools import specs_by_module
from tests.conftest import FAKE_KEY, stdio_params
from tests.http_server import http_server

JOB_TOOLS = {"get_job", "cancel_job"}
CATALOG = specs_by_module()
ALL_TOOLS = [spec.name for _, spec in CATALOG]
READ_ONLY = {spec.name for _, spec in CATALOG if spec.annotations.read_only_hint}
OPT_IN = {spec.name for _, spec in CATALOG if spec.opt_in}
DEFAULT_TOOLS = set(ALL_TOOLS) - OPT_IN


def family(name: str) -> set[str]:
    return {spec.name for module, spec in CATALOG if module.rsplit(".", 1)[-1] == name}


async def listed(client: Client) -> list[str]:
    return [tool.name for tool in (await client.list_tools()).tools]


# --- the server's own settings ---------------------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--toolsets=video", family("video") | JOB_TOOLS),
        ("--read-only", READ_ONLY),
    ],
)
async def test_flags_choose_what_a_stdio_host_lists(
    make_env: Callable[..., dict[str, str]], flag: str, expected: set[str]
) -> None:
    async with Client(stdio_params(make_env(), flag)) as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == expected
    if flag == "--read-only":
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools)
    else:
        assert "generate_video" in expected and not family("video") & READ_ONLY


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GEMINI_MCP_TOOLSETS": None}, DEFAULT_TOOLS),  # the default set: all but the knowledge toolsets
        ({"GEMINI_MCP_TOOLSETS": "default"}, DEFAULT_TOOLS),
        ({"GEMINI_MCP_TOOLSETS": "all"}, set(ALL_TOOLS)),
        (
            {"GEMINI_MCP_TOOLSETS": "knowledge"},
            family("files") | family("caches") | family("file_search") | family("batch") | JOB_TOOLS,
        ),
        (
            {"GEMINI_MCP_TOOLSETS": None, "GEMINI_MCP_TOOLS": "generate_text, List_Models"},
            {"generate_text", "list_models"},
        ),
        ({"GEMINI_MCP_TOOLSETS": "text", "GEMINI_MCP_TOOLS": "list_models"}, family("text") | {"list_models"}),
        (
            {"GEMINI_MCP_TOOLSETS": "media", "GEMINI_MCP_EXCLUDE_TOOLS": "get_job,edit_image"},
            (family("images") | family("speech") | family("video") | {"cancel_job"}) - {"edit_image"},
        ),
        (
            {"GEMINI_MCP_TOOLSETS": None, "GEMINI_MCP_TOOLS": "generate_video"},
            {"generate_video"} | JOB_TOOLS,
        ),  # a job tool brings its collectors
        (
            {"GEMINI_MCP_TOOLSETS": "text,speech", "GEMINI_MCP_READ_ONLY": "true"},
            READ_ONLY & (family("text") | {"list_voices"}),
        ),
        ({"GEMINI_MCP_TOOLSETS": "all", "GEMINI_MCP_EXCLUDE_TOOLS": "list_models"}, set(ALL_TOOLS) - {"list_models"}),
    ],
)
async def test_settings_choose_the_listed_tools(
    make_client: Callable[..., Client], env: dict[str, str], expected: set[str]
) -> None:
    async with make_client(**env) as client:
        names = await listed(client)
    assert set(names) == expected
    assert names == [name for name in ALL_TOOLS if name in expected]  # catalog order kept


@pytest.mark.anyio
async def test_a_tool_left_out_is_refused_saying_which_setting_decided(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="text", GEMINI_MCP_EXCLUDE_TOOLS="count_tokens") as client:
        with pytest.raises(MCPError) as outside:
            await client.call_tool("generate_video", {"prompt": "a comet"})
        with pytest.raises(MCPError) as excluded:
            await client.call_tool("count_tokens", {"prompt": "hi"})
        unknown = await client.call_tool("no_such_tool", {})  # not in the catalog: the SDK's own answer
        answered = await client.call_tool("generate_text", {"prompt": "still serving"})
    message = str(outside.value)
    assert "generate_video is not enabled on this server" in message
    assert "'video'" in message and "GEMINI_MCP_TOOLSETS / --toolsets" in message
    assert "Enabled tools: generate_text, generate_json" in message
    assert "GEMINI_MCP_EXCLUDE_TOOLS / --exclude-tools excludes it" in str(excluded.value)
    assert unknown.is_error and not answered.is_error


@pytest.mark.anyio
async def test_list_models_and_capabilities_say_which_toolsets_are_on(
    make_client: Callable[..., Client],
) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="video,models") as client:
        result = await client.call_tool("list_models", {})
        resource = await client.read_resource("gemini://capabilities")
        instructions = client.instructions
    for capabilities in (result.structured_content["capabilities"], json.loads(resource.contents[0].text)):  # type: ignore[index, union-attr]
        assert capabilities["toolsets"] == ["video", "models", "jobs"]
        assert "text" in capabilities["toolsets_off"] and "video" not in capabilities["toolsets_off"]
        assert {tool["name"] for tool in capabilities["tools"]} == family("video") | JOB_TOOLS | {"list_models"}
        assert capabilities["read_only"] is False
    assert "Toolsets on: video, models, jobs; off: text" in result.content[0].text  # type: ignore[union-attr]
    assert "This server enables only: generate_video" in (instructions or "")


def test_unknown_names_stop_build_server_naming_the_valid_ones(make_env: Callable[..., dict[str, str]]) -> None:
    settings = Settings.from_env(make_env(GEMINI_MCP_TOOLSETS="vidoe,generate_text", GEMINI_MCP_TOOLS="video"))
    with pytest.raises(SettingsError) as bad:
        build_server(settings)
    first, second, third = bad.value.problems
    assert first.startswith("GEMINI_MCP_TOOLSETS / --toolsets: unknown toolset 'vidoe' (did you mean 'video'?)")
    assert "valid toolsets: text, understanding" in first and first.endswith("all, default, media, knowledge")
    assert "(generate_text is a single tool: name it in GEMINI_MCP_TOOLS / --tools)" in second
    assert "(video is a toolset: name it in GEMINI_MCP_TOOLSETS / --toolsets)" in third


@pytest.mark.parametrize(
    ("args", "env", "stdin"),
    [
        (["--toolsets", "text,vidoe"], {}, "pipe"),
        ([], {"GEMINI_MCP_EXCLUDE_TOOLS": "generat_text"}, "closed"),
    ],
)
def test_an_unknown_name_stops_the_cli_with_one_line(args: list[str], env: dict[str, str], stdin: str) -> None:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    full.update(GEMINI_API_KEY=FAKE_KEY, **env)
    out = subprocess.run(
        [sys.executable, "-m", "gemini_mcp", *args],
        input="" if stdin == "pipe" else None,
        stdin=subprocess.DEVNULL if stdin == "closed" else None,
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
        check=False,
    )
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    if args:
        assert line.startswith("gemini-mcp: cannot start: GEMINI_MCP_TOOLSETS / --toolsets: unknown toolset 'vidoe'")
        assert "(did you mean 'video'?)" in line
    else:
        assert line.startswith(
            "gemini-mcp: cannot start: GEMINI_MCP_EXCLUDE_TOOLS / --exclude-tools: unknown tool 'generat_text' "
            "(did you mean 'generate_text'?); valid tools: generate_text, "
        )
    assert "Traceback" not in out.stderr and FAKE_KEY not in out.stderr


def test_help_and_the_settings_table_name_every_toolset() -> None:
    """The toolset names in --help and the README table are written out: this keeps them in step with the
    tool modules (a new family must be named there)."""
    families = {module.rsplit(".", 1)[-1] for module, _ in CATALOG}
    meaning = next(setting.meaning for setting in SETTINGS if "GEMINI_MCP_TOOLSETS" in setting.names)
    help_text = " ".join(build_parser().format_help().split())
    for name in families | {"all", "default", "media", "knowledge"}:
        assert f"`{name}`" in meaning, name
        assert name in help_text, name
    for header in ("X-MCP-Toolsets", "X-MCP-Tools", "X-MCP-Exclude-Tools", "X-MCP-Read-Only"):
        assert header in help_text


# --- HTTP: the same per request, through headers ---------------------------------------------------------------
async def http_client_session(url: str, headers: dict[str, str], mode: str, work: Callable[[Client], Any]) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        return await work(client)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_headers_narrow_one_request_and_never_widen(make_env: Callable[..., dict[str, str]], mode: str) -> None:
    async def video_agent(client: Client) -> tuple[list[str], str, Any, Any]:
        names = await listed(client)
        with pytest.raises(MCPError) as refused:
            await client.call_tool("generate_text", {"prompt": "outside my toolsets"})
        capabilities = (await client.call_tool("list_models", {})).structured_content
        return names, str(refused.value), capabilities, await client.call_tool("list_voices", {})

    async def plain_agent(client: Client) -> tuple[list[str], Any]:
        return await listed(client), await client.call_tool("generate_text", {"prompt": "all of it"})

    async def widening_agent(client: Client) -> tuple[list[str], str]:
        names = await listed(client)
        with pytest.raises(MCPError) as refused:
            await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        return names, str(refused.value)

    with http_server(make_env()) as server:
        headers = {"X-MCP-Toolsets": "video, speech", "X-MCP-Tools": "list_models", "X-MCP-Exclude-Tools": "cancel_job"}
        names, refusal, capabilities, voices = await http_client_session(server.url, headers, mode, video_agent)
        everything, answer = await http_client_session(server.url, {}, mode, plain_agent)
        read_only = await http_client_session(server.url, {"X-MCP-Readonly": "yes"}, mode, listed)
    assert set(names) == (family("video") | family("speech") | {"get_job", "list_models"})
    assert "generate_text is not enabled for this request" in refusal and "X-MCP-Toolsets header" in refusal
    assert capabilities["capabilities"]["toolsets"] == ["speech", "video", "models", "jobs"]
    assert capabilities["capabilities"]["toolsets_off"][:2] == ["text", "understanding"]
    assert not voices.is_error
    assert everything == ALL_TOOLS and not answer.is_error  # the same deployment, another agent: everything
    assert set(read_only) == READ_ONLY

    with http_server(make_env(GEMINI_MCP_TOOLSETS="text")) as server:
        widened = {"X-MCP-Toolsets": "text,video", "X-MCP-Tools": "generate_video", "X-MCP-Read-Only": "false"}
        names, refusal = await http_client_session(server.url, widened, mode, widening_agent)
    assert set(names) == family("text")  # the server's settings are the ceiling
    assert "generate_video is not enabled on this server" in refusal and "GEMINI_MCP_TOOLSETS" in refusal
    assert FAKE_KEY not in server.stderr


@pytest.mark.anyio
async def test_a_bad_toolset_header_is_refused_at_connect_time(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env()) as server:
        for headers, expected in (
            ({"X-MCP-Toolsets": "vidoe"}, "the X-MCP-Toolsets header: unknown toolset 'vidoe' (did you mean 'video'?)"),
            ({"X-MCP-Read-Only": "maybe"}, "X-MCP-Read-Only: expected true or false"),
        ):
            with pytest.raises(Exception) as refused:
                await http_client_session(server.url, headers, "legacy", listed)
            assert expected in _messages(refused.value), headers


def _messages(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return " ".join(_messages(inner) for inner in error.exceptions)
    return str(error)
