"""generate_music: Lyria through the Interactions API, MCP client → server → real SDK → emulator.

Every track is a background interaction (a paid create, never sent twice): the call waits with progress and
saves the audio as Lyria returned it (MP3 stays MP3, WAV stays WAV), or answers wait=false with a job id.
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
from mcp_types import AudioContent, CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.interactions import output_bytes
from gemini_mcp.emulator.state import WAIT_S
from gemini_mcp.media.audio import mp3_info
from tests import media_samples
from tests.conftest import FAKE_KEY
from tests.test_tasks import AnyResult, CancelTask, CreatedTask, GetTask, TaskParams, TasksClient, TaskState

pytestmark = pytest.mark.anyio
FAST = {"GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05"}
CREATE, GET, CANCEL = "interactions.create", "interactions.get", "interactions.cancel"
PNG = base64.b64encode(media_samples.png()).decode()


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def lyria(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    emulator.configure(operation_duration_s=0)  # done at the first get unless a test holds it

    def make(**env: str | None) -> Client:
        return make_client(**{**FAST, **env})

    return make


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests(CREATE)]


def saved(result: CallToolResult) -> bytes:
    return Path(result.structured_content["audio"]["path"]).read_bytes()  # type: ignore[index]


def made(emulator: Emulator, result: CallToolResult) -> bytes:
    return output_bytes(emulator.state, result.structured_content["interaction_id"])  # type: ignore[index]


class Sighting(logging.Handler):
    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.seen = anyio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.seen.set()


@pytest.fixture
def music_log() -> Iterator[Sighting]:
    sighting = Sighting("cancelled it upstream too")
    logger = logging.getLogger("gemini_mcp.tools.music")
    logger.addHandler(sighting)
    try:
        yield sighting
    finally:
        logger.removeHandler(sighting)


async def test_a_song_waits_with_progress_and_saves_the_exact_mp3(
    lyria: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async with lyria() as client:
        outcome: list[CallToolResult] = []
        async with anyio.create_task_group() as group:

            async def compose() -> None:
                arguments = {"prompt": "Upbeat synthwave with a driving bassline", "duration_s": 45}
                outcome.append(await client.call_tool("generate_music", arguments, progress_callback=on_progress))

            group.start_soon(compose)
            [operation] = await emulator.await_operations(1)
            await emulator.await_requests(GET, 3)
            emulator.finish_operation(operation)
        [result] = outcome
        assert not result.is_error, text_of(result)
        [link] = [b for b in result.content if isinstance(b, ResourceLink)]
        read_back = await client.read_resource(str(link.uri))
    data = result.structured_content
    assert data["status"] == "done" and data["model"] == "lyria-3.5" and data["job_id"].startswith("lyria.")
    audio = data["audio"]
    bytes_made = made(emulator, result)
    assert saved(result) == bytes_made and base64.b64decode(read_back.contents[0].blob) == bytes_made  # type: ignore[union-attr]
    assert audio["mime_type"] == "audio/mpeg" and audio["path"].endswith(".mp3") and audio["format"] == "mp3"
    assert audio["duration_s"] == pytest.approx(45, abs=0.1) and audio["sample_rate"] == 44100
    assert audio["channels"] == 2 and link.size == len(bytes_made)
    assert "Lyrics and structure" in data["lyrics"] and "[Chorus]" in text_of(result)
    assert "45 s" in text_of(result) and audio["path"] in text_of(result)
    values = [u[0] for u in updates]
    assert len(updates) >= 3 and values == sorted(values)
    assert "get_job" in (updates[0][2] or "") and any("Lyria" in (u[2] or "") for u in updates[1:-1])
    assert "elapsed" in (updates[1][2] or "")
    assert updates[-1][0] == 100 and "finished" in (updates[-1][2] or "")
    [body] = creates(emulator)
    assert body["background"] is True and body["model"] == "lyria-3.5"
    assert body["response_format"] == {"type": "audio", "mime_type": "audio/mp3"}
    assert "Length: 45 seconds." in body["input"]
    assert FAKE_KEY not in result.model_dump_json()


async def test_a_clip_answers_directly_with_inline_audio(lyria: Callable[..., Client], emulator: Emulator) -> None:
    async with lyria(GEMINI_MCP_INLINE_MAX_BYTES=str(4 * 1024 * 1024)) as client:
        result = await client.call_tool("generate_music", {"prompt": "a lo-fi jingle", "model": "lyria clip"})
    assert not result.is_error, text_of(result)
    [inline] = [b for b in result.content if isinstance(b, AudioContent)]
    assert base64.b64decode(inline.data) == made(emulator, result) == saved(result)
    assert result.structured_content["audio"]["duration_s"] == pytest.approx(30, abs=0.1)
    assert result.structured_content["model"] == "lyria-3-clip-preview"


async def test_options_reach_lyria_and_wav_stays_wav(lyria: Callable[..., Client], emulator: Emulator) -> None:
    async with lyria() as client:
        wav = await client.call_tool(
            "generate_music",
            {
                "prompt": "a calm piano piece",
                "model": "lyria pro",
                "format": "wav",
                "instrumental": True,
                "negative_prompt": "drums",
                "seed": 7,
                "image": {"data": PNG},
            },
        )
        mp3 = await client.call_tool(
            "generate_music", {"prompt": "folk song", "lyrics": "la la la", "bit_rate_kbps": 128}
        )
    for result in (wav, mp3):
        assert not result.is_error, text_of(result)
        assert saved(result) == made(emulator, result)
    audio = wav.structured_content["audio"]
    assert audio["mime_type"] == "audio/wav" and audio["path"].endswith(".wav") and audio["format"] == "wav"
    assert audio["duration_s"] == pytest.approx(120, abs=0.1)
    assert mp3_info(saved(mp3)) is not None
    pro, folk = creates(emulator)
    assert pro["model"] == "lyria-3-pro-preview" and pro["generation_config"] == {"seed": 7}
    assert pro["response_format"] == {"type": "audio", "mime_type": "audio/wav"}
    [user] = pro["input"]
    text, image = user["content"] if user.get("type") == "user_input" else pro["input"]
    assert "Instrumental only" in text["text"] and "Avoid: drums." in text["text"] and image["type"] == "image"
    assert folk["response_format"]["bit_rate"] == 128000 and "Lyrics:\nla la la" in folk["input"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"prompt": "x", "model": "lyria clip", "duration_s": 60}, "always makes 30 s clips"),
        ({"prompt": "x", "duration_s": 5}, "10 to 300 s"),
        ({"prompt": "x", "duration_s": 400}, "10 to 300 s"),
        ({"prompt": "x", "model": "gemini-2.5-flash"}, "not a Lyria music model"),
        ({"prompt": "x", "format": "wav", "bit_rate_kbps": 128}, "only applies to format 'mp3'"),
        ({"prompt": "x", "bit_rate_kbps": 100}, "not an MP3 bit rate"),
        ({"prompt": "x", "instrumental": True, "lyrics": "hey"}, "instrumental track has no vocals"),
        ({"prompt": "   "}, "prompt: describe the music"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "format": "flac"}, "format"),
        ({"prompt": "x", "image": {"data": base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()}}, "image:"),
    ],
)
async def test_rules_are_enforced_before_any_call(
    lyria: Callable[..., Client], emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    async with lyria() as client:
        result = await client.call_tool("generate_music", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert creates(emulator) == []


async def test_cancelling_the_call_cancels_the_interaction(
    lyria: Callable[..., Client], emulator: Emulator, music_log: Sighting
) -> None:
    emulator.configure(hold_operations=True)
    async with lyria() as client:
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: client.call_tool("generate_music", {"prompt": "an endless drone"}))
            await emulator.await_requests(GET, 1)
            group.cancel_scope.cancel()
        with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
            await music_log.seen.wait()
        [cancel] = emulator.requests(CANCEL)
        [operation] = emulator.operations()
        assert cancel["path"].endswith(f"/{operation.split('/')[-1]}/cancel")


async def test_wait_false_then_get_job_and_cancel_job(lyria: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with lyria() as client:
        started = await client.call_tool("generate_music", {"prompt": "a march", "wait": False})
        job_id = started.structured_content["job_id"]
        assert started.structured_content["status"] == "running" and job_id.startswith("lyria.")
        assert f"get_job(job_id='{job_id}')" in text_of(started)
        doomed = await client.call_tool("generate_music", {"prompt": "a mistake", "wait": False})
        cancelled = await client.call_tool("cancel_job", {"job_id": doomed.structured_content["job_id"]})
        after = await client.call_tool("get_job", {"job_id": doomed.structured_content["job_id"]})
        emulator.finish_all()
        collected = await client.call_tool("get_job", {"job_id": job_id})
    assert cancelled.structured_content["status"] == "cancelled" and len(emulator.requests(CANCEL)) == 1
    assert after.is_error and "was cancelled" in text_of(after)
    assert not collected.is_error, text_of(collected)
    assert saved(collected) == made(emulator, collected)


async def test_tasks_client_gets_a_task_handle(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> None:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server

    emulator.configure(hold_operations=True)
    server = build_server(Settings.from_env(make_env(**FAST)))
    async with Client(server, extensions=[TasksClient()]) as client:
        handle = await client.session.call_tool("generate_music", {"prompt": "a waltz"}, allow_claimed=True)
        assert isinstance(handle, CreatedTask) and handle.task_id.startswith("lyria.")
        assert "Lyria" in (handle.status_message or "")
        emulator.finish_all()
        collected = await client.call_tool("get_job", {"job_id": handle.task_id})
        doomed = await client.session.call_tool("generate_music", {"prompt": "a dirge"}, allow_claimed=True)
        assert isinstance(doomed, CreatedTask)
        await client.session.send_request(CancelTask(params=TaskParams(taskId=doomed.task_id)), AnyResult)
        state = await client.session.send_request(GetTask(params=TaskParams(taskId=doomed.task_id)), TaskState)
    assert saved(collected) == made(emulator, collected)
    assert state.status == "cancelled" and len(emulator.requests(CANCEL)) == 1


async def test_safety_blocked_and_failed_outcomes(lyria: Callable[..., Client], emulator: Emulator) -> None:
    async with lyria() as client:
        blocked = await client.call_tool("generate_music", {"prompt": "something unsafe"})
        failed = await client.call_tool("generate_music", {"prompt": "[[fail]] a ballad"})
    assert blocked.is_error and "Lyria's safety rules blocked the music" in text_of(blocked)
    assert "Rephrase" in text_of(blocked)
    assert failed.is_error and "Lyria's music failed" in text_of(failed) and "interaction v1_" in text_of(failed)
    assert FAKE_KEY not in blocked.model_dump_json() + failed.model_dump_json()


async def test_a_create_that_reached_the_api_is_never_sent_twice(
    lyria: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match=CREATE, status=503, message="The model is overloaded.", times=None)
    async with lyria(GEMINI_MCP_RETRIES="3", GEMINI_MCP_RETRY_DELAY="0.01") as client:
        result = await client.call_tool("generate_music", {"prompt": "a sea shanty"})
    assert result.is_error and "not sent again" in text_of(result), text_of(result)
    assert len(emulator.requests(CREATE)) == 1


async def test_vertex_mode_says_how_to_switch(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(GOOGLE_GENAI_USE_VERTEXAI="true") as client:
        result = await client.call_tool("generate_music", {"prompt": "a tango"})
    assert result.is_error and "Gemini API key" in text_of(result), text_of(result)
    assert creates(emulator) == []
