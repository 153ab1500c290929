"""Text to speech: one generateContent call with `response_modalities=[AUDIO]` and a voice (or two speakers).

The model answers raw 16-bit PCM (mono, 24 kHz, no header) as inline data; `media/audio.py` wraps it in WAV.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.response import Answer

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


async def speak(
    call: GeminiCall, model: str, text: str, *, voice: str, speakers: Sequence[tuple[str, str]] | None = None
) -> Answer:
    """`text` spoken in `voice`, or as a dialogue of `speakers` ((name in the script, voice) pairs)."""
    from google.genai import types

    config = types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech_config(voice, speakers))
    contents = [types.Content(role="user", parts=[types.Part(text=text)])]
    return await generate(call, model, contents, config, stream=False)


def speech_config(voice: str, speakers: Sequence[tuple[str, str]] | None = None) -> types.SpeechConfig:
    """A prebuilt `voice`, or one voice per speaker of a two-speaker script."""
    from google.genai import types

    def voiced(name: str) -> types.VoiceConfig:
        return types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=name))

    if not speakers:
        return types.SpeechConfig(voice_config=voiced(voice))
    return types.SpeechConfig(
        multi_speaker_voice_config=types.MultiSpeakerVoiceConfig(
            speaker_voice_configs=[
                types.SpeakerVoiceConfig(speaker=speaker, voice_config=voiced(name)) for speaker, name in speakers
            ]
        )
    )
