"""Video with only a Gemini API key: Gemini Omni through the Interactions API, every mode, through MCP.

The Developer backend (GEMINI_API_KEY, no Vertex): generate_video and extend_video run a background
interaction on the emulator, poll it with interactions.get, cancel it with interactions.cancel, and save the
MP4 whose bytes the emulator made. Vertex keeps Veo (tests/test_video.py).
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
from gemini_mcp.emulator.handlers.interactions import output_bytes
from gemini_mcp.emulator.state import WAIT_S
from gemini_mcp.media.mp4 import probe
from tests import media_samples
from tests.conftest import FAKE_KEY
from tests.test_tasks import CreatedTask, GetTask, TaskParams, TasksClient, TaskState

pytestmark = pytest.mark.anyio
DEVELOPER = {"GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05"}
PNG = base64.b64encode(media_samples.png()).decode()
CREATE, GET, CANCEL = "interactions.create", "interactions.get", "interactions.cancel"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def omni(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    # Done at the first get; a test that watches an interaction run holds it open and finishes it itself.
    emulator.configure(operation_duration_s=0)

    def make(**env: str | None) -> Client:
        return make_client(**{**DEVELOPER, **env})

    return make


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests(CREATE)]


def blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks of a create's input (the SDK sends a list of blocks as one `user_input` step)."""
    found: list[dict[str, Any]] = []
    for item in body["input"]:
        found += item["content"] if item.get("type") == "user_input" else [item]
    return found


def saved(result: CallToolResult) -> bytes:
    return Path(result.structured_content["videos"][0]["path"]).read_bytes()  # type: ignore[index]


def expected(emulator: Emulator, result: CallToolResult) -> bytes:
    return output_bytes(emulator.state, result.structured_content["interaction_id"])  # type: ignore[index]


