"""The Live API: open a session (`connect`), and run one turn over it: send text and/or 16 kHz PCM, collect the
reply until turnComplete.

Used by `live_converse` (a session opened for one turn) and `live_send` (a session kept across calls).
Progress is reported while audio streams back, since a spoken reply can take several seconds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio.lowlevel

from gemini_mcp.gemini.functions import Declared, Returned, calling_config
from gemini_mcp.gemini.response import read_parts
from gemini_mcp.gemini.speech import speech_config
from gemini_mcp.media.audio import LIVE_INPUT_MIME, pcm_format, wav_duration_s

if TYPE_CHECKING:
    from google import genai
    from google.genai import types
    from google.genai.live import AsyncSession

    from gemini_mcp.gemini.context import GeminiCall

Modality = Literal["audio", "text"]
AUDIO_CHUNK_BYTES = 16_000  # 0.5 s of 16 kHz 16-bit mono per realtime message
SESSION_LIMIT_S = 15 * 60  # the API ends audio sessions after 15 minutes


@dataclass
class LiveReply:
    pcm: bytearray = field(default_factory=bytearray)
    pcm_mime: str | None = None
    text: str = ""
    output_transcript: str = ""
    input_transcript: str = ""
    usage: dict[str, Any] | None = None
    first_reply_ms: float | None = None
    total_ms: float = 0.0
    # Functions the model asked to call; it waits for their results (run_turn's `tool_responses`) to go on.
    tool_calls: list[Returned] = field(default_factory=list)

    @property
    def audio_seconds(self) -> float:
        return wav_duration_s(len(self.pcm), pcm_format(self.pcm_mime))


def connect_config(
    modality: Modality,
    voice: str | None,
    system_instruction: str | None,
    functions: Sequence[Declared] | None = None,
) -> types.LiveConnectConfig:
    from google.genai import types

    audio = modality == "audio"
    tools = calling_config(functions, "AUTO", None)["tools"] if functions else None  # the agent runs the calls
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO if audio else types.Modality.TEXT],
        speech_config=speech_config(voice) if audio and voice else None,
        system_instruction=system_instruction,
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig() if audio else None,
        tools=tools,
    )


@asynccontextmanager
async def connect(client: genai.Client, model: str, config: types.LiveConnectConfig) -> AsyncIterator[AsyncSession]:
    """An open Live session, closed when the block ends; enter and leave it in one task (the SDK's rule)."""
    async with client.aio.live.connect(model=model, config=config) as session:
        yield session


async def run_turn(
    session: AsyncSession,
    call: GeminiCall,
    text: str | None,
    pcm16k: bytes | None,
    tool_responses: Sequence[Returned] = (),
) -> LiveReply:
    from google.genai import types

    started = time.monotonic()
    reply = LiveReply()
    if tool_responses:
        # The results of the calls the model made last turn: the model goes on with them.
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id=r.id, name=r.name, response=r.response) for r in tool_responses
            ]
        )
    if text and pcm16k:
        # The text sets the scene; the audio that follows ends the turn.
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=False
        )
    if pcm16k:
        for start in range(0, len(pcm16k), AUDIO_CHUNK_BYTES):
            chunk = pcm16k[start : start + AUDIO_CHUNK_BYTES]
            await session.send_realtime_input(audio=types.Blob(data=chunk, mime_type=LIVE_INPUT_MIME))
            # A send that fits the socket's buffer never yields, and each costs ~1.5 ms (base64, JSON,
            # deflate, TLS): without this, a minute of audio goes out as one 150 ms stall of the loop.
            await anyio.lowlevel.checkpoint()
        await session.send_realtime_input(audio_stream_end=True)
    elif text:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True
        )
    await call.progress(0, None, "Gemini is answering")
    async for message in session.receive():  # ends after the turn's turnComplete
        if message.tool_call is not None:
            for asked in message.tool_call.function_calls or []:
                reply.tool_calls.append(Returned(asked.name or "", dict(asked.args or {}), asked.id, {}))
            break  # the model waits for the results: the turn goes on with the next send
        content = message.server_content
        if content is None:
            continue
        if content.input_transcription and content.input_transcription.text:
            reply.input_transcript += content.input_transcription.text
        if content.output_transcription and content.output_transcription.text:
            reply.output_transcript += content.output_transcription.text
        said = read_parts(content.model_turn.parts if content.model_turn else None)
        for media in said.inline:
            reply.pcm += media.data or b""
            reply.pcm_mime = reply.pcm_mime or media.mime_type
        reply.text += said.text
        if said.inline or said.text:
            if reply.first_reply_ms is None:
                reply.first_reply_ms = (time.monotonic() - started) * 1000
            what = f"{reply.audio_seconds:.1f} s of audio" if reply.pcm else f"{len(reply.text)} characters"
            await call.progress(len(reply.pcm) or len(reply.text), None, f"Gemini is speaking: {what} so far")
        if message.usage_metadata is not None:
            reply.usage = message.usage_metadata.model_dump(exclude_none=True)
    reply.total_ms = (time.monotonic() - started) * 1000
    return reply
