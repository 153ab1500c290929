"""Lyria music through the Interactions API: start a track (a paid background create, never sent twice) and read
what a finished interaction holds.

From the SDK's types (`_gaos/types/interactions/`): the models (`model.py`: lyria-3-clip-preview, lyria-3-pro-preview,
lyria-3.5), `AudioResponseFormat` (mime_type audio/mp3, audio/wav, audio/l16, …; sample_rate; bit_rate for compressed
formats; inline or URI delivery) and `GenerationConfig.seed`. The types have no length, negative-prompt or
instrumental field: Lyria reads those from the prompt, so they are written into it. A finished track is a
`model_output` step holding the lyrics and structure as text, then one audio block (`data`, a file the transport
streamed to disk, or a URI that needs the key).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.gemini.interaction_results import output_blocks, problem
from gemini_mcp.gemini.interactions import create_background
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.gemini.omni import OmniClip, download
from gemini_mcp.media.cpu import b64decode, b64encode, off_loop

if TYPE_CHECKING:
    from google.genai import interactions as itypes

    from gemini_mcp.gemini.context import GeminiCall


@dataclass(frozen=True)
class LyriaModel:
    """What one Lyria model makes (where the types are silent: Google's Lyria 3 model pages)."""

    default_s: float
    min_s: float
    max_s: float


MODELS: dict[str, LyriaModel] = {
    "lyria-3-clip-preview": LyriaModel(30, 30, 30),  # always a 30 s clip
    "lyria-3-pro-preview": LyriaModel(120, 10, 300),
    "lyria-3.5": LyriaModel(120, 10, 300),
}
DEFAULT_MODEL = "lyria-3.5"
FORMATS = {"mp3": "audio/mp3", "wav": "audio/wav"}  # AudioResponseFormat.mime_type values this server asks for
MP3_BIT_RATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # kbps, MPEG-1 Layer III
MP3_SAMPLE_RATES = (32000, 44100, 48000)


def compose_prompt(
    prompt: str, *, duration_s: int | None, negative_prompt: str | None, instrumental: bool, lyrics: str | None
) -> str:
    """The prompt Lyria reads: the caller's words, then what the types have no field for."""
    lines = [prompt.strip()]
    if duration_s is not None:
        lines.append(f"Length: {duration_s} seconds.")
    if instrumental:
        lines.append("Instrumental only, no vocals.")
    if lyrics:
        lines.append(f"Lyrics:\n{lyrics.strip()}")
    if negative_prompt:
        lines.append(f"Avoid: {negative_prompt.strip()}.")
    return "\n".join(lines)


async def start_music(
    call: GeminiCall,
    model: str,
    prompt: str,
    *,
    mime_type: str,
    bit_rate_kbps: int | None = None,
    seed: int | None = None,
    image: tuple[bytes, str] | None = None,
) -> itypes.Interaction:
    """Start one track in the background. The caller has checked every option against `MODELS` and the formats."""
    content: str | list[dict[str, Any]] = prompt
    if image is not None:
        data = await off_loop(b64encode, image[0], size=len(image[0]))
        content = [{"type": "text", "text": prompt}, {"type": "image", "data": data, "mime_type": image[1]}]
    response_format: dict[str, Any] = {"type": "audio", "mime_type": mime_type}
    if bit_rate_kbps is not None:
        response_format["bit_rate"] = bit_rate_kbps * 1000
    return await create_background(
        call,
        model=model,
        input=content,
        response_format=response_format,
        generation_config={"seed": seed} if seed is not None else None,
    )


@dataclass(frozen=True)
class Track:
    """The finished track: its bytes (inline), a file the transport wrote, or a URI to fetch; and its lyrics."""

    data: bytes | None
    path: Path | None
    uri: str | None
    mime_type: str
    sample_rate: int | None
    channels: int | None
    lyrics: str


@dataclass(frozen=True)
class FinishedMusic:
    interaction_id: str
    track: Track | None
    problem: GeminiCallError | None
    model: str | None = None


def read_music(interaction: itypes.Interaction, folder: Path) -> FinishedMusic:
    """The track of a finished interaction, or why there is none. Other files the transport offloaded are removed."""
    name = interaction.id or ""
    model = str(interaction.model) if interaction.model else None
    refused = problem(interaction, who="Lyria", noun="music", rephrase=REPHRASE)
    texts: list[str] = []
    track: Track | None = None
    for block in output_blocks(interaction):
        kind = getattr(block, "type", None)
        uri = getattr(block, "uri", None)
        offloaded = offloaded_path(folder, uri) if isinstance(uri, str) else None
        if kind == "text" and getattr(block, "text", None):
            texts.append(str(block.text))
        if kind != "audio" or track is not None or refused is not None:
            if offloaded is not None:
                offloaded.unlink(missing_ok=True)
            continue
        data = getattr(block, "data", None)
        track = Track(
            data=b64decode(data) if isinstance(data, str) and data else None,
            path=offloaded,
            uri=None if offloaded is not None else uri,
            mime_type=str(getattr(block, "mime_type", None) or "audio/mp3"),
            sample_rate=getattr(block, "sample_rate", None),
            channels=getattr(block, "channels", None),
            lyrics="",
        )
    if refused is not None:
        return FinishedMusic(name, None, refused, model)
    lyrics = "\n\n".join(texts).strip()
    if track is None:
        reason = f": {lyrics[:300]}" if lyrics else " (most likely held back by its safety rules)"
        return FinishedMusic(
            name, None, GeminiCallError(f"Lyria returned no audio{reason} (interaction {name}). {REPHRASE}"), model
        )
    return FinishedMusic(name, Track(**{**track.__dict__, "lyrics": lyrics}), None, model)


REPHRASE = "Rephrase the prompt (describe genre, mood and instruments; avoid naming real artists or copyrighted lyrics)"


async def fetch(call: GeminiCall, track: Track, folder: Path) -> Path:
    """A track delivered by URI, fetched server-side (the URI needs the key and is never handed out)."""
    return await download(call, OmniClip(data=None, path=None, uri=track.uri, mime_type=track.mime_type), folder)
