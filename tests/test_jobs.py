"""The job framework serves a long-running family it has never heard of: a throwaway module, written here into a
temporary folder, declares a ToolSpec with a JobKind, and gets progress, cancellation, a deadline, wait=false,
get_job / cancel_job and the MCP tasks extension with no edit of the framework.

Its upstream is an in-process "brewery" that keeps batches the way a provider keeps jobs (outside the MCP
server, so a second server instance stands for another replica); tests finish batches on command and wait on
its events, never on the clock.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, Request, Result, TextContent
from pydantic import ConfigDict

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator.state import WAIT_S
from gemini_mcp.framework.catalog import LazyToolSpec, catalog_entry
from gemini_mcp.framework.jobs import JobRef
from gemini_mcp.server.app import build_server
from gemini_mcp.tools import specs_by_module
from tests.test_tasks import CreatedTask, GetTask, TaskParams, TasksClient, TaskState

pytestmark = pytest.mark.anyio

FAMILY = '''
"""A throwaway long-running family: brewing takes a while."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started
from gemini_mcp.framework.spec import ToolInput, ToolSpec


@dataclass
class Batch:
    id: str
    recipe: str
    roots: list[str] | None
    percent: float | None = None
    done: bool = False
    cancelled: anyio.Event = field(default_factory=anyio.Event)
    polls_at_cancel: int | None = None


