"""Speech to text with gemini-3.5-transcribe through the Interactions API, and reading its transcript.

From the SDK's types (`_gaos/types/interactions/`): `GenerationConfig.transcription_config`
(`TranscriptionConfig`: language_codes (BCP-47 hints; empty: detect), diarization_mode ("speaker"),
timestamp_granularities ("word"), custom_vocabulary and adaptation_phrases (bias lists), mode) and the audio/video
content blocks with their MIME types. The transcript is one `model_output` text block whose `word_info`
annotations (`wordinfo.py`) carry each word's text, start/end offsets (a protobuf Duration such as "1.5s") and,
with diarization, its speaker. Segments (start, end, speaker, text) are built here from those words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.gemini.interaction_results import output_blocks, problem
from gemini_mcp.gemini.interactions import create_interaction

if TYPE_CHECKING:
    from google.genai import interactions as itypes

    from gemini_mcp.gemini.context import GeminiCall

DEFAULT_MODEL = "gemini-3.5-transcribe"
MODELS = frozenset({DEFAULT_MODEL})
MAX_VOCABULARY = 1000
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# What load_media detects → the MIME names the Interactions content blocks take (AudioContent/VideoContent).
MIME_NAMES = {
    "audio/x-wav": "audio/wav",
    "audio/mp4": "audio/m4a",
    "audio/x-m4a": "audio/m4a",
    "video/quicktime": "video/mov",
    "video/x-msvideo": "video/avi",
    "video/x-ms-wmv": "video/wmv",
}
SEGMENT_GAP_S = 1.0  # a pause this long starts a new segment
SEGMENT_MAX_S = 15.0  # and no segment runs longer (subtitle-sized)
SENTENCE_END = (".", "?", "!", "…")


def transcription_config(
    *, languages: list[str] | None, diarize: bool, timestamps: bool, vocabulary: list[str] | None
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if languages:
        config["language_codes"] = list(languages)
    if diarize:
        config["diarization_mode"] = "speaker"
    if timestamps:
        config["timestamp_granularities"] = ["word"]
    if vocabulary:
        config["custom_vocabulary"] = list(vocabulary)
    return config


async def transcribe(
    call: GeminiCall,
    model: str,
    media: dict[str, Any],
    *,
    config: dict[str, Any],
    context: str | None = None,
) -> itypes.Interaction:
    """One transcription: `media` is an audio or video content block (inline `data` or a Files API `uri`)."""
    blocks: list[dict[str, Any]] = [media]
    if context:
        blocks.append({"type": "text", "text": context})
    generation = {"transcription_config": config} if config else None
    return await create_interaction(call, model=model, input=blocks, generation_config=generation)


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float | None
    end_s: float | None
    speaker: str | None


@dataclass(frozen=True)
class Segment:
    start_s: float | None
    end_s: float | None
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Transcript:
    interaction_id: str
    text: str
    words: list[Word]
    segments: list[Segment]
    problem: GeminiCallError | None


def seconds(offset: Any) -> float | None:
    """A protobuf Duration as JSON ("1.5s", "90s") in seconds."""
    if offset is None:
        return None
    text = str(offset).strip().removesuffix("s")
    try:
        return float(text)
    except ValueError:
        return None


def segments_of(words: list[Word]) -> list[Segment]:
    """Words grouped into segments: a new one at a change of speaker, after a sentence, at a pause, or when one
    grows past subtitle length."""
    found: list[Segment] = []
    current: list[Word] = []

    def close() -> None:
        if current:
            text = " ".join(w.text for w in current).strip()
            found.append(Segment(current[0].start_s, current[-1].end_s, current[0].speaker, text))
            current.clear()

    for word in words:
        if current:
            last = current[-1]
            gap = (word.start_s - last.end_s) if word.start_s is not None and last.end_s is not None else 0.0
            long = (
                word.end_s is not None
                and current[0].start_s is not None
                and word.end_s - current[0].start_s > SEGMENT_MAX_S
            )
            if word.speaker != last.speaker or last.text.endswith(SENTENCE_END) or gap >= SEGMENT_GAP_S or long:
                close()
        current.append(word)
    close()
    return found


def read_transcript(interaction: itypes.Interaction) -> Transcript:
    name = interaction.id or ""
    refused = problem(interaction, who="Gemini Transcribe", noun="transcript", rephrase="Check the audio and try again")
    if refused is not None:
        return Transcript(name, "", [], [], refused)
    texts: list[str] = []
    words: list[Word] = []
    for block in output_blocks(interaction):
        if getattr(block, "type", None) != "text":
            continue
        texts.append(str(getattr(block, "text", "") or ""))
        for note in getattr(block, "annotations", None) or []:
            if getattr(note, "type", None) != "word_info" or not getattr(note, "text", None):
                continue
            speaker = getattr(note, "speaker", None)
            words.append(
                Word(
                    str(note.text),
                    seconds(getattr(note, "start_offset", None)),
                    seconds(getattr(note, "end_offset", None)),
                    str(speaker) if speaker else None,
                )
            )
    text = "\n".join(t for t in texts if t).strip()
    if not text:
        return Transcript(
            name,
            "",
            [],
            [],
            GeminiCallError(
                f"Gemini Transcribe heard no speech in the audio (interaction {name}): check that the file has "
                "speech and is not silent or cut"
            ),
        )
    return Transcript(name, text, words, segments_of(words), None)


def _stamp(value: float, separator: str) -> str:
    millis = round(value * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(segments: list[Segment]) -> str:
    """SubRip subtitles of timed segments (the speaker as a prefix when known)."""
    cues: list[str] = []
    for segment in segments:
        if segment.start_s is None or segment.end_s is None:
            continue
        said = f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text
        index = len(cues) + 1
        cues.append(f"{index}\n{_stamp(segment.start_s, ',')} --> {_stamp(segment.end_s, ',')}\n{said}\n")
    return "\n".join(cues)


def timed_lines(segments: list[Segment]) -> str:
    """The transcript as readable lines: `[00:00:01.2 - 00:00:03.0] speaker_1: text`."""
    lines: list[str] = []
    for segment in segments:
        when = ""
        if segment.start_s is not None and segment.end_s is not None:
            when = f"[{_stamp(segment.start_s, '.')[:-2]} - {_stamp(segment.end_s, '.')[:-2]}] "
        who = f"{segment.speaker}: " if segment.speaker else ""
        lines.append(f"{when}{who}{segment.text}")
    return "\n".join(lines)
