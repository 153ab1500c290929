"""Speech: generate_speech (one voice or a two-speaker dialogue) and list_voices.

The TTS model returns raw 16-bit PCM (mono, 24 kHz, no header); it is wrapped in a WAV container from the
MIME type's parameters before it is saved and returned as `audio/wav`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.progress import reporting
from gemini_mcp.framework.spec import BARE_OBJECT, ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import ModelError, Task, pick
from gemini_mcp.gemini.response import EmptyAnswer
from gemini_mcp.gemini.speech import speak
from gemini_mcp.media.audio import is_raw_pcm, pcm_format, pcm_to_wav, wav_duration_s
from gemini_mcp.media.store import OUTPUT_FIELD_DESCRIPTION, OutputMode, SavedMedia
from gemini_mcp.voices import DEFAULT_VOICE, VOICES, Voice, voices_of

SPEAKING = ["Gemini is recording the speech", "Still speaking: longer texts take longer"]
# Published as a string with examples rather than an enum of 30 names (~400 bytes in each of three tools); the
# value is still checked against the voices, and a wrong one is refused naming them.
VOICE_SCHEMA = WithJsonSchema({"type": "string"})
_VOICE_DESCRIPTION = "E.g. Kore, Puck, Charon; list_voices has all 30 and their styles."


class Speaker(BaseModel):
    model_config = ConfigDict(extra="forbid")
    speaker: Annotated[str, Field(min_length=1, description="'Joe' for script lines 'Joe: ...'.")]
    # Advertised as a string: the tool's `voice` field lists the names once (the server validates both).
    voice: Annotated[Voice, WithJsonSchema({"type": "string"}), Field(description="A voice name as in `voice`.")]


class GenerateSpeechInput(ToolInput):
    """Arguments of generate_speech."""

    text: Annotated[
        str, Field(min_length=1, description="What to say; for two speakers, one line per turn: 'Joe: Hi!'.")
    ]
    voice: Annotated[Voice, VOICE_SCHEMA, Field(description=_VOICE_DESCRIPTION + " Not with `speakers`.")] = Voice(
        DEFAULT_VOICE
    )
    style: Annotated[str | None, Field(description="E.g. 'Say cheerfully', 'Read slowly'.")] = None
    speakers: Annotated[
        list[Annotated[Speaker, BARE_OBJECT]] | None,
        Field(description="Dialogue: exactly two {speaker, voice}; speaker as named in the script ('Joe: ...')."),
    ] = None
    model: Annotated[str | None, Field(description="tts (default), gemini 3.8 tts, or an id.")] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


class SpeechOutput(ToolOutput):
    model: str
    audio: Annotated[SavedMedia, Field(description="The saved WAV file.")]
    duration_s: Annotated[float, Field(description="Length of the audio in seconds.")]
    sample_rate: Annotated[int, Field(description="Samples per second (24000).")]
    voices: Annotated[list[str], Field(description="Voices used.")]
    notes: list[str] | None = None


def _check_speakers(args: GenerateSpeechInput) -> None:
    speakers = args.speakers or []
    if len(speakers) != 2:
        raise UserInputError(
            f"speakers: two-speaker mode takes exactly 2 entries, got {len(speakers)}; for one voice leave "
            "`speakers` out and set `voice`"
        )
    names = [s.speaker for s in speakers]
    if names[0] == names[1]:
        raise UserInputError("speakers: the two speaker names must differ")
    for name in names:
        if not re.search(rf"(^|\n)\s*{re.escape(name)}\s*:", args.text):
            raise UserInputError(
                f"speakers: the script never gives '{name}' a line; write turns as '{name}: ...' on their own lines"
            )


async def generate_speech(args: GenerateSpeechInput, call: Call) -> CallToolResult:
    resolution = pick(call, args.model, Task.SPEECH)
    call.model = model = resolution.model
    entry = resolution.entry
    if entry is not None and "speech" not in entry.tasks:
        raise ModelError(
            f"model: '{model}' is not a text-to-speech model; use 'tts' (default), 'gemini 3.8 tts' or leave it out"
        )
    offered = voices_of(entry.voices if entry is not None else None)
    for voice in [args.voice.value, *(s.voice.value for s in args.speakers or [])]:
        if voice not in offered:
            raise ModelError(f"voice: {model} has no voice '{voice}'; list_voices gives the ones it has")
    speakers = None
    if args.speakers is not None:
        _check_speakers(args)
        speakers = [(s.speaker, s.voice.value) for s in args.speakers]
    voices = [voice for _, voice in speakers] if speakers else [args.voice.value]
    text = f"{args.style}: {args.text}" if args.style else args.text
    async with reporting(call, SPEAKING, expected_s=10, done="Speech ready; saving the WAV"):
        answer = await speak(call, model, text, voice=args.voice.value, speakers=speakers)
    audio = answer.require_media(f"{model} returned no audio; retry or shorten the text")
    mime = audio[0].mime_type or "audio/L16;codec=pcm;rate=24000"
    pcm = b"".join(clip.data or b"" for clip in audio)
    fmt = pcm_format(mime)
    if is_raw_pcm(mime):
        wav = pcm_to_wav(pcm, fmt)
        duration = wav_duration_s(len(pcm), fmt)
    elif mime.startswith("audio/wav"):
        wav, duration = pcm, 0.0
    else:
        raise EmptyAnswer(f"{model} returned audio as {mime}, which this server cannot convert to WAV")
    delivered = await deliver(
        call,
        wav,
        mime_type="audio/wav",
        kind="speech",
        hint=args.text[:40],
        output=args.output,
        description=args.text[:80],
    )
    output = SpeechOutput(
        model=model,
        audio=delivered.saved,
        duration_s=round(duration, 3),
        sample_rate=fmt.rate,
        voices=voices,
        notes=call.notes or None,
    )
    line = f"{duration:.1f} s of speech ({', '.join(voices)}), saved: {delivered.saved.path}"
    return structured_result(output, [*delivered.content, TextContent(type="text", text=line)])


# --- list_voices ---------------------------------------------------------------------------------------
class ListVoicesInput(ToolInput):
    """list_voices takes no arguments."""


class VoiceInfo(ToolOutput):
    name: str
    style: str


class ListVoicesOutput(ToolOutput):
    voices: Annotated[list[VoiceInfo], Field(description="Prebuilt voices for generate_speech.")]


async def list_voices(args: ListVoicesInput, call: Call) -> CallToolResult:
    output = ListVoicesOutput(voices=[VoiceInfo(name=name, style=style) for name, style in VOICES.items()])
    return structured_result(output, text="\n".join(f"{v.name}: {v.style}" for v in output.voices))


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_speech",
        title="Text to speech",
        description=(
            "Turn text into natural speech (WAV, 24 kHz mono) with one of 30 prebuilt voices (see list_voices), "
            "an optional `style` ('Say cheerfully'), or a two-speaker dialogue (`speakers`: exactly two "
            "{speaker, voice}; script lines 'Name: ...'). Returns audio inline when small plus a resource link; "
            "duration in structured content."
        ),
        input_model=GenerateSpeechInput,
        output_model=SpeechOutput,
        handler=generate_speech,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
    ToolSpec(
        name="list_voices",
        title="List speech voices",
        description="List the prebuilt voices generate_speech offers, with the style of each.",
        input_model=ListVoicesInput,
        output_model=ListVoicesOutput,
        handler=list_voices,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
]
