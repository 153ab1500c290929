"""Arguments hosts add on their own never break a call; any other unknown argument is an error that helps.

Gemini CLI adds a `wait_for_previous` boolean to every tool declaration it hands its model, and forwards it
with the call: it is accepted and ignored. A typo (`temprature`) still fails, naming the valid parameters and
the one that was probably meant, and the schemas keep `additionalProperties: false`, so typos never pass
silently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import HOST_ARGUMENTS, structured_result
from gemini_mcp.server.app import build_server

pytestmark = pytest.mark.anyio


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.mark.parametrize("value", [True, False])
async def test_wait_for_previous_is_accepted_and_ignored(
    client: Client, emulator: Emulator, caplog: pytest.LogCaptureFixture, value: bool
) -> None:
    with caplog.at_level(logging.DEBUG, logger="gemini_mcp.tools"):
        result = await client.call_tool(
            "generate_text", {"prompt": "hello from gemini cli", "wait_for_previous": value}
        )
        voices = await client.call_tool("list_voices", {"wait_for_previous": value})  # a tool with no parameters
    assert not result.is_error and "hello from gemini cli" in text_of(result)
    assert not voices.is_error
    (sent,) = emulator.requests("generateContent")
    assert "wait_for_previous" not in json.dumps(sent)
    assert "generate_text: ignored host-added argument(s) wait_for_previous" in caplog.text


async def test_a_typo_names_the_parameter_meant_and_the_valid_ones(client: Client, emulator: Emulator) -> None:
    typo = await client.call_tool("generate_text", {"prompt": "hi", "temprature": 0.2, "wait_for_previous": True})
    two = await client.call_tool("generate_text", {"prompt": "hi", "zzz": 1, "qqq": 2})
    nested = await client.call_tool("generate_text", {"prompt": "hi", "media": [{"pth": "photo.png"}]})
    assert typo.is_error and two.is_error and nested.is_error
    message = text_of(typo)
    assert "temprature: is not a parameter of generate_text (did you mean 'temperature'?)" in message
    assert "Its parameters: prompt, " in message and "temperature" in message.split("Its parameters:")[1]
    assert "wait_for_previous" not in message  # the host's own argument is never the problem
    # No close match: no guess; several unknown names: the valid ones are listed once.
    assert "zzz: is not a parameter of generate_text; qqq: is not a parameter of generate_text." in text_of(two)
    assert "did you mean" not in text_of(two) and text_of(two).count("Its parameters:") == 1
    assert "media.0.pth: is not a field of media.0 (did you mean 'path'?)" in text_of(nested)
    assert "The fields of media.0: path, " in text_of(nested)
    assert emulator.requests("generateContent") == []  # refused before anything reached Gemini


async def test_every_input_schema_still_refuses_unknown_properties(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert tools
    for tool in tools:
        assert tool.input_schema.get("additionalProperties") is False, tool.name
        assert not HOST_ARGUMENTS & set(tool.input_schema.get("properties", {})), tool.name


# A tool that declares a host argument itself keeps it: the framework drops only what a tool does not take.
class WaitingInput(ToolInput):
    wait_for_previous: Annotated[bool, Field(description="This tool's own meaning of it.")] = False


class WaitingOutput(ToolOutput):
    got: bool


async def _waiting(args: WaitingInput, call: Call) -> CallToolResult:
    return structured_result(WaitingOutput(got=args.wait_for_previous))


WAITING = ToolSpec(
    name="own_wait",
    title="A tool with its own wait_for_previous",
    description="Says what it received.",
    input_model=WaitingInput,
    output_model=WaitingOutput,
    handler=_waiting,
    annotations=ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
)


async def test_a_tool_that_declares_a_host_argument_receives_it(make_env: Callable[..., dict[str, str]]) -> None:
    def discover() -> list[tuple[str, Any]]:
        return [(__name__, WAITING)]

    server = build_server(Settings.from_env(make_env(GEMINI_MCP_TOOLSETS="test_host_arguments")), discover=discover)
    async with Client(server) as client:
        (tool,) = (await client.list_tools()).tools
        result = await client.call_tool("own_wait", {"wait_for_previous": True})
    assert "wait_for_previous" in tool.input_schema["properties"]
    assert result.structured_content == {"got": True}
