"""transcribe_audio: speech to text with gemini-3.5-transcribe (Interactions API), toolset `transcription`.

A toolset of its own (not `speech`): an agent that only reads recordings does not pay for the text-to-speech
schemas and voice list, and one that only speaks does not pay for this one; `speech,transcription` loads both.
Any media input form works; audio above GEMINI_MCP_UPLOAD_ABOVE_MB goes through the Files API first. The
transcript comes back as text plus segments (start, end, speaker, text) built from the model's word timings, and
a long one is also saved as `.txt` and `.srt`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import media_blocks, save
from gemini_mcp.framework.progress import reporting
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import Task, resolve
from gemini_mcp.gemini.parts import upload
from gemini_mcp.gemini.transcription import (
    DEFAULT_MODEL,
    LANGUAGE_CODE,
    MAX_VOCABULARY,
    MIME_NAMES,
    MODELS,
    read_transcript,
    srt,
    timed_lines,
    transcribe,
    transcription_config,
)
from gemini_mcp.media.audio import is_raw_pcm, pcm_format, pcm_to_wav
from gemini_mcp.media.cpu import b64encode, off_loop
from gemini_mcp.media.inputs import MediaInput, is_youtube, load_media
from gemini_mcp.media.store import SavedMedia

LONG_CHARS = 4000  # a transcript longer than this is also saved as files (and its text kept out of two copies)
MAX_LANGUAGES = 10
HEARING = ["Gemini is listening to the audio", "Still transcribing: long recordings take longer"]


class TranscribeInput(ToolInput):
    """Arguments of transcribe_audio."""

    audio: Annotated[MediaInput, Field(description="Audio or video: path, url, data (base64) or file_uri.")]
    languages: Annotated[list[str] | None, Field(description="BCP-47 hints, e.g. ['en-US']; default: detect.")] = None
    speakers: Annotated[bool, Field(description="Label who speaks (diarization).")] = False
    timestamps: Annotated[bool, Field(description="Word timings, for segment times and .srt.")] = True
    vocabulary: Annotated[list[str] | None, Field(description="Names and terms to recognise.")] = None
    context: Annotated[str | None, Field(description="What the recording is about.")] = None
    model: Annotated[str | None, Field(description="transcribe (default) or an id.")] = None


class Segment(BaseModel):
    start_s: float | None = None
    end_s: float | None = None
    speaker: str | None = None
    text: str


class TranscriptOutput(ToolOutput):
    model: str
    text: Annotated[str, Field(description="The whole transcript.")]
    language: Annotated[str | None, Field(description="The language hint used (null: auto-detected).")] = None
    segments: Annotated[list[Segment], Field(description="Timed segments, by speaker.")]
    speakers: list[str] | None = None
    duration_s: Annotated[float | None, Field(description="End of the last word.")] = None
    files: Annotated[list[SavedMedia] | None, Field(description="Saved .txt/.srt (long transcripts).")] = None
    notes: list[str] | None = None


def transcription_model(name: str | None) -> str:
    # Aliases, the default and retirements come from the model catalog.
    model = resolve(name if name is None or name.strip() else None, Task.TRANSCRIPTION).model
    if model not in MODELS:
        raise UserInputError(
            f"model: '{name}' is not a transcription model; use '{DEFAULT_MODEL}' (alias 'transcribe') or leave "
            "it out. To ask questions about audio, use analyze_media"
        )
    return model


def check(args: TranscribeInput) -> None:
    languages = args.languages or []
    if len(languages) > MAX_LANGUAGES:
        raise UserInputError(f"languages: at most {MAX_LANGUAGES} hints, got {len(languages)}")
    for i, code in enumerate(languages):
        if not LANGUAGE_CODE.match(code.strip()):
            raise UserInputError(
                f"languages[{i}]: '{code}' is not a BCP-47 language code; use e.g. 'en', 'en-US', 'pt-BR'"
            )
    vocabulary = args.vocabulary or []
    if len(vocabulary) > MAX_VOCABULARY:
        raise UserInputError(f"vocabulary: at most {MAX_VOCABULARY} entries, got {len(vocabulary)}")
    for i, term in enumerate(vocabulary):
        if not term.strip():
            raise UserInputError(f"vocabulary[{i}]: blank; give a name or term, or drop the entry")


async def _media_block(args: TranscribeInput, call: Call) -> dict[str, Any]:
    """The audio as an Interactions content block: inline when small, a Files API URI when large or given so."""
    if args.audio.url and is_youtube(args.audio.url):
        raise UserInputError(
            "audio: YouTube links cannot be transcribed here; download the audio and pass its path, or ask "
            "analyze_media about the video"
        )
    threshold = int(call.settings.upload_above_mb * 1024 * 1024)
    # A long recording on disk is streamed to the Files API rather than read whole; raw PCM is the exception, as
    # it is converted to WAV (in memory) first.
    media = await load_media(args.audio, call, field="audio", stream_above=threshold)
    if media.file is not None and is_raw_pcm(media.mime_type):
        media = await load_media(args.audio, call, field="audio")
    if media.data is not None and is_raw_pcm(media.mime_type):
        # Headerless PCM (audio/pcm;rate=N or a .pcm file) travels as WAV: the content blocks name no PCM rate.
        wav = await off_loop(pcm_to_wav, media.data, pcm_format(media.mime_type), size=media.size)
        media = replace(media, data=wav, mime_type="audio/wav")
    declared = (args.audio.mime_type or "").split(";")[0].strip().lower()
    mime = MIME_NAMES.get(media.mime_type, media.mime_type) or MIME_NAMES.get(declared, declared)
    kind = mime.split("/")[0] if mime else "audio"
    if kind not in ("audio", "video"):
        raise UserInputError(
            f"audio: must be audio (WAV, MP3, FLAC, OGG, AAC, M4A) or a video with sound, got {mime or media.source}"
        )
    block: dict[str, Any] = {"type": kind}
    if media.data is None and media.file is None:
        block["uri"] = media.uri
    elif media.data is not None and media.size <= threshold:
        block["data"] = await off_loop(b64encode, media.data, size=media.size)
    else:  # large: a file streamed from disk, or bytes above the threshold
        uri, uploaded_mime = await upload(media, call, field="audio")
        block["uri"] = uri
        mime = MIME_NAMES.get(uploaded_mime, uploaded_mime) or mime
    if mime:
        block["mime_type"] = mime
    return block


async def transcribe_audio(args: TranscribeInput, call: Call) -> CallToolResult:
    model = transcription_model(args.model)
    call.model = model
    check(args)
    block = await _media_block(args, call)
    config = transcription_config(
        languages=[code.strip() for code in args.languages or []],
        diarize=args.speakers,
        timestamps=args.timestamps,
        vocabulary=[term.strip() for term in args.vocabulary or []],
    )
    async with reporting(call, HEARING, expected_s=30.0, done="Transcript ready"):
        interaction = await transcribe(call, model, block, config=config, context=args.context)
    transcript = read_transcript(interaction)
    if transcript.problem is not None:
        raise transcript.problem
    segments = [Segment(start_s=s.start_s, end_s=s.end_s, speaker=s.speaker, text=s.text) for s in transcript.segments]
    speakers = sorted({s.speaker for s in segments if s.speaker}) or None
    ends = [w.end_s for w in transcript.words if w.end_s is not None]
    language = args.languages[0].strip() if args.languages and len(args.languages) == 1 else None
    if not args.languages:
        call.notes.append("language auto-detected (the API does not report which one)")
    elif len(args.languages) > 1:
        call.notes.append(f"language hints: {', '.join(args.languages)}")
    readable = timed_lines(transcript.segments) if segments and (args.timestamps or speakers) else transcript.text
    files: list[SavedMedia] = []
    links: list[ContentBlock] = []
    if len(transcript.text) > LONG_CHARS:
        hint = f"transcript {args.audio.source}"[:60]
        text_file = await save(call.media, readable.encode(), mime_type="text/plain", kind="transcript", hint=hint)
        files.append(text_file)
        timed = [s for s in transcript.segments if s.start_s is not None and s.end_s is not None]
        if timed:
            subtitles = await off_loop(srt, transcript.segments, size=len(transcript.text))
            files.append(
                await save(
                    call.media, subtitles.encode(), mime_type="application/x-subrip", kind="transcript", hint=hint
                )
            )
        for saved in files:
            links += await media_blocks(call, saved, None, "link", description=saved.name)
    output = TranscriptOutput(
        model=model,
        text=transcript.text,
        language=language,
        segments=segments,
        speakers=speakers,
        duration_s=max(ends) if ends else None,
        files=files or None,
        notes=call.notes or None,
    )
    return structured_result(output, [TextContent(type="text", text=readable), *links])


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="transcribe_audio",
        title="Transcribe audio",
        description=(
            "Speech to text with gemini-3.5-transcribe: any audio (or a video's sound), long files via the Files "
            "API. Returns the transcript and timed segments (start, end, speaker, text); speakers=true labels who "
            "speaks; languages and vocabulary improve accuracy. Long transcripts are also saved as .txt and .srt. "
            "Paid per audio minute; takes seconds to a few minutes."
        ),
        input_model=TranscribeInput,
        output_model=TranscriptOutput,
        handler=transcribe_audio,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        backends=frozenset({"gemini"}),
        backend_hint="gemini-3.5-transcribe runs on the Gemini Developer API: use a Gemini API key "
        "(GOOGLE_GENAI_USE_VERTEXAI unset), or transcribe with analyze_media",
    ),
]
