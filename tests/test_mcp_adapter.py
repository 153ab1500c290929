"""framework/mcp_adapter.py against the installed `mcp` SDK: what it reads is still there, with the shape it
expects, and a progress token makes the round trip in memory, over stdio and over HTTP, in both protocol eras.

When an `mcp` upgrade moves something the adapter relies on, a test here fails naming the SDK attribute:
fix the adapter (the only module that reaches past the SDK's public surface), not its callers.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.server.session import ServerSession
from mcp_types import CallToolResult, EmptyResult, SetLevelRequestParams, TextContent, ToolAnnotations
from pydantic import BaseModel

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.framework.mcp_adapter import (
    CONTEXT_KWARG,
    connection_of,
    lowlevel_server,
    output_schema_of,
    progress_requested,
    registered_tool,
)
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import build_tools
from gemini_mcp.server.app import build_services
from tests.conftest import stdio_params
from tests.http_server import http_server

pytestmark = pytest.mark.anyio

ERAS = ["legacy", "2026-07-28"]
INPUT_SCHEMA = {
    "type": "object",
    "properties": {"prompt": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["prompt"],
}
OUTPUT_SCHEMA = {"type": "object", "properties": {"seen": {"type": "object"}}, "required": ["seen"]}


def private(owner: Any, name: str, where: str) -> Any:
    """`owner.name`, or a failure naming the SDK attribute the adapter reads."""
    assert hasattr(owner, name), (
        f"mcp SDK changed: {where}.{name} is gone; framework/mcp_adapter.py reads it (see its docstring) and "
        "needs another way to get what it gave"
    )
    return getattr(owner, name)


def sdk_class(module: str, name: str) -> type:
    found = getattr(importlib.import_module(module), name, None)
    assert isinstance(found, type), f"mcp SDK changed: {module}.{name} is gone; framework/mcp_adapter.py relies on it"
    return found


# --- the SDK's shape -----------------------------------------------------------------------------------------
def test_the_sdk_tool_is_built_from_the_fields_the_adapter_sets() -> None:
    fields = set(Tool.model_fields)
    wanted = {"fn", "name", "title", "description", "parameters", "fn_metadata", "is_async", "context_kwarg"}
    assert wanted | {"annotations"} <= fields, f"mcp SDK changed: Tool fields are now {sorted(fields)}"
    assert {"arg_model", "output_schema", "output_model"} <= set(FuncMetadata.model_fields), (
        f"mcp SDK changed: FuncMetadata fields are now {sorted(FuncMetadata.model_fields)}"
    )
    assert list(inspect.signature(Tool.run).parameters)[:4] == ["self", "arguments", "context", "convert_result"], (
        "mcp SDK changed: Tool.run(arguments, context, convert_result) is how MCPServer calls a tool"
    )
    assert callable(private(ArgModelBase, "model_dump_one_level", "ArgModelBase"))
    assert "tools" in inspect.signature(MCPServer).parameters, "mcp SDK changed: MCPServer(tools=[...]) is gone"


def test_the_private_classes_behind_in_memory_progress_keep_their_fields() -> None:
    wrapper = sdk_class("mcp.server.runner", "_NoServerRequestsDispatchContext")
    direct = sdk_class("mcp.shared.direct_dispatcher", "_DirectDispatchContext")
    assert "_inner" in {f.name for f in dataclasses.fields(wrapper)}, (
        "mcp SDK changed: mcp.server.runner._NoServerRequestsDispatchContext._inner (the wrapped channel) is gone"
    )
    assert "_on_progress" in {f.name for f in dataclasses.fields(direct)}, (
        "mcp SDK changed: mcp.shared.direct_dispatcher._DirectDispatchContext._on_progress is gone"
    )
    assert "request_outbound" in inspect.signature(ServerSession).parameters, (
        "mcp SDK changed: ServerSession no longer takes the request's outbound channel (kept as _request_outbound)"
    )


def test_the_lowlevel_server_takes_the_logging_handler_and_advertises_logging() -> None:
    server: MCPServer[Any] = MCPServer("probe")
    lowlevel = private(server, "_lowlevel_server", "MCPServer")
    assert lowlevel_server(server) is lowlevel and isinstance(lowlevel, Server), (
        f"mcp SDK changed: MCPServer._lowlevel_server is a {type(lowlevel).__name__}, not mcp.server.lowlevel.Server"
    )
    assert lowlevel.get_capabilities().logging is None

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        return EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    assert lowlevel.get_capabilities().logging is not None
    for name in ("run", "create_initialization_options"):
        assert callable(private(lowlevel, name, "mcp.server.lowlevel.Server")), "server/stdio.py runs the loop with it"


class Answer(BaseModel):
    text: str
    score: float | None = None


def answer() -> Answer:
    raise NotImplementedError


def test_output_schema_of_is_what_the_sdk_publishes_for_a_return_type() -> None:
    assert output_schema_of(Answer) == Tool.from_function(answer).output_schema


# --- a registered tool, in memory ------------------------------------------------------------------------------
class Probe:
    """A tool registered through the adapter that records what the SDK hands it."""

    def __init__(self, result: CallToolResult | None = None) -> None:
        self.result = result
        self.calls: list[tuple[dict[str, Any], Context[Any, Any]]] = []

    async def __call__(self, arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
        self.calls.append((arguments, context))
        await context.report_progress(1, 2, "half way")
        if self.result is not None:
            return self.result
        seen = {"arguments": arguments, "progress_requested": progress_requested(context.request_context)}
        return CallToolResult(content=[TextContent(type="text", text="seen")], structured_content={"seen": seen})

    def server(self) -> MCPServer[Any]:
        tool = registered_tool(
            name="probe",
            title="Probe",
            description="Records its call.",
            input_schema=INPUT_SCHEMA,
            output_schema=OUTPUT_SCHEMA,
            annotations=ToolAnnotations(read_only_hint=True),
            run=self,
        )
        return MCPServer("probe", tools=[tool])


@pytest.mark.parametrize("mode", ERAS)
async def test_a_registered_tool_is_listed_with_its_schemas_and_gets_its_arguments_whole(mode: str) -> None:
    probe = Probe()
    # A string that is valid JSON stays a string: the SDK's JSON pre-parsing only touches its own argument field.
    arguments = {"prompt": '["not", "a", "list"]', "tags": ["a"]}
    async with Client(probe.server(), mode=mode) as client:
        (listed,) = (await client.list_tools()).tools
        result = await client.call_tool("probe", arguments)
    assert (listed.name, listed.title, listed.description) == ("probe", "Probe", "Records its call.")
    assert listed.input_schema == INPUT_SCHEMA and listed.output_schema == OUTPUT_SCHEMA
    assert listed.annotations is not None and listed.annotations.read_only_hint is True
    assert probe.calls[0][0] == arguments
    assert isinstance(probe.calls[0][1], Context), f"the SDK no longer passes the Context as `{CONTEXT_KWARG}`"
    assert not result.is_error and result.structured_content == {
        "seen": {"arguments": arguments, "progress_requested": False}
    }


@pytest.mark.parametrize("mode", ERAS)
async def test_a_registered_tools_result_reaches_the_client_unchanged(mode: str) -> None:
    refusal = CallToolResult(content=[TextContent(type="text", text="prompt: is required")], is_error=True)
    async with Client(Probe(refusal).server(), mode=mode) as client:
        result = await client.call_tool("probe", {})
    # No "Error executing tool probe: " in front: the runner's message is what the agent reads.
    assert result.is_error and [block.text for block in result.content] == ["prompt: is required"]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_is_detected_and_delivered_in_memory(mode: str) -> None:
    probe = Probe()
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with Client(probe.server(), mode=mode) as client:
        without = await client.call_tool("probe", {"prompt": "quiet"})
        asked = await client.call_tool("probe", {"prompt": "loud"}, progress_callback=on_progress)
    assert without.structured_content is not None and without.structured_content["seen"]["progress_requested"] is False
    assert asked.structured_content is not None and asked.structured_content["seen"]["progress_requested"] is True, (
        f"progress token not found at {mode}: " + _where_progress_lives(probe.calls[-1][1])
    )
    assert updates == [(1, 2, "half way")]


def _where_progress_lives(context: Context[Any, Any]) -> str:
    """What the adapter expected to read, for the failure message."""
    request = context.request_context
    outbound = getattr(request.session, "_request_outbound", "<no ServerSession._request_outbound>")
    chain = []
    for _ in range(4):
        chain.append(type(outbound).__qualname__)
        inner = getattr(outbound, "_inner", None)
        if inner is None:
            break
        outbound = inner
    return (
        f"meta={request.meta!r}; outbound chain {' -> '.join(chain)}; "
        f"_on_progress present: {hasattr(outbound, '_on_progress')}"
    )


async def test_the_connection_outlives_its_requests_sessions() -> None:
    # Legacy only: logging/setLevel, the one state kept per connection, is gone at 2026-07-28, where every
    # request is a connection of its own.
    probe = Probe()
    server = probe.server()
    async with Client(server, mode="legacy") as client:
        await client.call_tool("probe", {"prompt": "one"})
        await client.call_tool("probe", {"prompt": "two"})
    async with Client(server, mode="legacy") as other:
        await other.call_tool("probe", {"prompt": "three"})
    sessions = [context.request_context.session for _, context in probe.calls]
    connection = private(sessions[0], "_connection", "ServerSession")
    assert sessions[0] is not sessions[1], "the SDK now keeps one ServerSession per connection: key on it instead"
    assert connection_of(sessions[0]) is connection is connection_of(sessions[1])
    assert connection_of(sessions[2]) is not connection


# --- what the SDK no longer checks, the runner does ---------------------------------------------------------
class Count(ToolOutput):
    count: int


class Ask(ToolInput):
    prompt: str


async def counts(args: Ask, call: Any) -> CallToolResult:
    structured: dict[str, Any] = {"count": len(args.prompt)} if args.prompt != "break" else {"count": "many"}
    return CallToolResult(content=[TextContent(type="text", text="counted")], structured_content=structured)


@pytest.mark.parametrize("mode", ERAS)
async def test_structured_content_that_breaks_the_output_model_is_never_sent(
    make_env: Callable[..., dict[str, str]], mode: str
) -> None:
    spec = ToolSpec(
        name="count",
        title="Count",
        description="Counts.",
        input_model=Ask,
        output_model=Count,
        handler=counts,
        annotations=ToolAnnotations(read_only_hint=True),
    )
    services = build_services(Settings.from_env(make_env()))
    server: MCPServer[Any] = MCPServer("count", tools=build_tools([spec], services, SchemaCache()))
    async with Client(server, mode=mode) as client:
        (listed,) = (await client.list_tools()).tools
        good = await client.call_tool("count", {"prompt": "four"})
        bad = await client.call_tool("count", {"prompt": "break"})
        wrong = await client.call_tool("count", {"prompt": 4})
    assert listed.output_schema == output_schema_of(Count)
    # The runner adds the text's headline: some hosts show only the structured content (framework/views.py).
    assert not good.is_error and good.structured_content == {"count": 4, "summary": "counted"}
    assert bad.is_error and bad.structured_content is None
    assert [block.text for block in bad.content] == [  # type: ignore[union-attr]
        "count failed unexpectedly (ValidationError); the server log has details"
    ]
    assert wrong.is_error and [block.text for block in wrong.content] == [  # type: ignore[union-attr]
        "Invalid arguments for count: prompt: Input should be a valid string"
    ]


# --- the round trip through gemini-mcp itself ------------------------------------------------------------------
async def _streams_only_when_asked(client: Client, emulator: Emulator) -> list[str]:
    """generate_text streams (and reports progress) exactly when the client sent a progress token."""
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    plain = await client.call_tool("generate_text", {"prompt": "no progress please"})
    streamed = await client.call_tool(
        "generate_text", {"prompt": "stream these words to me please"}, progress_callback=on_progress
    )
    assert not plain.is_error and not streamed.is_error
    assert [request["rpc"] for request in emulator.requests()] == ["generateContent", "streamGenerateContent"]
    assert messages and messages[-1] == streamed.content[0].text  # type: ignore[union-attr]
    return messages


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_round_trip_in_memory(make_client: Callable[..., Client], emulator: Emulator, mode: str) -> None:
    async with make_client(mode=mode) as client:
        await _streams_only_when_asked(client, emulator)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ERAS)
async def test_progress_round_trip_over_stdio(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, mode: str
) -> None:
    async with Client(stdio_params(make_env()), mode=mode) as client:
        await _streams_only_when_asked(client, emulator)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ERAS)
async def test_progress_round_trip_over_http(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, mode: str
) -> None:
    with http_server(make_env()) as server:
        async with Client(server.url, mode=mode) as client:
            await _streams_only_when_asked(client, emulator)
