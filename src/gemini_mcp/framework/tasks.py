"""The MCP tasks extension (`io.modelcontextprotocol/tasks`, protocol 2026-07-28) for every job tool.

When a client declares the extension on a `tools/call` of a tool whose spec declares a job
(framework/jobs.py), the call runs as usual — with the client's own request context, so its progress and
roots reach the tool — but does not wait: once the job has started the client gets a task handle
(`resultType: "task"`) instead, polls `tasks/get` until the task is `completed`, and receives the same
`CallToolResult` the tool would have returned. `tasks/cancel` cancels the job upstream where its API can.

The task id is the job id, which encodes the kind and the upstream id (the API keeps the job), so any
replica of a stateless deployment can answer `tasks/get`: nothing needed to resume lives in this process.
A finished result is cached per process only to avoid fetching it again on repeated polls.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    RequestParams,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field

from gemini_mcp.errors import GeminiMcpError
from gemini_mcp.framework import jobs
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.jobs import AnyJobOutput, CancelledJob, JobKind, JobRef
from gemini_mcp.framework.spec import ToolInput, ToolSpec

if TYPE_CHECKING:
    from gemini_mcp.framework.call import Services
    from gemini_mcp.framework.toolkit import GeminiTool

logger = logging.getLogger("gemini_mcp.tasks")

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
CACHE_SIZE = 64


class TaskIdParams(RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, Any] | None = Field(default=None, alias="inputResponses")


class _TaskInput(ToolInput):
    job_id: Annotated[str, Field(description="The task id.")]


async def _collect_once(args: _TaskInput, call: Call) -> CallToolResult:
    return await jobs.get_job(args.job_id, call, wait=False)


async def _cancel(args: _TaskInput, call: Call) -> CallToolResult:
    return await jobs.cancel_job(args.job_id, call)


_QUIET = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# tasks/get and tasks/cancel run through the same runner as tools: argument checks, error wording, redaction.
_GET = ToolSpec(
    name="tasks/get",
    title="Task status",
    description="One look at a job.",
    input_model=_TaskInput,
    output_model=AnyJobOutput,
    handler=_collect_once,
    annotations=_QUIET,
    waits_on_jobs=True,
)
_CANCEL = ToolSpec(
    name="tasks/cancel",
    title="Cancel a task",
    description="Cancel a job upstream.",
    input_model=_TaskInput,
    output_model=CancelledJob,
    handler=_cancel,
    annotations=_QUIET,
)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def client_wants_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    meta = ctx.meta or {}
    capabilities = meta.get("io.modelcontextprotocol/clientCapabilities") or {}
    extensions = capabilities.get("extensions") if isinstance(capabilities, dict) else None
    return isinstance(extensions, dict) and TASKS_EXTENSION in extensions


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


class JobTasks(Extension):
    identifier = TASKS_EXTENSION

    def __init__(self, services: Services) -> None:
        self.services = services
        self._finished: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cancelled: set[str] = set()
        self._tools: dict[str, GeminiTool] = {}  # built once: tasks/get polls often

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskIdParams, self._get),
            MethodBinding("tasks/cancel", TaskIdParams, self._cancel),
            MethodBinding("tasks/update", UpdateTaskParams, self._update),
        ]

    def _is_job_tool(self, name: str) -> bool:
        return any(spec.name == name and spec.job_name is not None for spec in self.services.specs)

    def _resolve(self, task_id: str) -> tuple[JobKind, JobRef]:
        try:
            return jobs.resolve(self.services, task_id, "taskId")
        except GeminiMcpError as exc:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown task id {task_id!r}: {exc}") from None

    async def _run(self, spec: ToolSpec[Any], task_id: str, ctx: ServerRequestContext[Any, Any]) -> CallToolResult:
        from gemini_mcp.framework.toolkit import GeminiTool

        if spec.name not in self._tools:
            self._tools[spec.name] = GeminiTool.build(spec, self.services)
        # This request's own context: a progress token or roots the client sent with tasks/* still count.
        context: Context[Any, Any] = Context(request_context=ctx)
        try:
            result = await self._tools[spec.name].run({"job_id": task_id}, context)
        except ToolError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        assert isinstance(result, CallToolResult)
        return result

    def _base(self, kind: JobKind, task_id: str) -> dict[str, Any]:
        return {
            "resultType": "complete",
            "taskId": task_id,
            "createdAt": _now(),
            "lastUpdatedAt": _now(),
            "ttlMs": int(kind.kept_s * 1000),
            "pollIntervalMs": int(kind.poll_interval(self.services.settings) * 1000),
        }

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if not self._is_job_tool(params.name) or not client_wants_tasks(ctx):
            return await call_next(ctx)
        # The real call (its context, progress and roots), told not to wait: the job it starts becomes the task.
        with jobs.watching() as watch:
            result = await call_next(ctx)
        if watch.kind is None or watch.ref is None or not watch.running:
            return result  # refused before starting, or already finished: an ordinary result
        if isinstance(result, CallToolResult) and result.is_error:
            return result
        kind, task_id = watch.kind, watch.ref.id
        logger.info("%s started as task for %s %s", params.name, kind.what, watch.ref.upstream)
        return {
            **self._base(kind, task_id),
            "resultType": "task",
            "status": "working",
            "statusMessage": kind.started_message or f"{kind.title} started",
        }

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        kind, _ = self._resolve(params.task_id)
        base = self._base(kind, params.task_id)
        if params.task_id in self._cancelled:
            return {**base, "status": "cancelled", "statusMessage": "Cancelled by the client"}
        if params.task_id in self._finished:
            return {**base, "status": "completed", "result": self._finished[params.task_id]}
        with jobs.watching() as watch:
            result = await self._run(_GET, params.task_id, ctx)
        if watch.cancelled:
            return {**base, "status": "cancelled", "statusMessage": f"The {kind.what} was cancelled"}
        if not result.is_error and watch.running:
            percent = watch.percent
            message = f"{kind.title} is working ({percent:.0f}%)" if percent is not None else f"{kind.title} is working"
            return {**base, "status": "working", "statusMessage": message}
        payload = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        self._finished[params.task_id] = payload
        while len(self._finished) > CACHE_SIZE:
            self._finished.popitem(last=False)
        message = f"The {kind.noun} is ready" if not result.is_error else f"{kind.title} could not make the {kind.noun}"
        return {**base, "status": "completed", "statusMessage": message, "result": payload}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        kind, _ = self._resolve(params.task_id)
        if kind.cancel is not None:
            result = await self._run(_CANCEL, params.task_id, ctx)
            if result.is_error:
                raise MCPError(code=INTERNAL_ERROR, message=_text(result))
        # Where the API cannot cancel (Veo) the job runs on; this server just stops reporting it.
        self._cancelled.add(params.task_id)
        return {}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        self._resolve(params.task_id)
        return {}  # jobs never ask for input
