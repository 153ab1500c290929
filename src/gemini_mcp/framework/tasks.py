"""The MCP tasks extension (`io.modelcontextprotocol/tasks`, protocol 2026-07-28) for Veo tools.

When a client declares the extension on a `tools/call` of `generate_video` / `extend_video`, the server
starts the Veo operation and answers at once with a task handle (`resultType: "task"`) instead of waiting;
the client polls `tasks/get` until the task is `completed`, and receives the same `CallToolResult` the
tool would have returned.

The task id encodes the Veo operation name (Google keeps the operation), so any replica of a stateless
deployment can answer `tasks/get`: nothing needed to resume lives in this process. A finished result is
cached per process only to avoid downloading the video again on repeated polls.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolRequestParams, CallToolResult, RequestParams, TextContent
from pydantic import Field

if TYPE_CHECKING:
    from gemini_mcp.framework.call import Services

logger = logging.getLogger("gemini_mcp.tasks")

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
TASK_TOOLS = ("generate_video", "extend_video")
COLLECTOR = "get_video_operation"
TASK_PREFIX = "veo."
TTL_MS = 48 * 3600 * 1000  # Google keeps finished operations for about two days
CACHE_SIZE = 64


class TaskIdParams(RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, Any] | None = Field(default=None, alias="inputResponses")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def encode_task_id(operation_name: str, output: str) -> str:
    payload = json.dumps({"op": operation_name, "out": output}, separators=(",", ":")).encode()
    return TASK_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_task_id(task_id: str) -> tuple[str, str]:
    if not task_id.startswith(TASK_PREFIX):
        raise MCPError(code=-32602, message=f"Unknown task id {task_id!r}")
    raw = task_id[len(TASK_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return str(data["op"]), str(data.get("out", "link"))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise MCPError(code=-32602, message=f"Unknown task id {task_id!r}") from exc


def client_wants_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    meta = ctx.meta or {}
    capabilities = meta.get("io.modelcontextprotocol/clientCapabilities") or {}
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    return isinstance(extensions, dict) and TASKS_EXTENSION in extensions


class VideoTasks(Extension):
    identifier = TASKS_EXTENSION

    def __init__(self, services: Services) -> None:
        self.services = services
        self._finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cancelled: set[str] = set()
        self._tools: dict[str, Any] = {}  # GeminiTool by name, built once (tasks/get polls call them often)

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskIdParams, self._get),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel),
            MethodBinding("tasks/update", UpdateTaskParams, self._update),
        ]

    async def _run(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        from gemini_mcp.framework.toolkit import GeminiTool

        if name not in self._tools:
            spec = next((s for s in self.services.specs if s.name == name), None)
            if spec is None:
                return CallToolResult(content=[TextContent(type="text", text=f"Unknown tool {name}")], is_error=True)
            self._tools[name] = GeminiTool.build(spec, self.services)
        try:
            result = await self._tools[name].run(arguments, context=None)
        except ToolError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        assert isinstance(result, CallToolResult)
        return result

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if params.name not in TASK_TOOLS or not client_wants_tasks(ctx):
            return await call_next(ctx)
        arguments = dict(params.arguments or {})
        output = str(arguments.get("output", "link"))
        result = await self._run(params.name, {**arguments, "wait": False})
        structured = result.structured_content or {}
        if result.is_error or structured.get("status") != "running":
            return result  # refused before starting, or already finished: an ordinary result
        task_id = encode_task_id(str(structured["operation_name"]), output)
        now = _now()
        logger.info("%s started as task for operation %s", params.name, structured["operation_name"])
        return {
            "resultType": "task",
            "taskId": task_id,
            "status": "working",
            "statusMessage": "Veo started: the video usually takes 1 to 3 minutes",
            "createdAt": now,
            "lastUpdatedAt": now,
            "ttlMs": TTL_MS,
            "pollIntervalMs": int(self.services.settings.video_poll_s * 1000),
        }

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        operation, output = decode_task_id(params.task_id)
        base = {
            "resultType": "complete",
            "taskId": params.task_id,
            "createdAt": _now(),
            "lastUpdatedAt": _now(),
            "ttlMs": TTL_MS,
            "pollIntervalMs": int(self.services.settings.video_poll_s * 1000),
        }
        if params.task_id in self._cancelled:
            return {**base, "status": "cancelled", "statusMessage": "Cancelled by the client"}
        if params.task_id in self._finished:
            return {**base, "status": "completed", "result": self._finished[params.task_id]}
        result = await self._run(COLLECTOR, {"operation_name": operation, "output": output})
        structured = result.structured_content or {}
        if not result.is_error and structured.get("status") == "running":
            percent = structured.get("progress_percent")
            message = f"Veo is working ({percent:.0f}%)" if isinstance(percent, (int, float)) else "Veo is working"
            return {**base, "status": "working", "statusMessage": message}
        payload = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        self._finished[params.task_id] = payload
        while len(self._finished) > CACHE_SIZE:
            self._finished.popitem(last=False)
        message = "The video is ready" if not result.is_error else "Veo could not make the video"
        return {**base, "status": "completed", "statusMessage": message, "result": payload}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        decode_task_id(params.task_id)
        # Veo operations cannot be stopped through the API; the result is simply never collected.
        self._cancelled.add(params.task_id)
        return {}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        decode_task_id(params.task_id)
        return {}  # Veo tasks never ask for input
