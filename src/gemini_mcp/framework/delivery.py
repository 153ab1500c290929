"""Generated media as MCP content, for every tool: save the file (or adopt one streamed to disk), then content
blocks by one rule, and the saved item for structured content. `media/` itself knows no MCP.

The rule, by `output`: 'link' → a resource link only; 'both' → the media inline when it is at most
GEMINI_MCP_INLINE_MAX_BYTES, and the link; 'inline' → the media inline only: images and audio at any size
(the caller asked), video only up to the limit (an embedded video of any size would flood the context), else
the link and a note saying why. Inline means `ImageContent`, `AudioContent`, or for video (anything else) an
`EmbeddedResource` blob. A result without inline media always has the link.

Hosts drop media blocks they cannot show (Gemini CLI and Claude Code drop audio), so every saved file is also
named in text by `saved_line`, which the runner adds (framework/views.py): a model can still pass the path or
the URI on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp_types import AudioContent, BlobResourceContents, ContentBlock, EmbeddedResource, ImageContent, ResourceLink

from gemini_mcp.framework.call import Call
from gemini_mcp.media.cpu import b64encode, off_loop
from gemini_mcp.media.store import MediaStore, OutputMode, SavedMedia

CHUNK = 1024 * 1024  # bytes per write: a large file is written (and its cancellation honoured) in steps
WAV_HEAD = 4096  # enough for the format and data chunk headers of any WAV this server writes
_KINDS = {"image": "Image", "audio": "Audio", "video": "Video"}


@dataclass(frozen=True)
class Delivered:
    saved: SavedMedia  # the structured item (tools add what they measured: size in pixels, duration)
    content: list[ContentBlock]
    data: bytes | None  # the bytes when they are in memory (None: a file adopted and not read back)


def _kind(saved: SavedMedia) -> str:
    return saved.mime_type.split("/")[0]


def _embeds(store: MediaStore, saved: SavedMedia, data: bytes | None, output: OutputMode) -> bool:
    if data is None or output == "link":
        return False
    small = len(data) <= store.inline_max_bytes
    return small or (output == "inline" and _kind(saved) in ("image", "audio"))


def media_content(
    store: MediaStore,
    saved: SavedMedia,
    data: bytes | None,
    output: OutputMode = "both",
    description: str | None = None,
) -> list[ContentBlock]:
    """MCP content for one saved item, by the module's rule (`data` None: only the link is possible)."""
    blocks: list[ContentBlock] = []
    if _embeds(store, saved, data, output):
        assert data is not None
        encoded = b64encode(data)
        kind = _kind(saved)
        if kind == "image":
            blocks.append(ImageContent(type="image", data=encoded, mime_type=saved.mime_type))
        elif kind == "audio":
            blocks.append(AudioContent(type="audio", data=encoded, mime_type=saved.mime_type))
        else:
            blob = BlobResourceContents(uri=saved.uri, mime_type=saved.mime_type, blob=encoded)
            blocks.append(EmbeddedResource(type="resource", resource=blob))
    if output in ("link", "both") or not blocks:
        blocks.append(
            ResourceLink(
                type="resource_link",
                uri=saved.uri,
                name=saved.name,
                title=description,
                mime_type=saved.mime_type,
                size=saved.size_bytes,
            )
        )
    return blocks


async def media_blocks(
    call: Call, saved: SavedMedia, data: bytes | None, output: OutputMode, description: str | None = None
) -> list[ContentBlock]:
    """`media_content`, encoded off the event loop when large; notes when 'inline' could not be honoured."""
    work = len(data) if data is not None and _embeds(call.media, saved, data, output) else 0
    blocks = await off_loop(media_content, call.media, saved, data, output, description, size=work)
    if output == "inline" and all(isinstance(block, ResourceLink) for block in blocks):
        call.notes.append(
            f"the {_kind(saved)} ({saved.size_bytes} bytes) is above the inline limit: returned as a link"
        )
    return blocks


async def save(store: MediaStore, data: bytes, *, mime_type: str, kind: str, hint: str) -> SavedMedia:
    """Write `data` as a new media file (temp name, then rename), a chunk at a time."""
    view = memoryview(data)
    async with store.writer(mime_type=mime_type, kind=kind, hint=hint) as write:
        for start in range(0, len(view), CHUNK):
            await write(bytes(view[start : start + CHUNK]))
    assert write.saved is not None
    return write.saved


async def deliver(
    call: Call,
    media: bytes | Path,
    *,
    mime_type: str,
    kind: str,
    hint: str,
    output: OutputMode,
    description: str | None = None,
) -> Delivered:
    """Save `media` (bytes), or adopt it (a complete file already in the output folder, never loaded unless it
    is small enough to show inline), and the content that shows it."""
    if isinstance(media, bytes):
        saved = await save(call.media, media, mime_type=mime_type, kind=kind, hint=hint)
        data: bytes | None = media
    else:
        saved = await call.media.adopt(media, mime_type=mime_type, kind=kind, hint=hint)
        small = saved.size_bytes <= call.media.inline_max_bytes
        data = await anyio.Path(saved.path).read_bytes() if output != "link" and small else None
    return Delivered(saved, await media_blocks(call, saved, data, output, description), data)


async def saved_line(item: Mapping[str, Any]) -> str:
    """One saved file (a `SavedMedia` item of structured content) in words, for a host that drops its block:
    `Audio saved: <path> (2.0 s, WAV) — gemini://media/<id>`, plus the signed download link over HTTP."""
    mime = str(item.get("mime_type") or "")
    kind, _, subtype = mime.partition("/")
    seconds = item.get("duration_s")
    if seconds is None and mime.startswith(("audio/wav", "audio/x-wav")):
        seconds = await wav_seconds(Path(str(item["path"])))
    details = [f"{seconds:.1f} s"] if isinstance(seconds, int | float) and seconds > 0 else []
    width, height = item.get("width"), item.get("height")
    if isinstance(width, int) and isinstance(height, int):
        details.append(f"{width}x{height}")
    if subtype:
        details.append(subtype.split(";")[0].removeprefix("x-").upper())
    shown = f" ({', '.join(details)})" if details else ""
    line = f"{_KINDS.get(kind, 'File')} saved: {item['path']}{shown} — {item['uri']}"
    if item.get("download_url"):
        line += f" — download: {item['download_url']}"
    return line


async def wav_seconds(path: Path) -> float | None:
    """A WAV file's length from its header (None when the file is gone or is not PCM WAV)."""
    try:
        async with await anyio.open_file(path, "rb") as handle:
            head = await handle.read(WAV_HEAD)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position, bytes_per_second = 12, 0
    while position + 8 <= len(head):
        chunk, size = head[position : position + 4], int.from_bytes(head[position + 4 : position + 8], "little")
        body = head[position + 8 : position + 8 + 16]
        if chunk == b"fmt " and len(body) == 16:
            bytes_per_second = int.from_bytes(body[8:12], "little")  # the header's own byte rate
        elif chunk == b"data":
            return size / bytes_per_second if bytes_per_second else None
        position += 8 + size + (size & 1)
    return None