class Brewery:
    """The upstream API: it keeps the batches, not the MCP server."""

    def __init__(self) -> None:
        self.batches: dict[str, Batch] = {}
        self.polls = 0
        self._ids = itertools.count(1)
        self._changed = anyio.Event()

    def _tell(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def start(self, recipe: str, roots: list[str] | None) -> Batch:
        batch = Batch(f"batches/{next(self._ids)}", recipe, roots)
        self.batches[batch.id] = batch
        self._tell()
        return batch

    def poll(self, batch_id: str) -> Batch:
        if batch_id not in self.batches:
            raise UserInputError(f"job_id: the brewery has no batch {batch_id}")
        self.polls += 1
        self._tell()
        return self.batches[batch_id]

    def cancel(self, batch_id: str) -> None:
        batch = self.batches[batch_id]
        batch.polls_at_cancel = self.polls
        batch.cancelled.set()

    async def await_polls(self, count: int) -> None:
        while self.polls < count:
            await self._changed.wait()

    async def await_batches(self, count: int) -> list[Batch]:
        while len(self.batches) < count:
            await self._changed.wait()
        return list(self.batches.values())


BREWERY = Brewery()


class BrewOutput(JobOutput):
    recipe: Annotated[str | None, Field(description="What was brewed.")] = None
    label: Annotated[str | None, Field(description="The bottle's label.")] = None


async def poll(ref: JobRef, call: Call) -> JobState:
    batch = BREWERY.poll(ref.upstream)
    return JobState(done=batch.done, percent=batch.percent, cancelled=batch.cancelled.is_set(), upstream=batch)


async def deliver(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    batch = state.upstream
    output = BrewOutput(status="done", recipe=batch.recipe, label=ref.options.get("label"))
    return CallToolResult(
        content=[TextContent(type="text", text=f"Brewed {batch.recipe}")],
        structured_content=output.model_dump(mode="json", exclude_none=True),
    )


async def cancel(ref: JobRef, call: Call) -> None:
    BREWERY.cancel(ref.upstream)


BREW = JobKind(
    name="brew",
    title="The brewery",
    noun="beer",
    poll=poll,
    deliver=deliver,
    cancel=cancel,
    messages=("Mashing the grain…", "Boiling the wort…", "Fermenting…"),
    deadline_setting="GEMINI_MCP_CALL_DEADLINE",
    deadline=lambda settings: settings.call_deadline_s,
    poll_interval=lambda settings: 0.02,
)


class BrewInput(ToolInput):
    recipe: Annotated[str, Field(description="What to brew.")]
    label: Annotated[str | None, Field(description="Printed on the bottle.")] = None
    wait: Annotated[bool, Field(description="false: return the job_id at once.")] = True


async def brew(args: BrewInput, call: Call) -> Started:
    await call.progress(0, 100, "Reading the recipe")
    batch = BREWERY.start(args.recipe, await call.client_root_uris())
    options = {"label": args.label} if args.label else {}
    return Started(batch.id, JobState(done=False), options, wait=args.wait)


TOOLS = [
    ToolSpec(
        name="brew_beer",
        title="Brew a beer",
        description="Brews a beer; takes a while.",
        input_model=BrewInput,
        output_model=BrewOutput,
        handler=brew,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        job=BREW,
    )
]
'''


class CancelTask(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams
    name_param = "taskId"


class AnyResult(Result):
    model_config = ConfigDict(extra="allow")


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("families")
    (folder / "brewery_jobs.py").write_text(textwrap.dedent(FAMILY))
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("brewery_jobs")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("brewery_jobs", None)


@pytest.fixture
def brewery(family: ModuleType) -> Any:
    family.BREWERY.__init__()  # fresh batches and events for this test's event loop
    return family.BREWERY


@pytest.fixture
def make_server(make_env: Callable[..., dict[str, str]], family: ModuleType) -> Callable[..., Any]:
    def discover() -> list[tuple[str, Any]]:
        return specs_by_module() + [(family.__name__, spec) for spec in family.TOOLS]

    def make(**env: str | None) -> Any:
        return build_server(Settings.from_env(make_env(**env)), discover=discover)

    return make


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def collect_hint_id(text: str) -> str:
    [job_id] = re.findall(r"get_job\(job_id='([^']+)'\)", text)
    return job_id


# --- waiting --------------------------------------------------------------------------------------------------
async def test_progress_rises_with_the_familys_messages_and_names_the_job_first(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    updates: list[tuple[float, float | None, str]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message or ""))

    outcome: list[CallToolResult] = []
    async with Client(make_server()) as client, anyio.create_task_group() as group:

        async def run() -> None:
            outcome.append(await client.call_tool("brew_beer", {"recipe": "stout"}, progress_callback=on_progress))

        group.start_soon(run)
        await brewery.await_polls(1)
        [batch] = brewery.batches.values()
        batch.percent = 40
        # A poll after the change sees 40 %; once the next one arrives, the server has reported it.
        await brewery.await_polls(brewery.polls + 2)
        batch.done = True
    [result] = outcome
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["status"] == "done" and data["recipe"] == "stout" and data["job_id"].startswith("brew.")
    assert JobRef.parse(data["job_id"]).upstream == batch.id
    values = [u[0] for u in updates]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert updates[0][2] == "Reading the recipe"  # the family's own progress while starting
    running = [u[2] for u in updates if "is running" in u[2]]
    assert running and f"get_job(job_id='{data['job_id']}')" in running[0]  # the first beat names the job
    family_messages = {u[2].split(" (")[0] for u in updates}
    assert len(family_messages & {"Mashing the grain…", "Boiling the wort…", "Fermenting…"}) >= 2
    assert any(40 <= u[0] < 41 for u in updates)
    assert updates[-1][0] == updates[-1][1] == 100 and "The brewery finished" in updates[-1][2]


async def test_cancelling_the_call_stops_polling_and_cancels_upstream(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    async with Client(make_server()) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: client.call_tool("brew_beer", {"recipe": "lager"}))
            await brewery.await_polls(1)
            group.cancel_scope.cancel()
        [batch] = brewery.batches.values()
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await batch.cancelled.wait()
        assert brewery.polls == batch.polls_at_cancel  # the cancelled call polled no more
        job_id = JobRef("brew", batch.id).id
        after = await client.call_tool("get_job", {"job_id": job_id})
    assert after.is_error and "was cancelled" in text_of(after)


async def test_a_call_cut_off_by_a_shutdown_leaves_the_job_running(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    """A server that is stopping cancels its calls, but no client asked to stop the paid work: the job is left
    running upstream and stays collectable after the restart."""
    cut_off = anyio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "was cut off" in record.getMessage():
                cut_off.set()

    watch = Watch()
    logging.getLogger().addHandler(watch)
    server = make_server()
    try:
        async with Client(server) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: client.call_tool("brew_beer", {"recipe": "porter"}))
                await brewery.await_polls(1)
                server.services.stopping = True  # what the stdio and HTTP drains set
                group.cancel_scope.cancel()
            with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
                await cut_off.wait()
            [batch] = brewery.batches.values()
            assert not batch.cancelled.is_set()
            batch.done = True
            collected = await client.call_tool("get_job", {"job_id": JobRef("brew", batch.id).id})
    finally:
        logging.getLogger().removeHandler(watch)
    assert not collected.is_error, text_of(collected)


async def test_the_deadline_names_the_job_and_leaves_it_running(make_server: Callable[..., Any], brewery: Any) -> None:
    async with Client(make_server(GEMINI_MCP_CALL_DEADLINE="0.3")) as client:
        late = await client.call_tool("brew_beer", {"recipe": "porter"})
        message = text_of(late)
        assert late.is_error and "GEMINI_MCP_CALL_DEADLINE" in message and "keeps running" in message
        [batch] = brewery.batches.values()
        assert not batch.cancelled.is_set()  # a deadline never cancels the job
        job_id = collect_hint_id(message)
        batch.done = True
        collected = await client.call_tool("get_job", {"job_id": job_id})
    assert not collected.is_error, text_of(collected)
    assert collected.structured_content["recipe"] == "porter"


# --- collecting later -----------------------------------------------------------------------------------------
async def test_wait_false_returns_the_job_id_and_any_replica_collects_it(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    async with Client(make_server()) as client:
        started = await client.call_tool("brew_beer", {"recipe": "ipa", "label": "Hoppy", "wait": False})
        data = started.structured_content
        assert not started.is_error and data["status"] == "running" and brewery.polls == 0
        job_id = data["job_id"]
        assert collect_hint_id(text_of(started)) == job_id
        [batch] = brewery.batches.values()
        batch.percent = 25
        early = await client.call_tool("get_job", {"job_id": job_id})
        hint = f"The brewery is working on it. Collect the beer with get_job(job_id='{job_id}')."
        # `summary`: the text's headline, for hosts that show only the structured content (framework/views.py).
        assert early.structured_content == {
            "job_id": job_id,
            "status": "running",
            "progress_percent": 25,
            "summary": hint,
        }
        updates: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            updates.append(progress)

        outcome: list[CallToolResult] = []
        async with anyio.create_task_group() as group:

            async def wait_for_it() -> None:
                outcome.append(
                    await client.call_tool("get_job", {"job_id": job_id, "wait": True}, progress_callback=on_progress)
                )

            group.start_soon(wait_for_it)
            await brewery.await_polls(brewery.polls + 2)  # its first look, then a poll while it waits
            batch.done = True
        [waited] = outcome
        assert waited.structured_content["recipe"] == "ipa" and updates and updates[-1] == 100
    async with Client(make_server()) as replica:  # nothing of the first server is left but the job id
        collected = await replica.call_tool("get_job", {"job_id": job_id})
    assert collected.structured_content == {
        "job_id": job_id,
        "status": "done",
        "recipe": "ipa",
        "label": "Hoppy",
        "summary": "Brewed ipa",
    }


async def test_cancel_job_cancels_upstream(make_server: Callable[..., Any], brewery: Any) -> None:
    async with Client(make_server()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        started = await client.call_tool("brew_beer", {"recipe": "bock", "wait": False})
        job_id = started.structured_content["job_id"]
        cancelled = await client.call_tool("cancel_job", {"job_id": job_id})
        after = await client.call_tool("get_job", {"job_id": job_id})
        not_an_id = await client.call_tool("get_job", {"job_id": "stout"})
        other_server = await client.call_tool("get_job", {"job_id": JobRef("mead", "jars/1").id})
    assert not cancelled.is_error and cancelled.structured_content == {
        "job_id": job_id,
        "status": "cancelled",
        "summary": "Cancelled The brewery job batches/1: The brewery stops working on it.",
    }
    [batch] = brewery.batches.values()
    assert batch.cancelled.is_set()
    assert after.is_error and "was cancelled" in text_of(after) and "nothing to collect" in text_of(after)
    assert not_an_id.is_error and "job_id: not a job id" in text_of(not_an_id)
    assert other_server.is_error and "no 'mead' jobs" in text_of(other_server)
    get_job, cancel_job = tools["get_job"].annotations, tools["cancel_job"].annotations
    assert get_job is not None and get_job.idempotent_hint and not get_job.destructive_hint
    assert cancel_job is not None and cancel_job.destructive_hint and not cancel_job.read_only_hint


# --- the tasks extension --------------------------------------------------------------------------------------
async def test_a_task_keeps_the_clients_progress_and_completes_with_the_result(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    tasks = TasksClient()
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    outcome: list[CallToolResult] = []
    async with Client(make_server(), extensions=[tasks]) as client, anyio.create_task_group() as group:

        async def run() -> None:
            outcome.append(await client.call_tool("brew_beer", {"recipe": "saison"}, progress_callback=on_progress))

        group.start_soon(run)
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await tasks.saw_working.wait()
        [batch] = brewery.batches.values()
        batch.done = True
    [result] = outcome
    [created] = tasks.created
    assert not result.is_error and result.structured_content["recipe"] == "saison"
    assert created.task_id == result.structured_content["job_id"] and created.task_id.startswith("brew.")
    assert created.poll_interval_ms == 20 and created.status == "working"
    assert "Reading the recipe" in messages  # the task ran with the client's own request context


async def test_tasks_cancel_cancels_upstream_and_any_replica_reports_it(
    make_server: Callable[..., Any], brewery: Any
) -> None:
    async with Client(make_server(), extensions=[TasksClient()]) as client:
        handle = await client.session.call_tool("brew_beer", {"recipe": "kolsch"}, allow_claimed=True)
        assert isinstance(handle, CreatedTask)
        await client.session.send_request(CancelTask(params=TaskParams(taskId=handle.task_id)), AnyResult)
    [batch] = brewery.batches.values()
    assert batch.cancelled.is_set()
    async with Client(make_server()) as replica:
        state = await replica.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
    assert state.status == "cancelled"


# --- the declaration -----------------------------------------------------------------------------------------
def test_the_catalog_knows_a_job_tool_without_importing_it(family: ModuleType) -> None:
    [spec] = family.TOOLS
    entry = json.loads(json.dumps(catalog_entry(family.__name__, spec)))  # as the schema cache stores it
    lazy = LazyToolSpec(entry)
    assert lazy.job_name == "brew" and not lazy.is_loaded
    assert lazy.job is family.BREW and lazy.deadline_setting == "GEMINI_MCP_CALL_DEADLINE"


def test_job_ids_round_trip_and_keep_the_task_id_format() -> None:
    name = "projects/p/locations/us-central1/publishers/google/models/veo-3.1/operations/abc"
    ref = JobRef("veo", name, {"out": "both"})
    legacy = "veo." + base64.urlsafe_b64encode(
        json.dumps({"op": name, "out": "both"}, separators=(",", ":")).encode()
    ).decode().rstrip("=")
    assert ref.id == legacy  # task ids handed out before the job framework still resolve
    assert JobRef.parse(ref.id) == ref


@pytest.mark.parametrize("bad", ["", "veo", "veo.", "veo.!!", "Veo.e30", "veo." + base64.b64encode(b"[1]").decode()])
def test_malformed_job_ids_are_refused_with_the_field(bad: str) -> None:
    from gemini_mcp.errors import UserInputError

    with pytest.raises(UserInputError, match="job_id: not a job id"):
        JobRef.parse(bad)
