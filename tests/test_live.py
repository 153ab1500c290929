"""Live API tools: the MCP client drives the server, the real SDK opens a real WebSocket (wss://, the SDK's
only choice) to the emulator, which serves TLS with a throwaway CA the server trusts via GEMINI_MCP_CA_FILE."""

from __future__ import annotations

import base64
import io
import json
import ssl
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import AudioContent, CallToolResult, ResourceLink, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.tls import TlsFiles, make_tls_files
from gemini_mcp.server.app import build_server
from tests import media_samples
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def live_emulator(tls: TlsFiles) -> Iterator[Emulator]:
    with Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as emulator:
        yield emulator


@pytest.fixture
def live_env(live_emulator: Emulator, tls: TlsFiles, tmp_path: Path) -> Callable[..., dict[str, str]]:
    live_emulator.clear()
    live_emulator.configure(stream_chunk_delay_s=0)

    def make(**changes: str) -> dict[str, str]:
        return {
            "GEMINI_API_KEY": FAKE_KEY,
            "GOOGLE_GEMINI_BASE_URL": live_emulator.base_url,
            "GOOGLE_VERTEX_BASE_URL": live_emulator.base_url,
            "GEMINI_MCP_CA_FILE": tls.ca_file,
            "GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "media"),
            **changes,
        }

    return make


def live_client(env: dict[str, str]) -> Client:
    return Client(build_server(Settings.from_env(env)))


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def live_messages(emulator: Emulator, kind: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r.get("rpc") == "bidiGenerateContent" and r.get("live") == kind]


async def closed_soon(emulator: Emulator) -> list[dict[str, Any]]:
    """Until the emulator (in its own thread) has recorded a Live connection's close; its close records."""
    return await emulator.await_requests("bidiGenerateContent", where=lambda r: r.get("live") == "closed")


def told(words: str) -> Callable[[dict[str, Any]], bool]:
    """Picks the recorded Live client message that carries `words`."""
    return lambda r: r.get("live") == "message" and words in json.dumps(r.get("message"))


