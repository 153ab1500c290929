"""Images and speech end to end: decoded outputs, resource links, output modes, chains, refusals."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp_types import AudioContent, CallToolResult, ImageContent, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.speech import synthesize
from gemini_mcp.emulator.wire import camel_keys
from gemini_mcp.media.imaging import dimensions
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
VERTEX = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
RATIOS = {"1:1": 1.0, "3:4": 0.75, "4:3": 4 / 3, "9:16": 9 / 16, "16:9": 16 / 9}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def blocks(result: CallToolResult, kind: type) -> list[Any]:
    return [block for block in result.content if isinstance(block, kind)]


async def read_link(client: Client, link: ResourceLink) -> bytes:
    contents = (await client.read_resource(str(link.uri))).contents[0]
    return base64.b64decode(contents.blob)  # type: ignore[union-attr]


# Gemini image model --------------------------------------------------------------------------------------
async def test_generate_image_with_the_gemini_model(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_image", {"prompt": "A red fox in the snow", "aspect_ratio": "16:9"})
    assert not result.is_error, text_of(result)
    [image] = blocks(result, ImageContent)
    [link] = blocks(result, ResourceLink)
    data = base64.b64decode(image.data)
    assert image.mime_type == "image/png" and data.startswith(b"\x89PNG")
    width, height = dimensions(data)  # type: ignore[misc]
    assert abs(width / height - 16 / 9) < 0.05
    assert await read_link(client, link) == data
    saved = result.structured_content["images"][0]
    assert saved["width"] == width and saved["uri"] == str(link.uri)
    with open(saved["path"], "rb") as file:
        assert file.read() == data
    [request] = [r for r in emulator.requests() if r["rpc"] == "generateContent"]
    config = camel_keys(request["body"]["generationConfig"])
    assert config == {"responseModalities": ["IMAGE"]}  # exactly that, no other config
    assert request["model"] == "gemini-2.5-flash-image"


@pytest.mark.parametrize(("output", "inline", "links"), [("inline", 1, 0), ("link", 0, 1), ("both", 1, 1)])
async def test_output_modes(client: Client, output: str, inline: int, links: int) -> None:
    result = await client.call_tool("generate_image", {"prompt": "a cube", "output": output})
    assert not result.is_error, text_of(result)
    assert (len(blocks(result, ImageContent)), len(blocks(result, ResourceLink))) == (inline, links)
    assert result.structured_content["images"][0]["path"]


async def test_large_images_are_links_only_by_default(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_INLINE_MAX_BYTES="10") as client:
        result = await client.call_tool("generate_image", {"prompt": "a cube"})
    assert blocks(result, ImageContent) == [] and len(blocks(result, ResourceLink)) == 1


async def test_generate_then_edit_through_the_resource_uri(client: Client, emulator: Emulator) -> None:
    first = await client.call_tool("generate_image", {"prompt": "a cat on a sofa", "output": "link"})
    uri = first.structured_content["images"][0]["uri"]
    original = await read_link(client, blocks(first, ResourceLink)[0])
    edited = await client.call_tool("edit_image", {"instruction": "make it night time", "images": [{"file_uri": uri}]})
    assert not edited.is_error, text_of(edited)
    new = base64.b64decode(blocks(edited, ImageContent)[0].data)
    assert new != original and new.startswith(b"\x89PNG")
    edit_request = [r for r in emulator.requests() if r["rpc"] == "generateContent"][-1]
    parts = camel_keys(edit_request["body"]["contents"][0]["parts"])
    assert base64.urlsafe_b64decode(parts[0]["inlineData"]["data"]) == original
    assert parts[-1]["text"] == "make it night time"


async def test_several_images_from_the_gemini_model(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_image", {"prompt": "a tree", "number_of_images": 3})
    assert len(result.structured_content["images"]) == 3
    assert len([r for r in emulator.requests() if r["rpc"] == "generateContent"]) == 3


async def test_safety_blocked_image_is_explained(client: Client) -> None:
    result = await client.call_tool("generate_image", {"prompt": "something unsafe"})
    assert result.is_error and "IMAGE_SAFETY" in text_of(result)


# Imagen ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", list(RATIOS))
async def test_imagen_in_vertex_mode(make_client: Callable[..., Client], emulator: Emulator, ratio: str) -> None:
    async with make_client(**VERTEX) as client:
        result = await client.call_tool(
            "generate_image",
            {
                "prompt": "a lighthouse",
                "model": "imagen",
                "number_of_images": 2,
                "aspect_ratio": ratio,
                "output_mime_type": "image/jpeg",
            },
        )
    assert not result.is_error, text_of(result)
    images = blocks(result, ImageContent)
    assert len(images) == 2 and all(i.mime_type == "image/jpeg" for i in images)
    for image in images:
        data = base64.b64decode(image.data)
        assert data.startswith(b"\xff\xd8")
        width, height = dimensions(data)  # type: ignore[misc]
        assert abs(width / height - RATIOS[ratio]) < 0.05
    [request] = [r for r in emulator.requests() if r["rpc"] == "predict"]
    assert request["backend"] == "vertex" and request["model"] == "imagen-4.0-generate-001"
    assert request["body"]["parameters"]["sampleCount"] == 2


async def test_quality_high_uses_imagen_on_vertex(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(**VERTEX) as client:
        result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "quality": "high"})
    assert result.structured_content["model"] == "imagen-4.0-generate-001"


async def test_imagen_safety_filter_reports_withheld_images(make_client: Callable[..., Client]) -> None:
    async with make_client(**VERTEX) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "an unsafe scene", "model": "imagen", "number_of_images": 4}
        )
    assert not result.is_error, text_of(result)
    assert len(result.structured_content["images"]) == 2
    assert len(result.structured_content["filtered"]) == 2
    assert "safety filter" in text_of(result).lower()


async def test_imagen_on_the_developer_api_explains_how_to_switch(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_image", {"prompt": "x", "model": "imagen"})
    assert result.is_error
    assert "GOOGLE_GENAI_USE_VERTEXAI=true" in text_of(result) and "gemini-2.5-flash-image" in text_of(result)
    assert emulator.requests() == []
    quality = await client.call_tool("generate_image", {"prompt": "x", "quality": "high"})
    assert not quality.is_error and any("Vertex" in n for n in quality.structured_content["notes"])


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"prompt": "x", "number_of_images": 5}, "number_of_images"),
        ({"prompt": "x", "number_of_images": 0}, "number_of_images"),
        ({"prompt": "x", "aspect_ratio": "2:1"}, "'1:1', '3:4', '4:3', '9:16' or '16:9'"),
        ({"prompt": "x", "output_mime_type": "image/gif"}, "'image/png' or 'image/jpeg'"),
        ({"prompt": "x", "negative_prompt": "blur"}, "negative_prompt"),
        ({"prompt": ""}, "prompt"),
    ],
)
async def test_invalid_image_parameters_name_the_allowed_values(
    client: Client, emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("generate_image", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert emulator.requests() == []


async def test_edit_image_refusals(client: Client) -> None:
    none = await client.call_tool("edit_image", {"instruction": "x", "images": []})
    assert none.is_error and "images" in text_of(none)
    imagen = await client.call_tool("edit_image", {"instruction": "x", "images": [{"data": "AAAA"}], "model": "imagen"})
    assert imagen.is_error and "Imagen" in text_of(imagen)
    missing = await client.call_tool(
        "edit_image", {"instruction": "x", "images": [{"file_uri": "gemini://media/0123456789ab"}]}
    )
    assert missing.is_error and "media store" in text_of(missing)


# Speech ------------------------------------------------------------------------------------------------
def parse_wav(data: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(data)) as audio:
        return audio.getparams(), audio.readframes(audio.getnframes())


async def test_generate_speech_returns_a_wav_with_the_exact_samples(client: Client, emulator: Emulator) -> None:
    text = "Have a wonderful day!"
    result = await client.call_tool("generate_speech", {"text": text, "voice": "Puck", "style": "Say cheerfully"})
    assert not result.is_error, text_of(result)
    [audio] = blocks(result, AudioContent)
    assert audio.mime_type == "audio/wav"
    params, frames = parse_wav(base64.b64decode(audio.data))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 24000)
    assert frames == synthesize(f"Say cheerfully: {text}", ["Puck"])
    data = result.structured_content
    assert data["duration_s"] == pytest.approx(params.nframes / 24000, abs=0.001)
    assert data["audio"]["mime_type"] == "audio/wav" and data["voices"] == ["Puck"]
    [link] = blocks(result, ResourceLink)
    assert await read_link(client, link) == base64.b64decode(audio.data)
    config = camel_keys(
        next(r for r in emulator.requests() if r["rpc"] == "generateContent")["body"]["generationConfig"]
    )
    assert config["responseModalities"] == ["AUDIO"]
    assert config["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Puck"


async def test_two_speaker_dialogue(client: Client, emulator: Emulator) -> None:
    script = "Joe: How's it going today, Jane?\nJane: Not too bad, how about you?"
    result = await client.call_tool(
        "generate_speech",
        {"text": script, "speakers": [{"speaker": "Joe", "voice": "Kore"}, {"speaker": "Jane", "voice": "Puck"}]},
    )
    assert not result.is_error, text_of(result)
    _, frames = parse_wav(base64.b64decode(blocks(result, AudioContent)[0].data))
    assert frames == synthesize(script, ["Kore", "Puck"])
    config = camel_keys(
        next(r for r in emulator.requests() if r["rpc"] == "generateContent")["body"]["generationConfig"]
    )
    speakers = config["speechConfig"]["multiSpeakerVoiceConfig"]["speakerVoiceConfigs"]
    assert [s["speaker"] for s in speakers] == ["Joe", "Jane"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"text": "Joe: hi", "speakers": [{"speaker": "Joe", "voice": "Kore"}]}, "exactly 2"),
        (
            {"text": "A: hi\nB: yo\nC: hey", "speakers": [{"speaker": n, "voice": "Kore"} for n in "ABC"]},
            "exactly 2",
        ),
        (
            {"text": "Joe: hi", "speakers": [{"speaker": "Joe", "voice": "Kore"}, {"speaker": "Ann", "voice": "Puck"}]},
            "'Ann'",
        ),
        ({"text": "hello", "voice": "Robot"}, "'Zephyr'"),
        ({"text": ""}, "text"),
    ],
)
async def test_invalid_speech_parameters(
    client: Client, emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("generate_speech", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert emulator.requests() == []


async def test_list_voices(client: Client) -> None:
    result = await client.call_tool("list_voices", {})
    voices = {v["name"]: v["style"] for v in result.structured_content["voices"]}
    assert len(voices) == 30 and voices["Kore"] == "Firm" and voices["Puck"] == "Upbeat"


@pytest.mark.parametrize(
    ("tool", "arguments", "first_words"),
    [
        ("generate_image", {"prompt": "a lighthouse"}, "Gemini is drawing"),
        ("generate_speech", {"text": "Hello there"}, "Gemini is recording"),
    ],
)
async def test_media_tools_report_progress_while_gemini_works(
    client: Client, emulator: Emulator, tool: str, arguments: dict[str, Any], first_words: str
) -> None:
    emulator.configure(latency_s=0.3)
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    try:
        result = await client.call_tool(tool, arguments, progress_callback=on_progress)
    finally:
        emulator.configure(latency_s=0)
    assert not result.is_error
    assert updates and (updates[0][2] or "").startswith(first_words)
    values = [progress for progress, _, _ in updates]
    assert values == sorted(values) and values[-1] == updates[-1][1] == 100
    assert "saving" in (updates[-1][2] or "")
