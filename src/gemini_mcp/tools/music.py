"""Music: generate_music with Lyria (lyria-3.5, lyria-3-pro-preview, lyria-3-clip-preview) on the Interactions API.

Every track is a paid background interaction (`gemini/music.py`), so it is a job (framework/jobs.py): the call
waits with progress and answers with the music (a 30 s clip in well under a minute, a full song in a minute or
two), or answers `wait: false` at once with a job id for get_job; cancelling the call cancels the interaction.
The audio is saved as Lyria returns it (MP3 stays MP3, WAV stays WAV); raw PCM (audio/l16) is wrapped in a WAV
header first, like speech. The lyrics and structure Lyria writes come back as text.
"""

from __future__ import annotations

import io
import logging
import wave
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.interaction_results import is_running, status_of
from gemini_mcp.gemini.interactions import cancel_interaction, get_interaction
from gemini_mcp.gemini.models import Task, resolve
from gemini_mcp.gemini.music import (
    FORMATS,
    MODELS,
    MP3_BIT_RATES,
    FinishedMusic,
    Track,
    compose_prompt,
    fetch,
    read_music,
    start_music,
)
from gemini_mcp.media.audio import PcmFormat, is_raw_pcm, mp3_info, pcm_to_wav
from gemini_mcp.media.cpu import off_loop
from gemini_mcp.media.inputs import MediaInput, load_media
from gemini_mcp.media.store import OUTPUT_FIELD_DESCRIPTION, OutputMode, SavedMedia
from gemini_mcp.tools._costs import music_cost

logger = logging.getLogger("gemini_mcp.tools.music")

MESSAGES = (
    "Lyria is reading the prompt and choosing the instruments…",
    "Lyria is composing the melody and the harmony…",
    "Arranging the parts and the structure…",
    "Mixing and mastering the track…",
    "Still composing: a full song takes a minute or two…",
)
BACKEND_HINT = "Lyria runs on the Gemini Developer API: use a Gemini API key (GOOGLE_GENAI_USE_VERTEXAI unset)"


class MusicInput(ToolInput):
    """Arguments of generate_music."""

    prompt: Annotated[str, Field(min_length=1, description="Genre, mood, instruments, tempo, vocals.")]
    model: Annotated[str | None, Field(description="lyria (default), lyria pro, lyria clip (30 s), or an id.")] = None
    duration_s: Annotated[int | None, Field(description="Song length, 10-300 s (not lyria clip).")] = None
    instrumental: Annotated[bool, Field(description="No vocals.")] = False
    lyrics: Annotated[str | None, Field(description="Lyrics to sing.")] = None
    negative_prompt: Annotated[str | None, Field(description="What to leave out.")] = None
    seed: Annotated[int | None, Field(description="Same seed + prompt: similar track.")] = None
    format: Annotated[Literal["mp3", "wav"], Field(description="Audio format.")] = "mp3"
    bit_rate_kbps: Annotated[int | None, Field(description="MP3 only: 32-320.")] = None
    image: Annotated[MediaInput | None, Field(description="Image to set the mood.")] = None
    wait: Annotated[bool, Field(description="false: return a job_id at once (get_job).")] = True
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


class MusicInfo(SavedMedia):
    duration_s: Annotated[float | None, Field(description="Length in seconds.")] = None
    format: Annotated[str | None, Field(description="mp3 or wav.")] = None
    sample_rate: int | None = None
    channels: int | None = None


class MusicOutput(JobOutput, ToolOutput):
    interaction_id: Annotated[str | None, Field(description="The Lyria interaction.")] = None
    model: str | None = None
    audio: Annotated[MusicInfo | None, Field(description="The saved track (when done).")] = None
    lyrics: Annotated[str | None, Field(description="Lyrics and structure Lyria wrote.")] = None
    notes: list[str] | None = None


# --- checks ---------------------------------------------------------------------------------------------
def music_model(name: str | None) -> str:
    # Aliases, the default and retirements come from the model catalog; the lengths each model makes, from MODELS.
    model = resolve(name if name is None or name.strip() else None, Task.MUSIC).model
    if model not in MODELS:
        raise UserInputError(
            f"model: '{name}' is not a Lyria music model; use lyria (lyria-3.5, default), lyria pro "
            "(lyria-3-pro-preview) or lyria clip (lyria-3-clip-preview, 30 s), or leave it out"
        )
    return model


