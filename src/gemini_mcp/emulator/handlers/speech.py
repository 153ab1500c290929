"""Text-to-speech: the AUDIO response modality of the TTS models.

The audio is raw 16-bit little-endian mono PCM at 24 kHz, no header, as the real API sends it
(`audio/L16;codec=pcm;rate=24000`): a tone whose pitch follows the voice and whose length follows the
text. `synthesize` is public so tests can compare the exact samples.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from gemini_mcp.emulator import catalog, validate
from gemini_mcp.emulator.handlers.generate import prompt_text
from gemini_mcp.emulator.state import Registry, RpcContext
from gemini_mcp.emulator.wire import estimate_tokens, get
from gemini_mcp.voices import VOICES

RATE = 24_000
MIME = "audio/L16;codec=pcm;rate=24000"
SECONDS_PER_CHARACTER = 0.02
MAX_SECONDS = 20.0


def register(registry: Registry) -> None:
    registry.modality("AUDIO", speech)


def synthesize(text: str, voices: list[str]) -> bytes:
    """PCM for `text`: one tone per voice, taking turns, 20 ms per character (at least 0.25 s)."""
    seconds = min(MAX_SECONDS, max(0.25, len(text) * SECONDS_PER_CHARACTER))
    frames = int(seconds * RATE)
    names = sorted(VOICES)
    pitches = [220.0 + 20.0 * names.index(v) if v in VOICES else 440.0 for v in voices or ["Kore"]]
    segment = max(1, frames // len(pitches))
    samples = bytearray()
    for i in range(frames):
        pitch = pitches[min(i // segment, len(pitches) - 1)]
        samples += struct.pack("<h", int(6000 * math.sin(2 * math.pi * pitch * i / RATE)))
    return bytes(samples)


def _voice(config: Any, where: str) -> str:
    voice_config = get(config, "voice_config") or {}
    name = get(get(voice_config, "prebuilt_voice_config") or {}, "voice_name")
    if name is None:
        return "Kore"
    if name not in VOICES:
        raise validate.bad(
            f"* {where}.voice_name: Voice name {name} is not supported. "
            f"Allowed voice names are: {', '.join(sorted(VOICES))}"
        )
    return str(name)


async def speech(ctx: RpcContext) -> dict[str, Any]:
    if ctx.spec.kind != "tts":
        raise validate.bad(f"The model {ctx.model} does not support audio output through generateContent.")
    config = get(ctx.body, "generation_config") or {}
    modalities = [str(m).upper() for m in get(config, "response_modalities") or []]
    if modalities != ["AUDIO"]:
        raise validate.bad("The TTS model requires response_modalities to be [AUDIO].")
    speech_config = get(config, "speech_config") or {}
    multi = get(speech_config, "multi_speaker_voice_config")
    if multi is not None and get(speech_config, "voice_config") is not None:
        raise validate.bad("speech_config: voice_config and multi_speaker_voice_config cannot both be set.")
    if multi is not None:
        speakers = get(multi, "speaker_voice_configs") or []
        if len(speakers) != 2:
            raise validate.bad(
                f"* generation_config.speech_config.multi_speaker_voice_config.speaker_voice_configs: Number of "
                f"speakers must be 2, got {len(speakers)}."
            )
        voices = [_voice(s, f"speaker_voice_configs[{i}]") for i, s in enumerate(speakers)]
    else:
        voices = [_voice(speech_config, "speech_config.voice_config")]
    text = prompt_text(ctx.body["contents"][-1])
    if not text.strip():
        raise validate.bad("The TTS model needs text to speak.")
    pcm = synthesize(text, voices)
    tokens = estimate_tokens(text)
    return {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"inlineData": {"mimeType": MIME, "data": base64.b64encode(pcm).decode()}}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": tokens,
            "candidatesTokenCount": len(pcm) // 960,
            "totalTokenCount": tokens + len(pcm) // 960,
        },
        "modelVersion": ctx.model,
        **catalog.status_field(ctx.spec, ctx.backend),  # a deprecated TTS model says so (Developer API)
    }
