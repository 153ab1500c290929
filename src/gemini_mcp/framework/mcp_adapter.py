"""The one module that leans on the `mcp` SDK past its public surface.

Every other module uses the SDK's public names only. What is here either has no public API in `mcp` 2.x
(reading one of its private attributes), or sits on the internal side of a public one (an SDK `Tool`, which
its docstring calls "internal tool registration info", is built here field by field). Each function says what
it reads and why. tests/test_mcp_adapter.py asserts that everything relied on here still exists with the
expected shape, naming the SDK attribute when an upgrade moves one, and runs a progress round trip in memory,
over stdio and over HTTP: an SDK upgrade that breaks this module fails there, not in a user's session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import model_validator

ToolRunner = Callable[[dict[str, Any], Context[Any, Any]], Awaitable[CallToolResult]]

# The one field of the SDK-side argument model. The SDK JSON-decodes a string argument whose key matches a
# field of that model (a workaround for hosts that send lists as strings), so the name must be one no tool
# uses as an argument.
ARGUMENTS_FIELD = "gemini_mcp_arguments"
CONTEXT_KWARG = "context"
# How many delegating wrappers to look through for the in-memory progress callback (the 2026-07-28 runner
# adds one today).
MAX_OUTBOUND_WRAPPERS = 4


class WholeArguments(ArgModelBase):
    """The SDK's argument model for every tool: it hands the arguments over whole, so the runner validates
    them into the spec's own input model (messages that name the field; a lazy spec's model is not imported
    until then)."""

    gemini_mcp_arguments: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _whole(cls, data: Any) -> Any:
        return {ARGUMENTS_FIELD: data}


def registered_tool(
    *,
    name: str,
    title: str | None,
    description: str,
    input_schema: dict[str, Any],
    output_schema: dict[str, Any] | None,
    annotations: ToolAnnotations | None,
    run: ToolRunner,
) -> Tool:
    """An SDK Tool for `MCPServer(tools=[...])` that advertises these schemas and hands each call to
    `run(arguments, context)`.

    `Tool.from_function` would derive the schemas from a function signature, building a pydantic model per
    tool at start-up, which the cached catalog exists to avoid; so the Tool is built from its public fields.
    `Tool.run` then validates into `WholeArguments`, passes the request's Context as `context`, and with no
    `output_model` (only the published `output_schema`) returns our CallToolResult unchanged: the runner
    checks structuredContent against the spec's output model itself, so no SDK object changes during a call.
    `run` returns failures as `isError` results rather than raising ToolError, which the SDK would prefix
    with "Error executing tool <name>: ".
    """

    async def call(gemini_mcp_arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
        return await run(gemini_mcp_arguments, context)

    return Tool(
        fn=call,
        name=name,
        title=title,
        description=description,
        parameters=input_schema,
        fn_metadata=FuncMetadata(arg_model=WholeArguments, output_schema=output_schema),
        is_async=True,
        context_kwarg=CONTEXT_KWARG,
        annotations=annotations,
    )


def output_schema_of(model: Any) -> dict[str, Any] | None:
    """The `outputSchema` the SDK publishes for `model` as a tool's return type (its strict JSON schema, a
    root `$ref` inlined), so our tools advertise exactly what an SDK-registered tool would."""
    return FuncMetadata(arg_model=WholeArguments, output_model=model).output_schema


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """The low-level `Server` inside an MCPServer.

    Reads `MCPServer._lowlevel_server`: MCPServer has no accessor for it, and we need it to register a
    request handler MCPServer has no API for (`logging/setLevel`, which also makes the server advertise the
    logging capability) and to run the server loop on our own stdio streams. The SDK's own in-memory client
    reads the same attribute (mcp/client/_memory.py).
    """
    return server._lowlevel_server


def connection_of(session: Any) -> Any:
    """The client connection a request's session belongs to; the session itself if there is none.

    Reads `ServerSession._connection`: the SDK builds a ServerSession per request, and only its connection
    lives as long as the client, so state a client sets once for all its requests (the log level chosen with
    `logging/setLevel`) is keyed on it. No public property returns it.
    """
    return getattr(session, "_connection", session)


def progress_requested(context: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client asked for progress on this request.

    Public first: on every JSON-RPC transport (stdio, Streamable HTTP, the in-memory legacy client) the
    token is in the request's `_meta` (`meta["progress_token"]`, or the raw params when the rest of `_meta`
    failed validation). In memory at protocol 2026-07-28 (`mcp.Client(server)`) there is no token: the
    client's callback rides the DirectDispatcher's per-request context, whose `_on_progress` is reachable
    only through `ServerSession._request_outbound`, wrapped by the 2026 runner's `_inner`. It is read, never
    called: delivering progress stays `Context.report_progress`'s job.
    """
    meta = context.meta or {}
    if meta.get("progress_token") is not None:
        return True
    params_meta = (context.params or {}).get("_meta")
    if isinstance(params_meta, dict) and params_meta.get("progressToken") is not None:
        return True
    outbound = getattr(context.session, "_request_outbound", None)
    for _ in range(MAX_OUTBOUND_WRAPPERS):
        if outbound is None:
            return False
        if getattr(outbound, "_on_progress", None) is not None:
            return True
        outbound = getattr(outbound, "_inner", None)
    return False