async def test_a_text_turn_returns_wav_audio_and_a_transcript(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    async with live_client(live_env()) as client:
        result = await client.call_tool("live_converse", {"text": "Hello there", "voice": "Kore"})
    assert not result.is_error, text_of(result)
    audio = next(block for block in result.content if isinstance(block, AudioContent))
    assert audio.mime_type == "audio/wav"
    with wave.open(io.BytesIO(base64.b64decode(audio.data))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getnframes() > 24000 // 4
    assert any(isinstance(block, ResourceLink) for block in result.content)
    data = result.structured_content or {}
    assert "Turn 1: you said 'Hello there'" in data["output_transcript"]
    assert data["timing"]["total_ms"] > 0 and data["timing"]["audio_seconds"] > 0.25
    assert data["audio"]["mime_type"] == "audio/wav" and Path(data["audio"]["path"]).exists()
    setup = live_messages(live_emulator, "setup")[0]
    assert setup["voice"] == "Kore" and setup["model"] == "gemini-2.5-flash-native-audio-preview-09-2025"
    assert setup["output_transcription"] and setup["input_transcription"]
    assert await closed_soon(live_emulator), "the one-turn session was not closed"


async def test_an_audio_turn_is_resampled_to_16_khz_mono(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    clip = media_samples.wav(1.0, rate=44100, channels=2, frequency=330)
    arguments = {"audio": {"data": base64.b64encode(clip).decode(), "mime_type": "audio/wav"}, "output": "link"}
    async with live_client(live_env()) as client:
        result = await client.call_tool("live_converse", arguments)
    assert not result.is_error, text_of(result)
    chunks = [
        m["message"]["realtime_input"]["audio"]
        for m in live_messages(live_emulator, "message")
        if "audio" in m["message"].get("realtime_input", {})
    ]
    assert {chunk["mimeType"] for chunk in chunks} == {"audio/pcm;rate=16000"}
    assert sum(chunk["bytes"] for chunk in chunks) == 32000  # 1 s × 16 000 samples × 2 bytes, one channel
    assert any(
        "audioStreamEnd" in m["message"].get("realtime_input", {}) for m in live_messages(live_emulator, "message")
    )
    assert "1.00 s of audio at 16000 Hz" in (result.structured_content or {})["input_transcript"]
    assert not any(isinstance(block, AudioContent) for block in result.content)  # output: link


async def test_text_replies(live_env: Callable[..., dict[str, str]]) -> None:
    async with live_client(live_env()) as client:
        result = await client.call_tool("live_converse", {"text": "Spell it", "response_modality": "text"})
    assert not result.is_error, text_of(result)
    assert "you said 'Spell it'" in (result.structured_content or {})["text"]
    assert not any(isinstance(block, (AudioContent, ResourceLink)) for block in result.content)


async def test_a_three_turn_session_keeps_its_id_and_its_connection(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    async with live_client(live_env()) as client:
        started = await client.call_tool("live_session_start", {"voice": "Puck", "system_instruction": "Be brief."})
        assert not started.is_error, text_of(started)
        session_id = (started.structured_content or {})["session_id"]
        for turn in (1, 2, 3):
            reply = await client.call_tool("live_send", {"session_id": session_id, "text": f"message {turn}"})
            assert not reply.is_error, text_of(reply)
            data = reply.structured_content or {}
            assert data["session_id"] == session_id and data["turn"] == turn
            assert f"Turn {turn}: you said 'message {turn}'" in data["output_transcript"]  # same connection
        ended = await client.call_tool("live_session_end", {"session_id": session_id})
        assert (ended.structured_content or {}) == {
            "session_id": session_id,
            "closed": True,
            "turns": 3,
            "summary": f"Live session {session_id} closed after 3 turns.",  # the text's headline (views.py)
        }
        after = await client.call_tool("live_send", {"session_id": session_id, "text": "still there?"})
    assert after.is_error and "live_session_start" in text_of(after)
    assert len(live_messages(live_emulator, "setup")) == 1
    assert (await closed_soon(live_emulator))[0]["turns"] == 3


async def test_idle_sessions_expire(live_env: Callable[..., dict[str, str]], live_emulator: Emulator) -> None:
    async with live_client(live_env(GEMINI_MCP_LIVE_IDLE_SECONDS="0.3")) as client:
        started = await client.call_tool("live_session_start", {})
        session_id = (started.structured_content or {})["session_id"]
        await closed_soon(live_emulator)
        late = await client.call_tool("live_send", {"session_id": session_id, "text": "hello?"})
    assert late.is_error and "GEMINI_MCP_LIVE_IDLE_SECONDS" in text_of(late)


async def test_cancelling_a_turn_closes_the_socket(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    live_emulator.configure(stream_chunk_delay_s=0.5)  # a slow spoken reply: seconds of paced audio chunks
    async with live_client(live_env()) as client:
        session_id = ((await client.call_tool("live_session_start", {})).structured_content or {})["session_id"]
        async with anyio.create_task_group() as turn:
            arguments = {"session_id": session_id, "text": "tell me a long story"}
            turn.start_soon(client.call_tool, "live_send", arguments)
            await live_emulator.await_requests("bidiGenerateContent", where=told("tell me a long story"))
            turn.cancel_scope.cancel()  # the reply has just begun
        await closed_soon(live_emulator)
        live_emulator.configure(stream_chunk_delay_s=0)
        again = await client.call_tool("live_send", {"session_id": session_id, "text": "and then?"})
        assert again.is_error
        fresh = await client.call_tool("live_converse", {"text": "still serving?"})
    assert not fresh.is_error, text_of(fresh)


async def test_sessions_are_bounded_and_closed_at_shutdown(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    async with live_client(live_env(GEMINI_MCP_LIVE_MAX_SESSIONS="1")) as client:
        assert not (await client.call_tool("live_session_start", {})).is_error
        second = await client.call_tool("live_session_start", {})
        assert second.is_error and "GEMINI_MCP_LIVE_MAX_SESSIONS" in text_of(second)
        assert not live_messages(live_emulator, "closed")
    await closed_soon(live_emulator)
    closed = live_messages(live_emulator, "closed")
    assert len(closed) == 1 and closed[0]["code"] == 1000


async def test_bad_input_is_a_tool_error(live_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    async with live_client(live_env()) as client:
        nothing = await client.call_tool("live_converse", {})
        mp3 = await client.call_tool(
            "live_converse", {"audio": {"data": base64.b64encode(b"ID3\x03" + bytes(200)).decode()}}
        )
        voice = await client.call_tool("live_converse", {"text": "hi", "voice": "Nobody"})
        not_live = await client.call_tool("live_converse", {"text": "hi", "model": "gemini-2.5-flash"})
    assert nothing.is_error and "text or audio" in text_of(nothing)
    assert mp3.is_error and "audio" in text_of(mp3) and "WAV" in text_of(mp3)
    assert voice.is_error and "voice" in text_of(voice)
    assert not_live.is_error and "Live API closed the connection (1008" in text_of(not_live)


async def test_without_the_ca_the_tls_failure_is_explained(live_env: Callable[..., dict[str, str]]) -> None:
    env = live_env()
    env.pop("GEMINI_MCP_CA_FILE")
    async with live_client(env) as client:
        result = await client.call_tool("live_converse", {"text": "hi"})
    assert result.is_error and "GEMINI_MCP_CA_FILE" in text_of(result)


async def test_stateless_mode_refuses_sessions_but_not_single_turns(live_env: Callable[..., dict[str, str]]) -> None:
    async with live_client(live_env(GEMINI_MCP_STATELESS="true")) as client:
        refused = await client.call_tool("live_session_start", {})
        single = await client.call_tool("live_converse", {"text": "hi"})
    assert refused.is_error and "live_converse" in text_of(refused)
    assert not single.is_error, text_of(single)


async def test_the_emulator_closes_a_bad_setup_like_the_api(live_emulator: Emulator, tls: TlsFiles) -> None:
    from google import genai
    from google.genai import errors, types
    from websockets.asyncio.client import connect

    context = ssl.create_default_context(cafile=tls.ca_file)
    client = genai.Client(
        api_key=FAKE_KEY,
        http_options=types.HttpOptions(base_url=live_emulator.base_url, async_client_args={"ssl": context}),
    )
    with pytest.raises(errors.APIError) as unknown:
        async with client.aio.live.connect(model="gemini-2.5-flash", config=types.LiveConnectConfig()):
            pass
    assert unknown.value.code == 1008 and "not supported for bidiGenerateContent" in str(unknown.value)

    url = (
        live_emulator.base_url.replace("https", "wss")
        + "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    async with connect(url, ssl=context, additional_headers={"x-goog-api-key": FAKE_KEY}) as socket:
        await socket.send("this is not json")
        with pytest.raises(Exception) as closed:
            await socket.recv()
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 1007  # type: ignore[attr-defined]

    for headers, words in [({}, "unregistered callers"), ({"x-goog-api-key": "invalid-key"}, "API key not valid")]:
        async with connect(url, ssl=context, additional_headers=headers) as socket:
            with pytest.raises(Exception) as refused:
                await socket.recv()
        assert refused.value.rcvd.code == 1008 and words in refused.value.rcvd.reason  # type: ignore[attr-defined]
    assert json.dumps(live_messages(live_emulator, "setup")) is not None


async def test_progress_while_the_reply_streams(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    live_emulator.configure(stream_chunk_delay_s=0.02)
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with live_client(live_env()) as client:
        result = await client.call_tool("live_converse", {"text": "Tell me something"}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    assert messages[0] == "Gemini is answering"
    speaking = [m for m in messages if m.startswith("Gemini is speaking: ")]
    assert len(speaking) >= 3 and speaking[-1].endswith("s of audio so far")


async def test_raw_pcm_input_by_mime_type_or_pcm_path(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator, tmp_path: Path
) -> None:
    # Headerless PCM has no signature: it is taken on the declared type (with its rate), or a .pcm file's name.
    with wave.open(io.BytesIO(media_samples.wav(1.0, rate=8000))) as clip:
        pcm_8k = clip.readframes(clip.getnframes())
    with wave.open(io.BytesIO(media_samples.wav(0.5, rate=16000))) as clip:
        pcm_16k = clip.readframes(clip.getnframes())
    path = tmp_path / "question.pcm"
    path.write_bytes(pcm_16k)
    declared = {"data": base64.b64encode(pcm_8k).decode(), "mime_type": "audio/pcm;rate=8000"}
    async with live_client(live_env(GEMINI_MCP_ALLOWED_DIRS=str(tmp_path))) as client:
        by_mime = await client.call_tool("live_converse", {"audio": declared, "output": "link"})
        by_path = await client.call_tool("live_converse", {"audio": {"path": str(path)}, "output": "link"})
        unlabelled = await client.call_tool("live_converse", {"audio": {"data": base64.b64encode(pcm_8k).decode()}})
    assert not by_mime.is_error, text_of(by_mime)
    assert not by_path.is_error, text_of(by_path)
    assert "1.00 s of audio at 16000 Hz" in (by_mime.structured_content or {})["input_transcript"]
    assert "0.50 s of audio at 16000 Hz" in (by_path.structured_content or {})["input_transcript"]
    assert unlabelled.is_error and "audio" in text_of(unlabelled)  # no type and no .pcm name: still refused


async def test_a_session_with_functions_makes_a_tool_call_round_trip(
    live_env: Callable[..., dict[str, str]], live_emulator: Emulator
) -> None:
    weather = {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    async with live_client(live_env()) as client:
        started = await client.call_tool(
            "live_session_start", {"functions": [weather], "response_modality": "text", "model": "native audio"}
        )
        assert not started.is_error, text_of(started)
        session_id = started.structured_content["session_id"]  # type: ignore[index]
        asked = await client.call_tool("live_send", {"session_id": session_id, "text": "Please call get_weather"})
        unanswered = await client.call_tool("live_send", {"session_id": session_id, "text": "hello?"})
        [call] = asked.structured_content["tool_calls"]  # type: ignore[index]
        wrong = await client.call_tool(
            "live_send",
            {"session_id": session_id, "tool_responses": [{"id": "nope", "name": "get_weather", "response": {}}]},
        )
        answer = {"id": call["id"], "name": "get_weather", "response": {"forecast": "sunny"}}
        answered = await client.call_tool("live_send", {"session_id": session_id, "tool_responses": [answer]})
        stray = await client.call_tool("live_send", {"session_id": session_id, "tool_responses": [answer]})
        await client.call_tool("live_session_end", {"session_id": session_id})
    assert not asked.is_error, text_of(asked)
    assert call["name"] == "get_weather" and call["args"] == {"city": "emulated"}
    assert f"id={call['id']}" in text_of(asked) and "tool_responses" in text_of(asked)
    assert unanswered.is_error and "waiting for the results of get_weather" in text_of(unanswered)
    assert wrong.is_error and "tool_responses[0].id: 'nope'" in text_of(wrong)
    assert not answered.is_error, text_of(answered)
    assert 'get_weather returned {"forecast": "sunny"}' in (answered.structured_content or {})["text"]
    assert "tool_calls" not in (answered.structured_content or {})
    assert stray.is_error and "made no call" in text_of(stray)
    [setup] = live_messages(live_emulator, "setup")
    assert [f["name"] for f in setup["functions"]] == ["get_weather"]
    responses = [m["message"] for m in live_messages(live_emulator, "message") if "tool_response" in m["message"]]
    assert responses and responses[0]["tool_response"]["functionResponses"][0]["response"] == {"forecast": "sunny"}
