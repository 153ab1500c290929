"""Veo through MCP: every mode, progress, cancellation, deadlines, collect-later, and the errors users meet."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.video import video_of
from gemini_mcp.emulator.state import WAIT_S
from gemini_mcp.emulator.wire import camel_keys
from tests import media_samples
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
VERTEX = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": FAKE_KEY,
    "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05",
}
PNG = base64.b64encode(media_samples.png()).decode()
POLL = "fetchPredictOperation"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def veo(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    # Done at the first poll; a test that watches an operation run holds it open and finishes it itself.
    emulator.configure(operation_duration_s=0)

    def make(**env: str | None) -> Client:
        return make_client(**{**VERTEX, **env})

    return make


def starts(emulator: Emulator) -> list[dict[str, Any]]:
    return [camel_keys(r["body"]) for r in emulator.requests() if r["rpc"] == "predictLongRunning"]


def polls(emulator: Emulator) -> int:
    return len(emulator.requests(POLL))


class Sighting(logging.Handler):
    """Sets `seen` when a record containing `words` is logged (by the server, on the test's event loop)."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


@pytest.fixture
def cut_off_logged() -> Iterator[Sighting]:
    sighting = Sighting("was cut off")
    logger = logging.getLogger("gemini_mcp.tools.video")
    logger.addHandler(sighting)
    try:
        yield sighting
    finally:
        logger.removeHandler(sighting)


def assert_no_key(*results: CallToolResult) -> None:
    for result in results:
        assert FAKE_KEY not in result.model_dump_json()


async def test_text_to_video_waits_with_progress_and_saves_the_exact_mp4(
    veo: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with veo() as client:
        async with anyio.create_task_group() as group:
            outcome: list[CallToolResult] = []

            async def generate() -> None:
                outcome.append(
                    await client.call_tool(
                        "generate_video",
                        {"prompt": "A drone shot over a misty forest at dawn"},
                        progress_callback=on_progress,
                    )
                )

            group.start_soon(generate)
            [operation] = await emulator.await_operations(1)
            await emulator.await_requests(POLL, 1)
            emulator.set_progress(operation, 40)
            # A poll recorded after the change reports 40 %; once the next one arrives, the server has
            # received that answer and reported it.
            await emulator.await_requests(POLL, polls(emulator) + 2)
            emulator.finish_operation(operation)
        [result] = outcome
        assert not result.is_error, text_of(result)
        [link] = [b for b in result.content if isinstance(b, ResourceLink)]
        read_back = await client.read_resource(str(link.uri))
    data = result.structured_content
    name = data["operation_name"]
    assert data["status"] == "done" and data["model"] == "veo-3.1-fast-generate-001"
    # The seed's default (a preview Vertex no longer serves) ran as its successor, and the result says so.
    assert any("veo-3.1-fast-generate-001" in note and "preview" in note for note in data["notes"])
    [video] = data["videos"]
    expected = video_of(emulator.state.operations, name)
    with open(video["path"], "rb") as file:
        assert file.read() == expected
    assert base64.b64decode(read_back.contents[0].blob) == expected  # type: ignore[union-attr]
    assert link.mime_type == "video/mp4" and link.size == len(expected)
    assert (video["duration_s"], video["width"], video["height"]) == (8.0, 1280, 720)
    assert (video["resolution"], video["aspect_ratio"]) == ("720p", "16:9")
    values = [u[0] for u in updates]
    assert len(updates) >= 3 and values == sorted(values) and len(set(values)) == len(values)
    assert all(u[2] and "elapsed" in u[2] for u in updates[:-1])
    assert updates[-1][0] == updates[-1][1] == 100 and "finished" in (updates[-1][2] or "")
    assert len({u[2].split(" (")[0] for u in updates if u[2]}) >= 2  # the messages rotate
    assert any(40 <= u[0] < 41 for u in updates)  # Veo's own progress is passed on
    assert polls(emulator) >= 2
    [request] = starts(emulator)
    assert request["parameters"]["sampleCount"] == 1 and request["parameters"]["aspectRatio"] == "16:9"
    assert_no_key(result)


async def test_image_first_last_frame_and_reference_modes(veo: Callable[..., Client], emulator: Emulator) -> None:
    async with veo() as client:
        from_image = await client.call_tool("generate_video", {"image": {"data": PNG}, "aspect_ratio": "9:16"})
        both_frames = await client.call_tool(
            "generate_video", {"prompt": "morph", "image": {"data": PNG}, "last_frame": {"data": PNG}}
        )
        references = await client.call_tool(
            "generate_video",
            {"prompt": "the mascot dances", "model": "veo quality", "reference_images": [{"data": PNG}] * 3},
        )
    for result in (from_image, both_frames, references):
        assert not result.is_error, text_of(result)
    assert from_image.structured_content["videos"][0]["aspect_ratio"] == "9:16"
    image_only, frames, refs = starts(emulator)
    assert "image" in image_only["instances"][0] and "prompt" not in image_only["instances"][0]
    assert {"image", "lastFrame"} <= set(frames["instances"][0])
    assert [r["referenceType"] for r in refs["instances"][0]["referenceImages"]] == ["ASSET"] * 3
    assert references.structured_content["model"] == "veo-3.1-generate-001"


async def test_extend_a_video_this_server_made(veo: Callable[..., Client], emulator: Emulator) -> None:
    async with veo() as client:
        first = await client.call_tool("generate_video", {"prompt": "a paper boat on a river"})
        uri = first.structured_content["videos"][0]["uri"]
        extended = await client.call_tool(
            "extend_video", {"video": {"file_uri": uri}, "prompt": "it sails into the sea"}
        )
    assert not extended.is_error, text_of(extended)
    assert extended.structured_content["videos"][0]["duration_s"] == 15.0
    request = starts(emulator)[-1]
    assert request["instances"][0]["prompt"] == "it sails into the sea"
    assert base64.urlsafe_b64decode(request["instances"][0]["video"]["bytesBase64Encoded"] + "==")[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"prompt": "x", "number_of_videos": 2}, "number_of_videos: must be 1"),
        ({"prompt": "x", "aspect_ratio": "1:1"}, "'16:9' or '9:16'"),
        ({"prompt": "x", "resolution": "4k"}, "'720p' or '1080p'"),
        ({}, "prompt"),
        ({"prompt": "x", "last_frame": {"data": PNG}}, "last_frame: give `image` too"),
        ({"prompt": "x", "reference_images": [{"data": PNG}]}, "only 'veo-3.1-generate-001'"),
        ({"prompt": "x", "video": {"data": PNG}}, "video: Veo does not edit videos"),
        ({"prompt": "x", "previous_interaction_id": "abc"}, "previous_interaction_id: only Gemini Omni"),
        ({"prompt": "x", "model": "gemini-omni-1.2-flash"}, "Gemini Developer API only"),
        ({"prompt": "x", "model": "veo quality", "reference_images": [{"data": PNG}] * 4}, "at most 3"),
        ({"prompt": "x", "model": "veo quality", "resolution": "1080p", "reference_images": [{"data": PNG}]}, "720p"),
        ({"prompt": "x", "image": {"data": base64.b64encode(media_samples.wav()).decode()}}, "image: must be an image"),
        ({"prompt": "x", "duration_seconds": 12}, "duration_seconds"),
    ],
)
async def test_rules_are_enforced_before_any_call(
    veo: Callable[..., Client], emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    async with veo() as client:
        result = await client.call_tool("generate_video", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert starts(emulator) == []


async def test_extension_rules(veo: Callable[..., Client], emulator: Emulator) -> None:
    async with veo() as client:
        hd = await client.call_tool("generate_video", {"prompt": "x", "resolution": "1080p"})
        refused = await client.call_tool(
            "extend_video", {"video": {"file_uri": hd.structured_content["videos"][0]["uri"]}, "prompt": "more"}
        )
        no_prompt = await client.call_tool("extend_video", {"video": {"file_uri": "gemini://media/0123456789ab"}})
    assert refused.is_error and "only 720p" in text_of(refused)
    assert no_prompt.is_error and "prompt" in text_of(no_prompt)
    assert len(starts(emulator)) == 1


async def test_developer_api_explains_how_to_switch_for_veo_itself(client: Client, emulator: Emulator) -> None:
    # With a Gemini API key video is Gemini Omni (tests/test_video_omni.py); Veo by name, and the Veo-only
    # collecting tool, say how to switch to Vertex AI.
    named = await client.call_tool("generate_video", {"prompt": "x", "model": "veo-3.1-generate-001"})
    collecting = await client.call_tool("get_video_operation", {"operation_name": "x/operations/1"})
    for result in (named, collecting):
        assert result.is_error and "GOOGLE_GENAI_USE_VERTEXAI=true" in text_of(result), text_of(result)
    assert emulator.requests() == []


async def test_start_now_collect_later(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with veo() as client:
        started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        name = started.structured_content["operation_name"]
        assert started.structured_content["status"] == "running" and name in text_of(started)
        early = await client.call_tool("get_video_operation", {"operation_name": name})
        assert early.structured_content["status"] == "running"
    emulator.finish_operation(name)
    async with veo() as other_client:  # a different server process would do the same: the name is enough
        collected = await other_client.call_tool("get_video_operation", {"operation_name": name})
    assert not collected.is_error, text_of(collected)
    with open(collected.structured_content["videos"][0]["path"], "rb") as file:
        assert file.read() == video_of(emulator.state.operations, name)
    assert_no_key(started, early, collected)


async def test_get_video_operation_can_wait(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with veo() as client:
        started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        name = started.structured_content["operation_name"]
        outcome: list[CallToolResult] = []
        async with anyio.create_task_group() as group:

            async def collect() -> None:
                outcome.append(await client.call_tool("get_video_operation", {"operation_name": name, "wait": True}))

            group.start_soon(collect)
            await emulator.await_requests(POLL, 2)  # its first look, then a poll while it waits
            emulator.finish_operation(name)
    [done] = outcome
    assert done.structured_content["status"] == "done"


async def test_cancelling_stops_polling(
    veo: Callable[..., Client], emulator: Emulator, cut_off_logged: Sighting
) -> None:
    emulator.configure(hold_operations=True)
    async with veo() as client:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: client.call_tool("generate_video", {"prompt": "never finishes"}))
            await emulator.await_requests(POLL, 1)
            group.cancel_scope.cancel()
        cancelled_at = polls(emulator)
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await cut_off_logged.seen.wait()  # the server's call has ended: nothing is left to poll
        assert polls(emulator) - cancelled_at <= 1
        assert not (await client.call_tool("list_voices", {})).is_error  # still serving
    assert cancelled_at >= 1


async def test_deadline_names_the_operation(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)  # never finishes: the server's own deadline ends the call
    async with veo(GEMINI_MCP_VIDEO_DEADLINE="0.3") as client:
        result = await client.call_tool("generate_video", {"prompt": "slow"})
    assert result.is_error
    assert "GEMINI_MCP_VIDEO_DEADLINE" in text_of(result) and "/operations/" in text_of(result)
    assert "get_video_operation" in text_of(result)


async def test_billing_failed_and_filtered_outcomes(veo: Callable[..., Client], emulator: Emulator) -> None:
    async with veo() as client:
        filtered = await client.call_tool("generate_video", {"prompt": "something unsafe"})
        failed = await client.call_tool("generate_video", {"prompt": "[[fail]] please"})
        emulator.configure(extra={"veo_billing": False})
        billing = await client.call_tool("generate_video", {"prompt": "fine"})
    assert filtered.is_error and "safety" in text_of(filtered)
    assert failed.is_error and "Video generation failed" in text_of(failed) and "/operations/" in text_of(failed)
    assert billing.is_error and "ai.google.dev/gemini-api/docs/billing" in text_of(billing)
    assert_no_key(filtered, failed, billing)


async def test_inline_video_only_when_asked_and_small(veo: Callable[..., Client]) -> None:
    async with veo(GEMINI_MCP_INLINE_MAX_BYTES=str(10 * 1024 * 1024)) as client:
        inline = await client.call_tool("generate_video", {"prompt": "x", "output": "inline"})
        default = await client.call_tool("generate_video", {"prompt": "x"})
    assert [b.type for b in inline.content][:1] == ["resource"]
    assert "resource" not in [b.type for b in default.content]
    assert json.dumps(default.structured_content).count("gemini://media/") == 1


async def test_get_job_collects_a_video_by_its_job_id(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with veo() as client:
        started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False, "output": "both"})
        job_id = started.structured_content["job_id"]
        name = started.structured_content["operation_name"]
        assert job_id.startswith("veo.")
        early = await client.call_tool("get_job", {"job_id": job_id})
        assert early.structured_content["status"] == "running" and early.structured_content["job_id"] == job_id
    emulator.finish_operation(name)
    async with veo(GEMINI_MCP_INLINE_MAX_BYTES=str(10 * 1024 * 1024)) as other_client:  # any replica
        collected = await other_client.call_tool("get_job", {"job_id": job_id})
    assert not collected.is_error, text_of(collected)
    data = collected.structured_content
    assert data["status"] == "done" and data["operation_name"] == name and data["job_id"] == job_id
    assert "resource" in [b.type for b in collected.content]  # the output choice travelled in the job id
    with open(data["videos"][0]["path"], "rb") as file:
        assert file.read() == video_of(emulator.state.operations, name)
    assert_no_key(started, early, collected)


async def test_cancel_job_explains_that_veo_cannot_stop(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with veo() as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        started = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        refused = await client.call_tool("cancel_job", {"job_id": started.structured_content["job_id"]})
    message = text_of(refused)
    assert refused.is_error and "Veo cannot stop a started video" in message and "billed" in message
    assert f"get_video_operation(operation_name='{started.structured_content['operation_name']}')" in message
    assert "Alias of get_job" in (tools["get_video_operation"].description or "")