class Sighting(logging.Handler):
    """Sets `seen` when a record containing `words` is logged (by the server, on the test's event loop)."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = anyio.Event()
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())
        if self.words in record.getMessage():
            self.seen.set()


@pytest.fixture
def video_log() -> Iterator[Sighting]:
    sighting = Sighting("cancelled it upstream too")
    logger = logging.getLogger("gemini_mcp.tools.video")
    logger.addHandler(sighting)
    try:
        yield sighting
    finally:
        logger.removeHandler(sighting)


def assert_no_key(*results: CallToolResult) -> None:
    for result in results:
        assert FAKE_KEY not in result.model_dump_json()


# --- every mode saves the emulator's MP4 ---------------------------------------------------------------------
async def test_text_to_video_waits_with_progress_and_saves_the_exact_mp4(
    omni: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with omni() as client:
        outcome: list[CallToolResult] = []
        async with anyio.create_task_group() as group:

            async def generate() -> None:
                arguments = {"prompt": "A drone shot over a misty forest at dawn", "duration_seconds": 6}
                outcome.append(await client.call_tool("generate_video", arguments, progress_callback=on_progress))

            group.start_soon(generate)
            [operation] = await emulator.await_operations(1)
            await emulator.await_requests(GET, 3)  # a few polls, each followed by a progress beat
            emulator.finish_operation(operation)
        [result] = outcome
        assert not result.is_error, text_of(result)
        [link] = [b for b in result.content if isinstance(b, ResourceLink)]
        read_back = await client.read_resource(str(link.uri))
    data = result.structured_content
    assert data["status"] == "done" and data["model"] == "gemini-omni-1.2-flash"
    assert data["interaction_id"] and data["job_id"].startswith("omni.")
    # The seed's default (Veo) is gone from the Developer API: the note says what ran instead.
    assert any("gemini-omni-1.2-flash" in note for note in data["notes"])
    bytes_made = expected(emulator, result)
    assert saved(result) == bytes_made
    assert base64.b64decode(read_back.contents[0].blob) == bytes_made  # type: ignore[union-attr]
    [video] = data["videos"]
    assert link.mime_type == "video/mp4" and link.size == len(bytes_made) == video["size_bytes"]
    assert (video["duration_s"], video["resolution"], video["aspect_ratio"]) == (6.0, "720p", "16:9")
    assert "previous_interaction_id" in text_of(result) and video["path"] in text_of(result)
    values = [u[0] for u in updates]
    assert len(updates) >= 3 and values == sorted(values) and len(set(values)) == len(values)
    assert "get_job" in (updates[0][2] or "")  # the first message says how to collect it
    assert any("Gemini Omni" in (u[2] or "") for u in updates[1:-1])
    assert updates[-1][0] == updates[-1][1] == 100 and "finished" in (updates[-1][2] or "")
    [body] = creates(emulator)
    assert body["background"] is True and body["model"] == "gemini-omni-1.2-flash"
    assert body["response_format"] == {"type": "video", "aspect_ratio": "16:9", "resolution": "720p", "duration": "6s"}
    assert body["generation_config"] == {"video_config": {"task": "text_to_video"}}
    assert_no_key(result)


async def test_image_frames_and_reference_modes(omni: Callable[..., Client], emulator: Emulator) -> None:
    async with omni() as client:
        from_image = await client.call_tool("generate_video", {"image": {"data": PNG}, "aspect_ratio": "9:16"})
        frames = await client.call_tool(
            "generate_video", {"prompt": "morph", "image": {"data": PNG}, "last_frame": {"data": PNG}}
        )
        references = await client.call_tool(
            "generate_video",
            {"prompt": "the mascot dances", "reference_images": [{"data": PNG}] * 5, "resolution": "1080p"},
        )
    for result in (from_image, frames, references):
        assert not result.is_error, text_of(result)
        assert saved(result) == expected(emulator, result)
    assert from_image.structured_content["videos"][0]["aspect_ratio"] == "9:16"
    assert references.structured_content["videos"][0]["resolution"] == "1080p"
    image_only, both, refs = creates(emulator)
    assert [b["type"] for b in blocks(image_only)] == ["image"]
    assert image_only["generation_config"]["video_config"]["task"] == "image_to_video"
    assert [b["type"] for b in blocks(both)] == ["text", "image", "image"]
    assert [b["type"] for b in blocks(refs)] == ["text", *["image"] * 5]
    assert refs["generation_config"]["video_config"]["task"] == "reference_to_video"


async def test_edit_extend_and_continue_a_video_made_here(omni: Callable[..., Client], emulator: Emulator) -> None:
    async with omni() as client:
        first = await client.call_tool("generate_video", {"prompt": "a paper boat on a river", "aspect_ratio": "9:16"})
        uri = first.structured_content["videos"][0]["uri"]
        edited = await client.call_tool(
            "generate_video", {"prompt": "make it a glass boat", "video": {"file_uri": uri}}
        )
        extended = await client.call_tool(
            "extend_video", {"video": {"file_uri": uri}, "prompt": "it sails into the sea"}
        )
        night = await client.call_tool(
            "generate_video",
            {"prompt": "now make it night", "previous_interaction_id": first.structured_content["interaction_id"]},
        )
    for result in (first, edited, extended, night):
        assert not result.is_error, text_of(result)
        assert saved(result) == expected(emulator, result)
    assert edited.structured_content["videos"][0]["aspect_ratio"] == "9:16"  # an edit keeps the source's shape
    assert extended.structured_content["videos"][0]["duration_s"] == 15.0  # 8 s + the default 7 s
    assert night.structured_content["videos"][0]["duration_s"] == 8.0
    _, edit, extend, follow_up = creates(emulator)
    assert edit["generation_config"]["video_config"]["task"] == "edit" and "aspect_ratio" not in edit["response_format"]
    assert base64.b64decode(blocks(edit)[-1]["data"]) == saved(first)
    assert extend["generation_config"]["video_config"]["task"] == "extend"
    assert follow_up["previous_interaction_id"] == first.structured_content["interaction_id"]
    assert follow_up["input"] == "now make it night"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"prompt": "x", "negative_prompt": "rain"}, "negative_prompt: only Veo"),
        ({"prompt": "x", "number_of_videos": 2}, "number_of_videos: must be 1"),
        ({"prompt": "x", "duration_seconds": 20}, "duration_seconds"),
        ({"prompt": "x", "model": "gemini-omni-1.1-flash", "duration_seconds": 12}, "3 to 10 s"),
        ({"prompt": "x", "model": "gemini-omni-flash-preview", "resolution": "4k"}, "makes 720p video"),
        ({"prompt": "x", "aspect_ratio": "1:1"}, "'16:9' or '9:16'"),
        ({}, "prompt: describe the video"),
        ({"prompt": "x", "last_frame": {"data": PNG}}, "last_frame: give `image` too"),
        ({"prompt": "x", "image": {"data": PNG}, "reference_images": [{"data": PNG}]}, "cannot be combined"),
        ({"prompt": "x", "reference_images": [{"data": PNG}] * 7}, "at most 6"),
        ({"video": {"data": PNG}}, "prompt: say what to change"),
        ({"prompt": "x", "video": {"data": PNG}}, "video: must be an MP4"),
        ({"prompt": "x", "previous_interaction_id": "v1_a", "duration_seconds": 5}, "edit keeps the source"),
        ({"prompt": "x", "model": "veo-3.1-generate-001"}, "GOOGLE_GENAI_USE_VERTEXAI=true"),
    ],
)
async def test_rules_are_enforced_before_any_call(
    omni: Callable[..., Client], emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    async with omni() as client:
        result = await client.call_tool("generate_video", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert creates(emulator) == []


# --- the job: cancel, collect later, tasks, deadline ----------------------------------------------------------
async def test_cancelling_the_call_stops_polling_and_cancels_the_interaction(
    omni: Callable[..., Client], emulator: Emulator, video_log: Sighting
) -> None:
    emulator.configure(hold_operations=True)
    async with omni() as client:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: client.call_tool("generate_video", {"prompt": "never finishes"}))
            await emulator.await_requests(GET, 1)
            group.cancel_scope.cancel()
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await video_log.seen.wait()  # the server's call has ended after cancelling upstream
        polled = len(emulator.requests(GET))
        [cancel] = emulator.requests(CANCEL)
        [operation] = emulator.operations()
        assert cancel["path"].endswith(f"/{operation.split('/')[-1]}/cancel")
        assert not (await client.call_tool("list_voices", {})).is_error  # still serving
    assert len(emulator.requests(GET)) == polled  # nothing polls a cancelled interaction


async def test_wait_false_then_get_job_from_another_server_and_cancel_job(
    omni: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with omni() as client:
        started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False, "output": "both"})
        job_id = started.structured_content["job_id"]
        assert started.structured_content["status"] == "running" and job_id.startswith("omni.")
        assert f"get_job(job_id='{job_id}')" in text_of(started)
        early = await client.call_tool("get_job", {"job_id": job_id})
        assert early.structured_content["status"] == "running"
        doomed = await client.call_tool("generate_video", {"prompt": "a mistake", "wait": False})
        cancelled = await client.call_tool("cancel_job", {"job_id": doomed.structured_content["job_id"]})
        after = await client.call_tool("get_job", {"job_id": doomed.structured_content["job_id"]})
    assert not cancelled.is_error and cancelled.structured_content["status"] == "cancelled", text_of(cancelled)
    assert len(emulator.requests(CANCEL)) == 1
    assert after.is_error and "was cancelled" in text_of(after)
    emulator.finish_all()
    async with omni(GEMINI_MCP_INLINE_MAX_BYTES=str(10 * 1024 * 1024)) as other:  # any replica: the id is enough
        collected = await other.call_tool("get_job", {"job_id": job_id})
    assert not collected.is_error, text_of(collected)
    assert collected.structured_content["job_id"] == job_id
    assert "resource" in [b.type for b in collected.content]  # the output choice travelled in the job id
    assert saved(collected) == expected(emulator, collected)
    assert_no_key(started, early, cancelled, after, collected)


async def test_tasks_client_gets_a_task_handle(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> None:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server

    emulator.configure(hold_operations=True)
    tasks = TasksClient()
    outcome: list[CallToolResult] = []
    server = build_server(Settings.from_env(make_env(**DEVELOPER)))
    async with Client(server, extensions=[tasks]) as client, anyio.create_task_group() as group:

        async def generate() -> None:
            outcome.append(await client.call_tool("generate_video", {"prompt": "a kite over the beach"}))

        group.start_soon(generate)
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await tasks.saw_working.wait()
        emulator.finish_all()
    [result] = outcome
    [created] = tasks.created
    assert created.task_id.startswith("omni.") and created.task_id == result.structured_content["job_id"]
    assert "Gemini Omni" in (created.status_message or "")
    assert saved(result) == expected(emulator, result)


async def test_tasks_cancel_cancels_the_interaction(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server
    from tests.test_tasks import AnyResult, CancelTask

    emulator.configure(hold_operations=True)
    server = build_server(Settings.from_env(make_env(**DEVELOPER)))
    async with Client(server, extensions=[TasksClient()]) as client:
        handle = await client.session.call_tool("generate_video", {"prompt": "a lighthouse"}, allow_claimed=True)
        assert isinstance(handle, CreatedTask)
        await client.session.send_request(CancelTask(params=TaskParams(taskId=handle.task_id)), AnyResult)
        state = await client.session.send_request(GetTask(params=TaskParams(taskId=handle.task_id)), TaskState)
    assert state.status == "cancelled"
    assert len(emulator.requests(CANCEL)) == 1  # unlike Veo, Omni stops upstream: no video is made or billed
    async with Client(build_server(Settings.from_env(make_env(**DEVELOPER)))) as other:
        collected = await other.call_tool("get_job", {"job_id": handle.task_id})
    assert collected.is_error and "was cancelled" in text_of(collected)


async def test_deadline_names_the_job(omni: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)  # never finishes: the server's own deadline ends the call
    async with omni(GEMINI_MCP_VIDEO_DEADLINE="0.3") as client:
        result = await client.call_tool("generate_video", {"prompt": "slow"})
    message = text_of(result)
    assert result.is_error and "GEMINI_MCP_VIDEO_DEADLINE" in message and "get_job(job_id='omni." in message
    assert emulator.requests(CANCEL) == []  # a deadline never cancels paid work


# --- outcomes, delivery and secrets ---------------------------------------------------------------------------
async def test_safety_blocked_and_failed_outcomes(omni: Callable[..., Client], emulator: Emulator) -> None:
    async with omni() as client:
        blocked = await client.call_tool("generate_video", {"prompt": "something unsafe"})
        failed = await client.call_tool("generate_video", {"prompt": "[[fail]] please"})
        unknown = await client.call_tool(
            "generate_video", {"prompt": "now at night", "previous_interaction_id": "v1_not_there"}
        )
    assert blocked.is_error and "safety rules blocked" in text_of(blocked) and "Rephrase" in text_of(blocked)
    assert failed.is_error and "failed" in text_of(failed) and "interaction v1_" in text_of(failed)
    assert unknown.is_error and "404" in text_of(unknown) and "v1_not_there" in text_of(unknown)
    assert_no_key(blocked, failed, unknown)


async def test_a_uri_output_is_downloaded_here_and_never_handed_out(
    omni: Callable[..., Client], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.configure(extra={"interactions_video_as_uri": True})
    caplog.set_level(logging.DEBUG)
    async with omni() as client:
        result = await client.call_tool("generate_video", {"prompt": "a red balloon"})
    assert not result.is_error, text_of(result)
    assert saved(result) == expected(emulator, result)
    assert "interactionMedia" not in result.model_dump_json()
    [download] = emulator.requests("interactions.download")
    assert download["path"].endswith(":download")
    assert_no_key(result)
    assert FAKE_KEY not in caplog.text


async def test_a_large_inline_video_is_streamed_to_disk(omni: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(extra={"video_bytes": 6 * 1024 * 1024})  # above the transport's offload threshold
    async with omni() as client:
        result = await client.call_tool("generate_video", {"prompt": "a long pan over the city"})
    assert not result.is_error, text_of(result)
    path = Path(result.structured_content["videos"][0]["path"])
    assert path.read_bytes() == expected(emulator, result)
    assert probe(path.read_bytes()).duration_s == 8.0
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".offload-")] == []  # adopted, not copied


async def test_a_create_that_reached_the_api_is_never_sent_twice(
    omni: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match=CREATE, status=503, message="The model is overloaded.", times=None)
    async with omni(GEMINI_MCP_RETRIES="3", GEMINI_MCP_RETRY_DELAY="0.01") as client:
        result = await client.call_tool("generate_video", {"prompt": "a lighthouse in a storm"})
    message = text_of(result)
    assert result.is_error and "not sent again" in message and "aistudio.google.com" in message, message
    assert len(emulator.requests(CREATE)) == 1
    assert FAKE_KEY not in message


async def test_polls_are_retried_and_rate_limits_honoured(omni: Callable[..., Client], emulator: Emulator) -> None:
    # A poll is safe to repeat: a 503 and a 429 with Retry-After are retried, and the video still arrives.
    emulator.add_fault(match=GET, status=503, message="Busy.", times=1)
    emulator.add_fault(match=GET, status=429, message="Slow down.", times=1, headers={"retry-after": "0"})
    async with omni(GEMINI_MCP_RETRIES="3", GEMINI_MCP_RETRY_DELAY="0.01") as client:
        result = await client.call_tool("generate_video", {"prompt": "a kite"})
    assert not result.is_error, text_of(result)
    assert saved(result) == expected(emulator, result)


async def test_an_interactions_error_is_mapped_and_redacted(omni: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match=CREATE, status=400, message=f"API key not valid: {FAKE_KEY}", times=1)
    async with omni() as client:
        result = await client.call_tool("generate_video", {"prompt": "a kite"})
    message = text_of(result)
    assert result.is_error and "400" in message and "GEMINI_API_KEY" in message, message
    assert FAKE_KEY not in message


async def test_demo_mode_makes_an_omni_video_with_no_key(tmp_path: Path) -> None:
    from gemini_mcp.framework.toolkit import DEMO_LABEL
    from tests.conftest import stdio_params

    env = {"GEMINI_MCP_OUTPUT_DIR": str(tmp_path), "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.1"}
    params = stdio_params(env, "--demo")
    assert params.env is not None and not any(k in params.env for k in ("GEMINI_API_KEY", "GOOGLE_API_KEY"))
    async with Client(params) as client:
        result = await client.call_tool("generate_video", {"prompt": "a kite over the dunes"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["model"] == "gemini-omni-1.2-flash" and data["job_id"].startswith("omni.")
    assert Path(data["videos"][0]["path"]).read_bytes()[4:8] == b"ftyp"
    last = result.content[-1]
    assert isinstance(last, TextContent) and last.text == DEMO_LABEL


async def test_a_veo_job_id_on_the_developer_api_says_where_to_collect_it(
    omni: Callable[..., Client], emulator: Emulator
) -> None:
    from gemini_mcp.framework.jobs import JobRef

    veo_job = JobRef("veo", "projects/p/locations/l/publishers/google/models/m/operations/1", {"out": "link"}).id
    async with omni() as client:
        result = await client.call_tool("get_job", {"job_id": veo_job})
    message = text_of(result)
    assert result.is_error and "Veo jobs are not available on the gemini backend" in message, message
    assert "Gemini Omni here" in message and emulator.requests() == []
