"""transcribe_audio: gemini-3.5-transcribe through the Interactions API, MCP client → server → real SDK → emulator.

The emulator's transcript is "this is an emulated transcript" followed by the vocabulary it was given, with
word timings spread over the audio's length and, with diarization, the first half spoken by speaker_1 and the
rest by speaker_2.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from tests import media_samples
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
CREATE = "interactions.create"
WORDS = ["this", "is", "an", "emulated", "transcript"]


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests(CREATE)]


def audio_block(body: dict[str, Any]) -> dict[str, Any]:
    items = body["input"]
    blocks = items[0]["content"] if items[0].get("type") == "user_input" else items
    return next(b for b in blocks if b["type"] in ("audio", "video"))


def wav(seconds: float = 2.0) -> str:
    return base64.b64encode(media_samples.wav(seconds=seconds)).decode()


async def test_a_transcript_with_speakers_segments_and_options(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "transcribe_audio",
        {
            "audio": {"data": wav(2.0)},
            "speakers": True,
            "languages": ["en-US"],
            "vocabulary": ["Gemini", "Lyria"],
            "context": "A product meeting",
        },
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    words = [*WORDS, "Gemini", "Lyria"]
    assert data["text"] == " ".join(words) and data["model"] == "gemini-3.5-transcribe"
    assert data["language"] == "en-US" and data["speakers"] == ["speaker_1", "speaker_2"]
    first, second = data["segments"]
    assert first["speaker"] == "speaker_1" and second["speaker"] == "speaker_2"
    assert f"{first['text']} {second['text']}" == data["text"]
    assert first["start_s"] == 0 and first["end_s"] == second["start_s"] and second["end_s"] == pytest.approx(2.0)
    assert data["duration_s"] == pytest.approx(2.0) and "files" not in data
    text = text_of(result)
    assert "[00:00:00.0 - " in text and f"speaker_1: {first['text']}" in text and f"speaker_2: {second['text']}" in text
    [body] = creates(emulator)
    assert body["model"] == "gemini-3.5-transcribe" and body.get("background") is not True
    assert body["generation_config"]["transcription_config"] == {
        "language_codes": ["en-US"],
        "diarization_mode": "speaker",
        "timestamp_granularities": ["word"],
        "custom_vocabulary": ["Gemini", "Lyria"],
    }
    block = audio_block(body)
    assert block["mime_type"] == "audio/wav" and base64.b64decode(block["data"]) == media_samples.wav(seconds=2.0)
    assert FAKE_KEY not in result.model_dump_json()


async def test_plain_text_without_timestamps_and_the_detected_language(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("transcribe_audio", {"audio": {"data": wav()}, "timestamps": False})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert text_of(result).startswith(" ".join(WORDS)) and data.get("language") is None
    assert any("auto-detected" in note for note in data["notes"])
    [body] = creates(emulator)
    assert "generation_config" not in body or "timestamp_granularities" not in str(body["generation_config"])


async def test_a_long_transcript_is_saved_as_txt_and_srt(client: Client) -> None:
    vocabulary = [f"term{i:03d}" for i in range(700)]
    result = await client.call_tool(
        "transcribe_audio", {"audio": {"data": wav(30.0)}, "vocabulary": vocabulary, "speakers": True}
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    txt, subtitles = data["files"]
    assert txt["path"].endswith(".txt") and subtitles["path"].endswith(".srt")
    saved_text = Path(txt["path"]).read_text()
    assert text_of(result).startswith(saved_text)  # the text block is the same readable transcript
    assert "term699" in saved_text and "speaker_2:" in saved_text
    srt = Path(subtitles["path"]).read_text()
    assert srt.startswith("1\n00:00:00,000 --> ") and "speaker_1: this is" in srt
    assert len([b for b in result.content if isinstance(b, ResourceLink)]) == 2
    assert data["text"].endswith("term699")


async def test_large_audio_goes_through_the_files_api(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(GEMINI_MCP_UPLOAD_ABOVE_MB="0.001") as client:
        result = await client.call_tool("transcribe_audio", {"audio": {"data": wav(3.0)}})
    assert not result.is_error, text_of(result)
    block = audio_block(creates(emulator)[0])
    assert "files/" in block["uri"] and "data" not in block
    assert result.structured_content["duration_s"] == pytest.approx(3.0)  # the uploaded file was transcribed
    assert any("uploaded" in note and "Files API" in note for note in result.structured_content["notes"])


async def test_a_path_and_a_file_made_here_work(
    make_client: Callable[..., Client], emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "meeting.wav"
    path.write_bytes(media_samples.wav(seconds=1.0))
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(tmp_path)) as client:
        from_path = await client.call_tool("transcribe_audio", {"audio": {"path": str(path)}})
        speech = await client.call_tool("generate_speech", {"text": "Hello there", "output": "link"})
        uri = speech.structured_content["audio"]["uri"]
        from_store = await client.call_tool("transcribe_audio", {"audio": {"file_uri": uri}})
    for result in (from_path, from_store):
        assert not result.is_error, text_of(result)
    first, second = (audio_block(body) for body in creates(emulator))
    assert first["mime_type"] == second["mime_type"] == "audio/wav"
    assert base64.b64decode(first["data"]) == path.read_bytes()


async def test_raw_pcm_is_sent_as_wav(client: Client, emulator: Emulator) -> None:
    import io
    import wave

    with wave.open(io.BytesIO(media_samples.wav(1.0, rate=8000))) as clip:
        pcm = clip.readframes(clip.getnframes())
    audio = {"data": base64.b64encode(pcm).decode(), "mime_type": "audio/pcm;rate=8000"}
    result = await client.call_tool("transcribe_audio", {"audio": audio})
    assert not result.is_error, text_of(result)
    block = audio_block(creates(emulator)[0])
    assert block["mime_type"] == "audio/wav" and base64.b64decode(block["data"]) == media_samples.wav(1.0, rate=8000)
    assert result.structured_content["duration_s"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"audio": {"data": base64.b64encode(media_samples.png()).decode()}}, "audio: must be audio"),
        ({"audio": {"data": wav()}, "languages": ["english!"]}, "not a BCP-47 language code"),
        ({"audio": {"data": wav()}, "languages": ["en"] * 11}, "at most 10"),
        ({"audio": {"data": wav()}, "vocabulary": ["x"] * 1001}, "at most 1000"),
        ({"audio": {"data": wav()}, "vocabulary": ["ok", "  "]}, "vocabulary[1]: blank"),
        ({"audio": {"data": wav()}, "model": "gemini-2.5-flash"}, "not a transcription model"),
        ({"audio": {"url": "https://www.youtube.com/watch?v=abc"}}, "YouTube"),
        ({"audio": {}}, "exactly one of"),
        ({}, "audio"),
    ],
)
async def test_rules_are_enforced_before_any_call(
    client: Client, emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("transcribe_audio", arguments)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert creates(emulator) == []


async def test_failed_and_safety_blocked_transcripts(client: Client) -> None:
    blocked = await client.call_tool("transcribe_audio", {"audio": {"data": wav()}, "context": "unsafe material"})
    failed = await client.call_tool("transcribe_audio", {"audio": {"data": wav()}, "context": "[[fail]]"})
    assert blocked.is_error and "Gemini Transcribe's safety rules blocked the transcript" in text_of(blocked)
    assert failed.is_error and "transcript failed" in text_of(failed) and "internal error" in text_of(failed)


async def test_progress_is_reported(client: Client) -> None:
    updates: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message or "")

    result = await client.call_tool("transcribe_audio", {"audio": {"data": wav()}}, progress_callback=on_progress)
    assert not result.is_error and updates and "Transcript ready" in updates[-1]


async def test_it_has_a_toolset_of_its_own(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="transcription") as client:
        alone = {tool.name for tool in (await client.list_tools()).tools}
    async with make_client(GEMINI_MCP_TOOLSETS="speech,transcription") as client:
        both = {tool.name for tool in (await client.list_tools()).tools}
    assert alone == {"transcribe_audio"} and {"transcribe_audio", "generate_speech"} <= both


async def test_a_long_recording_on_disk_is_streamed_to_the_files_api(
    make_client: Callable[..., Client], emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(media_samples.wav(seconds=3.0))
    env = {"GEMINI_MCP_ALLOWED_DIRS": str(tmp_path), "GEMINI_MCP_UPLOAD_ABOVE_MB": "0.001"}
    async with make_client(**env) as client:
        result = await client.call_tool("transcribe_audio", {"audio": {"path": str(path)}})
    assert not result.is_error, text_of(result)
    block = audio_block(creates(emulator)[0])
    assert "files/" in block["uri"] and "data" not in block
    assert result.structured_content["duration_s"] == pytest.approx(3.0)  # the streamed file was the whole file
