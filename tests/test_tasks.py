"""The tasks extension: a client that declares it gets a task handle for Veo and polls tasks/get."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict, Field

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.video import video_of
from gemini_mcp.emulator.state import WAIT_S
from gemini_mcp.server.app import build_server
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
VERTEX = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": FAKE_KEY,
    "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05",
}


class TaskParams(RequestParams):
    task_id: str = Field(alias="taskId")


class GetTask(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param = "taskId"


class TaskState(Result):
    model_config = ConfigDict(extra="allow")
    task_id: str = Field(alias="taskId")
    status: str
    status_message: str | None = Field(default=None, alias="statusMessage")
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")
    result: dict[str, Any] | None = None


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams
    name_param = "taskId"


class AnyResult(Result):
    model_config = ConfigDict(extra="allow")


class CreatedTask(TaskState):
    result_type: Literal["task"] = Field(alias="resultType")


class TasksClient(ClientExtension):
    """A minimal requester: follows task handles by polling tasks/get until a terminal status."""

    identifier = "io.modelcontextprotocol/tasks"

    def __init__(self) -> None:
        self.created: list[CreatedTask] = []
        self.states: list[str] = []
        self.saw_working = anyio.Event()

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.created.append(created)
        while True:
            state = await ctx.session.send_request(GetTask(params=TaskParams(taskId=created.task_id)), TaskState)
            self.states.append(state.status)
            if state.status == "completed":
                assert state.result is not None
                return CallToolResult.model_validate(state.result)
            assert state.status == "working", state
            self.saw_working.set()
            # The cadence the server asks for, as a real requester honours it (not a test synchronising).
            await anyio.sleep((state.poll_interval_ms or 50) / 1000)


def server_for(make_env: Callable[..., dict[str, str]]) -> Any:
    return build_server(Settings.from_env(make_env(**VERTEX)))


async def test_tasks_client_gets_a_task_and_later_the_same_result(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    tasks = TasksClient()
    outcome: list[CallToolResult] = []
    async with Client(server_for(make_env), extensions=[tasks]) as client, anyio.create_task_group() as group:

        async def generate() -> None:
            outcome.append(await client.call_tool("generate_video", {"prompt": "a kite over the beach"}))

        group.start_soon(generate)
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await tasks.saw_working.wait()
        emulator.finish_all()
    [result] = outcome
    assert not result.is_error
    [created] = tasks.created
    assert created.task_id.startswith("veo.") and created.status == "working"
    assert "working" in tasks.states and tasks.states[-1] == "completed"
    name = result.structured_content["operation_name"]
    with open(result.structured_content["videos"][0]["path"], "rb") as file:
        assert file.read() == video_of(emulator.state.operations, name)
    assert created.task_id == result.structured_content["job_id"]  # the task id is the job id


async def test_any_server_instance_answers_tasks_get(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with Client(server_for(make_env), extensions=[TasksClient()]) as first:
        handle = await first.session.call_tool("generate_video", {"prompt": "a lighthouse"}, allow_claimed=True)
    assert isinstance(handle, CreatedTask)
    [_] = emulator.finish_all()  # still running when the first server went away
    async with Client(server_for(make_env)) as second:  # a fresh process-equivalent: no shared memory
        state = await second.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
    assert state.status == "completed" and state.result is not None
    assert state.result["structuredContent"]["status"] == "done"


async def test_clients_without_the_extension_get_an_ordinary_result(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.configure(operation_duration_s=0)  # done at the first poll
    async with Client(server_for(make_env)) as client:
        result = await client.call_tool("generate_video", {"prompt": "plain"})
    assert result.structured_content["status"] == "done"


async def test_refusals_are_immediate_results_not_tasks(make_env: Callable[..., dict[str, str]]) -> None:
    tasks = TasksClient()
    async with Client(server_for(make_env), extensions=[tasks]) as client:
        result = await client.call_tool("generate_video", {"prompt": "x", "aspect_ratio": "4:3"})
    assert result.is_error and tasks.created == []


async def test_cancelling_a_veo_task_stops_reporting_it_and_the_video_stays_collectable(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with Client(server_for(make_env), extensions=[TasksClient()]) as client:
        handle = await client.session.call_tool("generate_video", {"prompt": "a kite"}, allow_claimed=True)
        assert isinstance(handle, CreatedTask)
        await client.session.send_request(CancelTask(params=TaskParams(taskId=handle.task_id)), AnyResult)
        state = await client.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
    assert state.status == "cancelled"
    [_] = emulator.finish_all()  # Veo cannot stop a started video: it finishes, and is billed, anyway
    async with Client(server_for(make_env)) as client:
        collected = await client.call_tool("get_job", {"job_id": handle.task_id})
    assert not collected.is_error and collected.structured_content["status"] == "done"


async def test_an_unknown_task_id_is_a_protocol_error(make_env: Callable[..., dict[str, str]]) -> None:
    async with Client(server_for(make_env), extensions=[TasksClient()]) as client:
        with pytest.raises(MCPError, match="Unknown task id"):
            await client.session.send_request(GetTask(params=TaskParams(taskId="nope.e30")), TaskState)