def check(args: MusicInput, model: str) -> None:
    spec = MODELS[model]
    if args.duration_s is not None and not spec.min_s <= args.duration_s <= spec.max_s:
        if spec.min_s == spec.max_s:
            raise UserInputError(
                f"duration_s: {model} always makes {spec.max_s:g} s clips; leave duration_s out, or use "
                "model 'lyria' or 'lyria pro' for other lengths"
            )
        raise UserInputError(
            f"duration_s: {model} makes songs of {spec.min_s:g} to {spec.max_s:g} s, got {args.duration_s}"
        )
    if args.bit_rate_kbps is not None:
        if args.format != "mp3":
            raise UserInputError("bit_rate_kbps: only applies to format 'mp3' (WAV is uncompressed); remove it")
        if args.bit_rate_kbps not in MP3_BIT_RATES:
            raise UserInputError(
                f"bit_rate_kbps: {args.bit_rate_kbps} is not an MP3 bit rate; use one of "
                f"{', '.join(map(str, MP3_BIT_RATES))}"
            )
    if args.instrumental and args.lyrics:
        raise UserInputError("lyrics: an instrumental track has no vocals; remove lyrics or instrumental=true")
    if not args.prompt.strip():
        raise UserInputError("prompt: describe the music (genre, mood, instruments)")


async def generate_music(args: MusicInput, call: Call) -> Started:
    model = music_model(args.model)
    call.model = model
    check(args, model)
    image = None
    if args.image is not None:
        media = await load_media(args.image, call, field="image")
        if media.data is None or not media.mime_type.startswith("image/"):
            raise UserInputError(f"image: must be an image (PNG, JPEG, WEBP), got {media.mime_type or media.source}")
        image = (media.data, media.mime_type)
    prompt = compose_prompt(
        args.prompt,
        duration_s=args.duration_s,
        negative_prompt=args.negative_prompt,
        instrumental=args.instrumental,
        lyrics=args.lyrics,
    )
    interaction = await start_music(
        call,
        model,
        prompt,
        mime_type=FORMATS[args.format],
        bit_rate_kbps=args.bit_rate_kbps,
        seed=args.seed,
        image=image,
    )
    return Started(
        interaction.id or "", _state(interaction), {"out": args.output}, {"hint": args.prompt}, wait=args.wait
    )


# --- the job ----------------------------------------------------------------------------------------------
def _state(interaction: Any) -> JobState:
    running = is_running(interaction)
    cancelled = status_of(interaction) == "cancelled"
    message = "Lyria: waiting in Google's queue…" if status_of(interaction) == "queued" else None
    return JobState(done=not running and not cancelled, cancelled=cancelled, upstream=interaction, message=message)


async def _poll(ref: JobRef, call: Call) -> JobState:
    return _state(await get_interaction(call, ref.upstream))


async def _cancel(ref: JobRef, call: Call) -> None:
    await cancel_interaction(call, ref.upstream)


def _running(ref: JobRef, state: JobState, call: Call) -> MusicOutput:
    interaction = state.upstream
    call.model = call.model or (str(interaction.model) if interaction is not None and interaction.model else None)
    return MusicOutput(
        job_id=ref.id, interaction_id=ref.upstream, status="running", model=call.model, notes=call.notes or None
    )


def _audio_file(track: Track, data: bytes) -> tuple[bytes, str]:
    """The bytes to save and their MIME type: raw PCM gets a WAV header, anything else is kept as it came."""
    base = track.mime_type.split(";")[0].strip().lower()
    if is_raw_pcm(base):
        fmt = PcmFormat(rate=track.sample_rate or 24000, channels=track.channels or 1)
        return pcm_to_wav(data, fmt), "audio/wav"
    return data, {"audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav"}.get(base, base)


