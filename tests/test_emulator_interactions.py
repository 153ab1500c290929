"""The emulator's Interactions API, driven by the real google-genai SDK (`client.aio.interactions`)."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
import wave
from typing import Any

import anyio
import pytest
from google import genai
from google.genai import _interactions_errors as ierrors
from google.genai import types

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.interactions import output_bytes
from gemini_mcp.emulator.movies import mp4
from gemini_mcp.media.mp4 import probe
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
NO_RETRY = types.HttpRetryOptions(attempts=1)
OMNI = "gemini-omni-1.2-flash"


def sdk(emulator: Emulator, *, vertex: bool = False) -> genai.Client:
    options = types.HttpOptions(base_url=emulator.base_url, retry_options=NO_RETRY)
    return genai.Client(vertexai=vertex, api_key=FAKE_KEY, http_options=options)


def video_of(interaction: Any) -> bytes:
    assert interaction.output_video is not None and interaction.output_video.mime_type == "video/mp4"
    return base64.b64decode(interaction.output_video.data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fetch(url: str, key: str | None) -> tuple[int, bytes, str]:
    """GET `url` as the server's downloader would: (status, body, content type)."""
    request = urllib.request.Request(url, headers={"x-goog-api-key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), response.headers["content-type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["content-type"]


@pytest.mark.parametrize("vertex", [False, True], ids=["developer-api", "vertex-express"])
async def test_inline_create_returns_a_real_mp4_as_asked(emulator: Emulator, vertex: bool) -> None:
    client = sdk(emulator, vertex=vertex)
    answer = await client.aio.interactions.create(
        model=OMNI,
        input="a fox in the snow",
        response_format={"type": "video", "aspect_ratio": "9:16", "resolution": "1080p", "duration": "5s"},
    )
    assert answer.status == "completed" and answer.model == OMNI
    data = video_of(answer)
    assert data == output_bytes(emulator.state, answer.id or "")
    info = probe(data)
    assert (info.width, info.height, info.duration_s) == (1080, 1920, 5.0)
    assert answer.usage is not None and answer.usage.total_output_tokens
    [request] = emulator.requests("interactions.create")
    assert request["backend"] == ("vertex" if vertex else "gemini")
    assert request["path"] == ("/v1beta1/interactions" if vertex else "/v1/interactions")
    assert emulator.operations() == []  # only background interactions are operations
    again = await client.aio.interactions.get(answer.id or "")
    assert video_of(again) == data


async def test_defaults_and_video_bytes_setting(emulator: Emulator) -> None:
    emulator.configure(extra={"video_bytes": 1000})
    answer = await sdk(emulator).aio.interactions.create(model="gemini-omni-flash-preview", input="a boat")
    data = video_of(answer)
    assert len(data) < 2000 and not answer.output_text
    info = probe(data)
    assert (info.width, info.height, info.duration_s) == (1280, 720, 8.0)
    told = await sdk(emulator).aio.interactions.create(
        model=OMNI, input="a boat", response_modalities=["text", "video"]
    )
    assert told.output_text and "text_to_video video for: a boat" in told.output_text and video_of(told)


async def test_background_runs_until_finished_on_command(emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    client = sdk(emulator)
    started = await client.aio.interactions.create(model=OMNI, input="a slow sunrise", background=True)
    assert started.status == "in_progress" and started.output_video is None
    [name] = emulator.wait_for_operations(1)
    assert name == f"interactions/{started.id}"
    polled = await client.aio.interactions.get(started.id or "")
    assert polled.status == "in_progress"
    emulator.set_progress(started.id or "", 50)
    assert (await client.aio.interactions.get(started.id or "")).status == "in_progress"
    emulator.finish_operation(started.id or "")
    done = await client.aio.interactions.get(started.id or "")
    assert done.status == "completed" and video_of(done) == output_bytes(emulator.state, started.id or "")
    assert len(emulator.wait_for_requests(rpc="interactions.get", count=3)) == 3


async def test_zero_duration_completes_at_the_first_get_and_finish_all(emulator: Emulator) -> None:
    client = sdk(emulator)
    emulator.configure(operation_duration_s=0)
    quick = await client.aio.interactions.create(model=OMNI, input="quick", background=True)
    assert quick.status == "in_progress"
    assert (await client.aio.interactions.get(quick.id or "")).status == "completed"
    emulator.configure(hold_operations=True)
    held = await client.aio.interactions.create(model=OMNI, input="held", background=True)
    assert emulator.finish_all() == [f"interactions/{held.id}"]
    assert (await client.aio.interactions.get(held.id or "")).status == "completed"


async def test_failed_operation_and_scripted_outcomes(emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    client = sdk(emulator)
    started = await client.aio.interactions.create(model=OMNI, input="a storm", background=True)
    emulator.fail_operation(started.id or "", message="Video generation failed: quota.", code=8)
    failed = await client.aio.interactions.get(started.id or "")
    assert failed.status == "failed" and failed.output_video is None
    assert failed.errors and failed.errors[0].message == "Video generation failed: quota."
    assert failed.errors[0].code == "RESOURCE_EXHAUSTED"

    broken = await client.aio.interactions.create(model=OMNI, input="boom [[fail]]")
    assert broken.status == "failed" and broken.errors and broken.errors[0].code == "INTERNAL"
    unsafe = await client.aio.interactions.create(model=OMNI, input="something unsafe", background=True)
    emulator.finish_operation(unsafe.id or "")
    blocked = await client.aio.interactions.get(unsafe.id or "")
    assert blocked.status == "failed" and blocked.output_video is None
    assert blocked.errors and blocked.errors[0].code == "SAFETY" and "safety" in (blocked.errors[0].message or "")
    step = (blocked.steps or [])[-1]
    assert step.type == "model_output" and step.error is not None and step.error.code == 3


async def test_cancel_running_refuse_finished_and_delete(emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    client = sdk(emulator)
    running = await client.aio.interactions.create(model=OMNI, input="a long film", background=True)
    cancelled = await client.aio.interactions.cancel(running.id or "")
    assert cancelled.status == "cancelled"
    assert (await client.aio.interactions.get(running.id or "")).status == "cancelled"
    assert (await client.aio.interactions.cancel(running.id or "")).status == "cancelled"
    assert emulator.finish_all() == []

    finished = await client.aio.interactions.create(model=OMNI, input="short")
    with pytest.raises(ierrors.BadRequestError) as refused:
        await client.aio.interactions.cancel(finished.id or "")
    assert "still running" in str(refused.value) and "FAILED_PRECONDITION" in str(refused.value)

    await client.aio.interactions.delete(finished.id or "")
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.get(finished.id or "")
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.delete(finished.id or "")
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.cancel("v1_unknown")
    rpcs = [r["rpc"] for r in emulator.requests() if r["rpc"] != "interactions.create"]
    assert rpcs.count("interactions.cancel") == 4 and rpcs.count("interactions.delete") == 2


async def test_previous_interaction_id_edits_the_earlier_video(emulator: Emulator) -> None:
    client = sdk(emulator)
    first = await client.aio.interactions.create(
        model=OMNI, input="a city street", response_format={"type": "video", "aspect_ratio": "9:16", "duration": "6s"}
    )
    night = await client.aio.interactions.create(
        model=OMNI, input="now make it night", previous_interaction_id=first.id
    )
    assert night.previous_interaction_id == first.id
    edited = probe(video_of(night))
    assert (edited.width, edited.height, edited.duration_s) == (720, 1280, 6.0)
    assert video_of(night) != video_of(first)
    repeat = await client.aio.interactions.create(
        model=OMNI, input="now make it night", previous_interaction_id=first.id
    )
    assert video_of(repeat) == video_of(night)  # the same prompt on the same video makes the same bytes

    with pytest.raises(ierrors.BadRequestError) as wrong:
        await client.aio.interactions.create(
            model=OMNI,
            input="wider",
            previous_interaction_id=first.id,
            response_format={"type": "video", "aspect_ratio": "16:9"},
        )
    assert "response_format.aspect_ratio" in str(wrong.value)
    with pytest.raises(ierrors.NotFoundError) as unknown:
        await client.aio.interactions.create(model=OMNI, input="again", previous_interaction_id="v1_nope")
    assert "previous_interaction_id" in str(unknown.value)

    unstored = await client.aio.interactions.create(model="gemini-3.5-flash", input="forget me", store=False)
    assert unstored.status == "completed"
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.get(unstored.id or "")
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.create(model="gemini-3.5-flash", input="hi", previous_interaction_id=unstored.id)


async def test_text_models_keep_the_conversation(emulator: Emulator) -> None:
    client = sdk(emulator)
    first = await client.aio.interactions.create(
        model="gemini-flash-latest", input="my name is Ada", system_instruction="be brief"
    )
    assert first.output_text and "Answer to: my name is Ada" in first.output_text
    assert "System instruction followed: be brief" in first.output_text
    second = await client.aio.interactions.create(
        model="gemini-2.5-flash", input="what is my name?", previous_interaction_id=first.id
    )
    assert second.output_text and "Conversation turns seen: 2" in second.output_text
    assert "Previous turn: my name is Ada" in second.output_text
    as_json = await client.aio.interactions.create(
        model="gemini-3.5-flash", input="json please", response_format={"type": "text", "mime_type": "application/json"}
    )
    assert "Answer to: json please" in json.loads(as_json.output_text or "")["answer"]


async def test_uri_delivery_is_downloaded_with_the_key(emulator: Emulator) -> None:
    client = sdk(emulator)
    emulator.configure(extra={"interactions_video_as_uri": True})
    answer = await client.aio.interactions.create(model=OMNI, input="a lighthouse")
    video = answer.output_video
    assert video is not None and video.data is None and video.uri and video.uri.startswith(emulator.base_url)
    uri = video.uri
    status, data, mime = await anyio.to_thread.run_sync(lambda: fetch(uri, FAKE_KEY))
    assert (status, data, mime) == (200, output_bytes(emulator.state, answer.id or ""), "video/mp4")
    status, _, _ = await anyio.to_thread.run_sync(lambda: fetch(uri, None))
    assert status == 403
    assert emulator.requests("interactions.download")[0]["has_api_key"]

    emulator.configure(extra={})
    asked = await client.aio.interactions.create(
        model=OMNI, input="by uri", response_format={"type": "video", "delivery": "uri"}
    )
    assert asked.output_video is not None and asked.output_video.uri and asked.output_video.data is None


async def test_image_and_video_inputs(emulator: Emulator) -> None:
    client = sdk(emulator)
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    started = await client.aio.interactions.create(
        model=OMNI,
        input=[{"type": "text", "text": "animate this"}, {"type": "image", "data": b64(png), "mime_type": "image/png"}],
    )
    assert started.status == "completed"
    refs = [{"type": "image", "uri": f"https://example.com/ref{i}.png", "mime_type": "image/png"} for i in range(3)]
    referenced = await client.aio.interactions.create(
        model=OMNI,
        input=[{"type": "text", "text": "these characters dancing"}, *refs],
        generation_config={"video_config": {"task": "reference_to_video"}},
    )
    assert referenced.status == "completed"
    source = mp4(720, 1280, 4.0, "source", 2000)
    extended = await client.aio.interactions.create(
        model=OMNI,
        input=[
            {"type": "text", "text": "keep going"},
            {"type": "video", "data": b64(source), "mime_type": "video/mp4"},
        ],
        generation_config={"video_config": {"task": "extend"}},
        response_format={"type": "video", "duration": "4s"},
    )
    info = probe(video_of(extended))
    assert (info.width, info.height, info.duration_s) == (720, 1280, 8.0)
    edited = await client.aio.interactions.create(
        model=OMNI,
        input=[
            {"type": "text", "text": "make it red"},
            {"type": "video", "data": b64(source), "mime_type": "video/mp4"},
        ],
    )
    info = probe(video_of(edited))
    assert (info.width, info.height, info.duration_s) == (720, 1280, 4.0)


BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({"response_format": {"type": "video", "aspect_ratio": "1:1"}}, "response_format.aspect_ratio"),
    ({"response_format": {"type": "video", "resolution": "8k"}}, "response_format.resolution"),
    ({"response_format": {"type": "video", "duration": "2s"}}, "response_format.duration"),
    ({"response_format": {"type": "video", "duration": "eight"}}, "response_format.duration"),
    ({"response_format": {"type": "video", "delivery": "email"}}, "response_format.delivery"),
    ({"response_format": {"type": "audio"}}, "response_format.type"),
    ({"response_format": {"type": "video", "gcs_uri": "gs://b/o"}}, "response_format.gcs_uri"),
    ({"response_modalities": ["audio"]}, "response_modalities"),
    ({"generation_config": {"video_config": {"task": "dream"}}}, "generation_config.video_config.task"),
    ({"generation_config": {"video_config": {"task": "image_to_video"}}}, "generation_config.video_config.task"),
    ({"generation_config": {"video_config": {"task": "edit"}}}, "generation_config.video_config.task"),
    ({"generation_config": {"temperature": 3}}, "generation_config.temperature"),
    ({"generation_config": {"thinking_level": "extreme"}}, "generation_config.thinking_level"),
    ({"generation_config": {"speech_config": {"voice": "Kore"}}}, "generation_config.speech_config"),
    ({"input": [{"type": "image", "data": "@@@", "mime_type": "image/png"}]}, "input[0].content[0].data"),
    ({"input": [{"type": "image", "data": "AAAA", "mime_type": "image/svg+xml"}]}, "input[0].content[0].mime_type"),
    ({"input": [{"type": "image", "uri": "ftp://x/y.png"}]}, "input[0].content[0].uri"),
    (
        {"input": [{"type": "text", "text": "x"}, {"type": "video", "uri": "https://a/1.mp4"}] * 2},
        "input[0].content[3]",
    ),
    ({"input": "p", "background": True, "store": False}, "store"),
    ({"input": ""}, "input"),
    ({"service_tier": "gold"}, "service_tier"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_REQUESTS, ids=[f for _, f in BAD_REQUESTS])
async def test_validation_names_the_field(emulator: Emulator, changes: dict[str, Any], field: str) -> None:
    request: dict[str, Any] = {"model": OMNI, "input": "a valid prompt", **changes}
    with pytest.raises(ierrors.BadRequestError) as refused:
        await sdk(emulator).aio.interactions.create(**request)
    assert field in str(refused.value)
    assert "INVALID_ARGUMENT" in str(refused.value)
    assert emulator.state.interactions == {}


async def test_the_preview_model_and_images_limits(emulator: Emulator) -> None:
    client = sdk(emulator)
    with pytest.raises(ierrors.BadRequestError) as refused:
        await client.aio.interactions.create(
            model="gemini-omni-flash-preview", input="x", response_format={"type": "video", "resolution": "1080p"}
        )
    assert "response_format.resolution" in str(refused.value)
    with pytest.raises(ierrors.BadRequestError) as too_long:
        await client.aio.interactions.create(
            model="gemini-omni-1.1-flash", input="x", response_format={"type": "video", "duration": "12s"}
        )
    assert "3s to 10s" in str(too_long.value)
    images = [{"type": "image", "uri": f"https://example.com/{i}.png"} for i in range(7)]
    with pytest.raises(ierrors.BadRequestError) as too_many:
        await client.aio.interactions.create(model=OMNI, input=[{"type": "text", "text": "x"}, *images])
    assert "input[0].content[7]" in str(too_many.value) and "at most 6 images" in str(too_many.value)


@pytest.mark.parametrize("model", ["gemini-9-ultra", "gemini-1.5-pro", "veo-3.1-generate-preview"])
async def test_unknown_and_retired_models_are_not_found(emulator: Emulator, model: str) -> None:
    with pytest.raises(ierrors.NotFoundError) as missing:
        await sdk(emulator).aio.interactions.create(model=model, input="hi")
    assert f"models/{model} is not found" in str(missing.value)


async def test_vertex_project_path_form(emulator: Emulator) -> None:
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project="demo-project",
        location="us-central1",
        credentials=Credentials(token="ya29.emulated"),
        http_options=types.HttpOptions(base_url=emulator.base_url, retry_options=NO_RETRY),
    )
    emulator.configure(hold_operations=True)
    started = await client.aio.interactions.create(model=OMNI, input="a valley", background=True)
    emulator.finish_operation(started.id or "")
    done = await client.aio.interactions.get(started.id or "")
    assert done.status == "completed" and video_of(done)
    prefix = "/v1beta1/projects/demo-project/locations/us-central1/interactions"
    assert [r["path"] for r in emulator.requests()] == [prefix, f"{prefix}/{started.id}"]
    assert all(r["backend"] == "vertex" and r["has_bearer"] for r in emulator.requests())
    with pytest.raises(ierrors.BadRequestError) as refused:
        await client.aio.interactions.create(
            model=OMNI, input="x", response_format={"type": "video", "delivery": "uri"}
        )
    assert "response_format.gcs_uri" in str(refused.value)
    stored = await client.aio.interactions.create(
        model=OMNI, input="x", response_format={"type": "video", "delivery": "uri", "gcs_uri": "gs://bucket/out"}
    )
    assert stored.output_video is not None and (stored.output_video.uri or "").startswith("gs://bucket/out/")


async def test_streamed_create_and_streamed_get(emulator: Emulator) -> None:
    client = sdk(emulator)
    stream = await client.aio.interactions.create(model=OMNI, input="a kite", stream=True)
    events = [event async for event in stream]
    kinds = [event.event_type for event in events]
    assert kinds == [
        "interaction.created",
        "interaction.status_update",
        "step.start",
        "step.delta",
        "step.stop",
        "interaction.completed",
    ]
    delta: Any = events[3]
    assert delta.delta.type == "video" and probe(base64.b64decode(delta.delta.data)).width == 1280
    completed: Any = events[-1]
    assert completed.interaction.status == "completed"

    emulator.configure(hold_operations=True)
    started = await client.aio.interactions.create(model=OMNI, input="a held kite", background=True)
    live = await client.aio.interactions.get(started.id or "", stream=True)
    iterator = live.__aiter__()
    first: Any = await iterator.__anext__()
    assert first.event_type == "interaction.created" and first.interaction.status == "in_progress"
    assert (await iterator.__anext__()).event_type == "interaction.status_update"
    emulator.finish_operation(started.id or "")
    rest = [event.event_type async for event in iterator]
    assert rest[-1] == "interaction.completed" and "step.delta" in rest

    resumed = await client.aio.interactions.get(started.id or "", stream=True, last_event_id="4")
    assert [event.event_type async for event in resumed] == ["step.stop", "interaction.completed"]


async def test_streamed_failure_reports_an_error_event(emulator: Emulator) -> None:
    stream = await sdk(emulator).aio.interactions.create(model="gemini-3.5-flash", input="x [[fail]]", stream=True)
    events: list[Any] = [event async for event in stream]
    assert [e.event_type for e in events][-2:] == ["error", "interaction.completed"]
    assert events[-1].interaction.status == "failed"


async def test_faults_latency_and_keys_apply(emulator: Emulator) -> None:
    client = sdk(emulator)
    emulator.add_fault("interactions.create", status=503, message="overloaded")
    with pytest.raises(ierrors.InternalServerError):
        await client.aio.interactions.create(model=OMNI, input="x")
    emulator.add_fault("interactions.get", status=429, headers={"retry-after": "3"})
    answer = await client.aio.interactions.create(model=OMNI, input="x")
    with pytest.raises(ierrors.RateLimitError) as limited:
        await client.aio.interactions.get(answer.id or "")
    assert limited.value.response.headers["retry-after"] == "3"
    bad_key = genai.Client(
        api_key="invalid-key", http_options=types.HttpOptions(base_url=emulator.base_url, retry_options=NO_RETRY)
    )
    with pytest.raises(ierrors.BadRequestError) as refused:
        await bad_key.aio.interactions.create(model=OMNI, input="x")
    assert "API key not valid" in str(refused.value)


async def test_lyria_music(emulator: Emulator) -> None:
    client = sdk(emulator)
    clip = await client.aio.interactions.create(model="lyria-3-clip-preview", input="calm piano, a 90 second piece")
    audio = clip.output_audio
    assert audio is not None and audio.mime_type == "audio/mp3" and audio.sample_rate == 44100
    data = base64.b64decode(audio.data or "")
    assert data == output_bytes(emulator.state, clip.id or "")
    frame = 144 * 32000 // 44100  # MPEG-1 Layer III at 32 kbit/s, 44.1 kHz
    assert data[:2] == b"\xff\xfb" and len(data) % frame == 0
    assert round(len(data) // frame * 1152 / 44100) == 30  # the clip model ignores the asked length
    assert clip.output_text and "[Verse 1]" in clip.output_text  # lyrics and structure come with the audio

    emulator.configure(hold_operations=True)
    song = await client.aio.interactions.create(
        model="lyria-3-pro-preview",
        input="a 45 seconds rock song",
        background=True,
        response_format={"type": "audio", "mime_type": "audio/l16", "sample_rate": 16000},
    )
    emulator.finish_operation(song.id or "")
    done = await client.aio.interactions.get(song.id or "")
    assert done.output_audio is not None and done.output_audio.mime_type == "audio/l16"
    assert done.output_audio.sample_rate == 16000
    assert len(base64.b64decode(done.output_audio.data or "")) == 45 * 16000 * 2
    wav = await client.aio.interactions.create(
        model="lyria-3.5", input="2 minutes of jazz", response_format={"type": "audio", "mime_type": "audio/wav"}
    )
    with wave.open(io.BytesIO(base64.b64decode(wav.output_audio.data or ""))) as track:  # type: ignore[union-attr]
        assert track.getnframes() / track.getframerate() == 120.0

    for changes, field in [
        ({"response_format": {"type": "audio", "mime_type": "audio/flac"}}, "response_format.mime_type"),
        ({"response_format": {"type": "audio", "bit_rate": 1000}}, "response_format.bit_rate"),
        (
            {"response_format": {"type": "audio", "mime_type": "audio/wav", "bit_rate": 64000}},
            "response_format.bit_rate",
        ),
        ({"response_format": {"type": "video"}}, "response_format.type"),
        ({"response_modalities": ["video"]}, "response_modalities"),
    ]:
        with pytest.raises(ierrors.BadRequestError) as refused:
            await client.aio.interactions.create(model="lyria-3.5", input="x", **changes)
        assert field in str(refused.value)


async def test_deep_research_agent(emulator: Emulator) -> None:
    client = sdk(emulator)
    agent = "deep-research-preview-04-2026"
    with pytest.raises(ierrors.BadRequestError) as foreground:
        await client.aio.interactions.create(agent=agent, input="why is the sky blue?")
    assert "background" in str(foreground.value)
    emulator.configure(hold_operations=True)
    started = await client.aio.interactions.create(
        agent=agent, input="why is the sky blue?", background=True, agent_config={"type": "deep-research"}
    )
    assert started.agent == agent and started.status == "in_progress"
    emulator.set_progress(started.id or "", 60)
    running = await client.aio.interactions.get(started.id or "")
    thoughts = [s for s in running.steps or [] if s.type == "thought"]
    assert len(thoughts) == 3
    emulator.finish_operation(started.id or "")
    report = await client.aio.interactions.get(started.id or "")
    assert report.output_text and report.output_text.startswith("# Research report: why is the sky blue?")
    text: Any = (report.steps or [])[-1].content[0]  # type: ignore[union-attr]
    citations = [a for a in text.annotations if a.type == "url_citation"]
    assert len(citations) == 3 and all(c.url and c.title for c in citations)
    start, end = citations[0].start_index, citations[0].end_index
    assert "[1]" in text.text[start:end]
    with pytest.raises(ierrors.NotFoundError):
        await client.aio.interactions.create(agent="deep-research-ultra", input="x", background=True)


async def test_transcription(emulator: Emulator) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(16000)
        recording.writeframes(bytes(16000 * 2 * 3))
    answer = await sdk(emulator).aio.interactions.create(
        model="gemini-3.5-transcribe",
        input=[{"type": "audio", "data": b64(buffer.getvalue()), "mime_type": "audio/wav"}],
        generation_config={
            "transcription_config": {
                "custom_vocabulary": ["Gemini"],
                "diarization_mode": "auto",
                "language_hints": ["en"],
            }
        },
    )
    assert answer.output_text and "Gemini" in answer.output_text
    text: Any = (answer.steps or [])[-1].content[0]  # type: ignore[union-attr]
    words = [a for a in text.annotations if a.type == "word_info"]
    assert words[-1].end_offset == "3s" and {w.speaker for w in words} == {"speaker_1", "speaker_2"}
    with pytest.raises(ierrors.BadRequestError) as refused:
        await sdk(emulator).aio.interactions.create(model="gemini-3.5-transcribe", input="no audio here")
    assert "audio" in str(refused.value)
