"""deep_research: the Deep Research agent as a background interaction, MCP client → server → real SDK → emulator.

Progress says what the agent reports doing (its thought summaries: planning, searching, reading, writing) with
the elapsed time; the report comes back as markdown with its sources and a saved .md; cancelling the call
cancels the interaction; a follow-up continues a finished report with previous_interaction_id.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.interactions import output_text
from gemini_mcp.emulator.state import WAIT_S
from tests.conftest import FAKE_KEY
from tests.test_tasks import AnyResult, CancelTask, CreatedTask, GetTask, TaskParams, TasksClient, TaskState

pytestmark = pytest.mark.anyio
FAST = {"GEMINI_MCP_RESEARCH_POLL_SECONDS": "0.05"}
CREATE, GET, CANCEL = "interactions.create", "interactions.get", "interactions.cancel"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def research(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    emulator.configure(operation_duration_s=0)

    def make(**env: str | None) -> Client:
        return make_client(**{**FAST, **env})

    return make


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests(CREATE)]


class Sighting(logging.Handler):
    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


@pytest.fixture
def research_log() -> Iterator[Sighting]:
    sighting = Sighting("cancelled it upstream too")
    logger = logging.getLogger("gemini_mcp.tools.research")
    logger.addHandler(sighting)
    try:
        yield sighting
    finally:
        logger.removeHandler(sighting)


async def test_a_report_with_progress_sources_and_a_saved_markdown_file(
    research: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    updates: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message or "")

    question = "How do heat pumps perform in cold climates?"
    async with research() as client:
        outcome: list[CallToolResult] = []
        async with anyio.create_task_group() as group:

            async def ask() -> None:
                arguments = {
                    "question": question,
                    "scope": "studies since 2020",
                    "prefer_sources": ["energy.gov", "peer-reviewed journals"],
                    "output_format": "a short brief with a table",
                }
                outcome.append(await client.call_tool("deep_research", arguments, progress_callback=on_progress))

            group.start_soon(ask)
            [operation] = await emulator.await_operations(1)
            seen = len(await emulator.await_requests(GET, 2))  # a few polls while it plans
            for percent in (30, 60, 90):
                emulator.set_progress(operation, percent)
                seen = len(await emulator.await_requests(GET, seen + 2))
            emulator.finish_operation(operation)
        [result] = outcome
        assert not result.is_error, text_of(result)
        [link] = [b for b in result.content if isinstance(b, ResourceLink)]
        read_back = await client.read_resource(str(link.uri))
    data = result.structured_content
    interaction_id = data["interaction_id"]
    report = output_text(emulator.state, interaction_id)
    assert data["status"] == "done" and data["job_id"].startswith("research.")
    assert data["agent"] == "deep-research-preview-04-2026" and data["report"] == report
    assert [s["uri"] for s in data["sources"]] and all(s["title"] and s["uri"] in report for s in data["sources"])
    saved = Path(data["file"]["path"])
    assert saved.suffix == ".md" and saved.read_text() == report and link.mime_type == "text/markdown"
    assert base64.b64decode(read_back.contents[0].blob).decode() == report  # type: ignore[union-attr]
    text = text_of(result)
    assert report in text and str(saved) in text and f"previous_interaction_id='{interaction_id}'" in text
    assert all(s["uri"] in text for s in data["sources"])
    phases = " ".join(updates)
    for phase in ("Planning the research", "Searching the web", "Reading sources", "Writing the report"):
        assert f"Deep Research: {phase}" in phases, "\n".join(updates)
    assert all("elapsed" in u for u in updates[:-1]) and "get_job" in updates[0]
    [body] = creates(emulator)
    assert body["agent"] == "deep-research-preview-04-2026" and body["background"] is True
    assert body["agent_config"] == {"type": "deep-research", "thinking_summaries": "auto", "visualization": "off"}
    assert "model" not in body and "generation_config" not in body
    prompt = body["input"]
    assert question in prompt and "Scope: studies since 2020" in prompt and "energy.gov" in prompt
    assert "Format the report as: a short brief with a table" in prompt
    assert FAKE_KEY not in result.model_dump_json()


async def test_a_follow_up_continues_the_finished_report(research: Callable[..., Client], emulator: Emulator) -> None:
    async with research() as client:
        first = await client.call_tool("deep_research", {"question": "The history of the bicycle"})
        interaction_id = first.structured_content["interaction_id"]
        follow = await client.call_tool(
            "deep_research",
            {"question": "Now focus on the safety bicycle", "previous_interaction_id": interaction_id, "agent": "max"},
        )
    assert not follow.is_error, text_of(follow)
    _, second = creates(emulator)
    assert second["previous_interaction_id"] == interaction_id
    assert second["agent"] == "deep-research-max-preview-04-2026"
    assert follow.structured_content["report"] == output_text(
        emulator.state, follow.structured_content["interaction_id"]
    )


async def test_a_follow_up_on_a_running_report_is_refused_clearly(
    research: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with research() as client:
        started = await client.call_tool("deep_research", {"question": "Tides", "wait": False})
        follow = await client.call_tool(
            "deep_research",
            {"question": "more", "previous_interaction_id": started.structured_content["interaction_id"]},
        )
    assert follow.is_error and "in_progress" in text_of(follow), text_of(follow)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"question": "  "}, "question: say what to research"),
        ({"question": ""}, "question"),
        ({"question": "x", "agent": "gemini-2.5-pro"}, "not a Deep Research agent"),
        ({"question": "x", "prefer_sources": ["a"] * 21}, "at most 20"),
        ({"question": "x", "prefer_sources": ["ok", " "]}, "prefer_sources: an entry is blank"),
        ({"question": "x", "previous_interaction_id": " "}, "previous_interaction_id: blank"),
        ({"question": "x", "previous_interaction_id": "research.eyJvcCI6InYxIn0"}, "that is a job_id"),
        ({"question": "x", "depth": "deep"}, "depth"),
    ],
)
async def test_rules_are_enforced_before_any_call(
    research: Callable[..., Client], emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    async with research() as client:
        result = await client.call_tool("deep_research", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert creates(emulator) == []


async def test_cancelling_the_call_cancels_the_interaction(
    research: Callable[..., Client], emulator: Emulator, research_log: Sighting
) -> None:
    emulator.configure(hold_operations=True)
    async with research() as client:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: client.call_tool("deep_research", {"question": "Everything about everything"}))
            await emulator.await_requests(GET, 1)
            group.cancel_scope.cancel()
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await research_log.seen.wait()
    [cancel] = emulator.requests(CANCEL)
    [operation] = emulator.operations()
    assert cancel["path"].endswith(f"/{operation.split('/')[-1]}/cancel")


async def test_wait_false_shows_the_activity_and_cancel_job_stops_it(
    research: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with research() as client:
        started = await client.call_tool("deep_research", {"question": "Coral reefs", "wait": False})
        job_id = started.structured_content["job_id"]
        [operation] = emulator.operations()
        emulator.set_progress(operation, 40)
        running = await client.call_tool("get_job", {"job_id": job_id})
        cancelled = await client.call_tool("cancel_job", {"job_id": job_id})
        after = await client.call_tool("get_job", {"job_id": job_id})
    assert started.structured_content["status"] == "running" and f"get_job(job_id='{job_id}')" in text_of(started)
    assert "Searching the web" in running.structured_content["activity"]
    assert cancelled.structured_content["status"] == "cancelled" and len(emulator.requests(CANCEL)) == 1
    assert after.is_error and "was cancelled" in text_of(after)


async def test_tasks_get_and_cancel(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> None:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server

    emulator.configure(hold_operations=True)
    server = build_server(Settings.from_env(make_env(**FAST)))
    async with Client(server, extensions=[TasksClient()]) as client:
        handle = await client.session.call_tool("deep_research", {"question": "Volcanoes"}, allow_claimed=True)
        assert isinstance(handle, CreatedTask) and handle.task_id.startswith("research.")
        assert "Deep Research" in (handle.status_message or "")
        working = await client.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
        await client.session.send_request(CancelTask(params=TaskParams(taskId=handle.task_id)), AnyResult)
        state = await client.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
    assert working.status == "working" and state.status == "cancelled"
    assert len(emulator.requests(CANCEL)) == 1


async def test_failed_and_safety_blocked_reports(research: Callable[..., Client], emulator: Emulator) -> None:
    async with research() as client:
        blocked = await client.call_tool("deep_research", {"question": "something unsafe"})
        failed = await client.call_tool("deep_research", {"question": "[[fail]] research"})
    assert blocked.is_error and "Deep Research's safety rules blocked the report" in text_of(blocked)
    assert failed.is_error and "Deep Research's research report" not in text_of(failed)
    assert "failed" in text_of(failed) and "interaction v1_" in text_of(failed), text_of(failed)


async def test_a_deadline_names_the_job_and_never_cancels(research: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with research(GEMINI_MCP_RESEARCH_DEADLINE="0.3") as client:
        result = await client.call_tool("deep_research", {"question": "slow"})
    assert result.is_error and "get_job(job_id='research." in text_of(result), text_of(result)
    assert emulator.requests(CANCEL) == []


async def test_the_description_warns_about_time_and_cost(research: Callable[..., Client]) -> None:
    async with research() as client:
        [tool] = [t for t in (await client.list_tools()).tools if t.name == "deep_research"]
    description = tool.description or ""
    assert "minutes" in description and "costs much more than search_web" in description
    assert tool.annotations is not None and tool.annotations.idempotent_hint is False
    assert tool.annotations.open_world_hint is True