def _measure(data: bytes, mime: str) -> tuple[float | None, int | None, int | None]:
    """(seconds, sample rate, channels) read from the file itself."""
    if mime == "audio/mpeg":
        return mp3_info(data) or (None, None, None)
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            with wave.open(io.BytesIO(data)) as wav:
                return wav.getnframes() / float(wav.getframerate()), wav.getframerate(), wav.getnchannels()
        except (wave.Error, EOFError):
            return None, None, None
    return None, None, None


async def _bytes_of(call: Call, track: Track) -> bytes | Path:
    if track.path is not None:
        return track.path
    if track.data is not None:
        return track.data
    return await fetch(call, track, call.media.root)


async def _collected(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    finished: FinishedMusic = await off_loop(read_music, state.upstream, call.media.root, size=0)
    call.model = call.model or finished.model
    if finished.problem is not None or finished.track is None:
        call.resume_hint = None  # the interaction is over: there is nothing left to collect
        assert finished.problem is not None
        raise finished.problem
    track = finished.track
    media = await _bytes_of(call, track)
    # Streamed to disk (a large track): raw PCM still needs its header, so only then is it read back.
    if isinstance(media, Path) and is_raw_pcm(track.mime_type):
        media = await anyio.Path(media).read_bytes()
    if isinstance(media, bytes):
        data, mime = await off_loop(_audio_file, track, media, size=len(media))
        stored: bytes | Path = data
    else:
        stored, mime, data = media, _audio_file(track, b"")[1], None
    hint = str(ref.local.get("hint", "music"))
    output: OutputMode = ref.options.get("out", "both")  # type: ignore[assignment]  # written by generate_music
    delivered = await deliver(call, stored, mime_type=mime, kind="music", hint=hint, output=output)
    if data is None:
        data = delivered.data or await anyio.Path(delivered.saved.path).read_bytes()
    seconds, rate, channels = await off_loop(_measure, data, mime, size=len(data))
    name = "mp3" if mime == "audio/mpeg" else "wav" if mime == "audio/wav" else mime.split("/")[-1]
    info = MusicInfo(
        **delivered.saved.model_dump(),
        duration_s=round(seconds, 2) if seconds is not None else None,
        format=name,
        sample_rate=rate or track.sample_rate,
        channels=channels or track.channels,
    )
    result = MusicOutput(
        status="done",
        interaction_id=finished.interaction_id,
        model=call.model,
        audio=info,
        lyrics=track.lyrics or None,
        notes=call.notes or None,
    )
    length = f"{info.duration_s:g} s" if info.duration_s is not None else "length unknown"
    lines = [f"Music ready ({length}, {name.upper()}, {call.model}): {info.path}"]
    if track.lyrics:
        lines += ["", track.lyrics]
    blocks: list[ContentBlock] = [*delivered.content, TextContent(type="text", text="\n".join(lines))]
    return structured_result(result, blocks)


MUSIC = JobKind(
    name="lyria",
    title="Lyria",
    noun="music track",
    label="Lyria interaction",
    poll=_poll,
    deliver=_collected,
    running=_running,
    cancel=_cancel,
    messages=MESSAGES,
    deadline_setting="GEMINI_MCP_VIDEO_DEADLINE",  # media generation shares the video deadline and poll interval
    deadline=lambda settings: settings.video_deadline_s,
    poll_interval=lambda settings: settings.video_poll_s,
    done_message="Lyria finished: saving the track",
    started_message="Lyria started: a clip takes under a minute, a full song a minute or two",
    expected_s=60.0,
    kept_s=24 * 3600,
    logger=logger,
)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_music",
        title="Generate music",
        description=(
            "Compose a track with Lyria from a prompt (genre, mood, instruments, tempo), optionally with lyrics "
            "or instrumental. lyria (lyria-3.5) and lyria pro make songs up to 5 min (duration_s), lyria clip "
            "30 s clips. Paid per track. Waits with progress (a clip under a minute, a song 1-2 min), or "
            "wait=false returns a job_id for get_job. Returns the saved MP3/WAV (audio when small, resource link "
            "always) and the lyrics."
        ),
        input_model=MusicInput,
        output_model=MusicOutput,
        handler=generate_music,
        cost=music_cost,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        backends=frozenset({"gemini"}),
        backend_hint=BACKEND_HINT,
        job=MUSIC,
    ),
]
