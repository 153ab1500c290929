"""Generated media as MCP content, for every tool: save the file (or adopt one streamed to disk), then content
blocks by one rule, and the saved item for structured content. `media/` itself knows no MCP.

The rule, by `output`: 'link' → a resource link only; 'both' → the media inline when it is at most
GEMINI_MCP_INLINE_MAX_BYTES, and the link; 'inline' → the media inline only: images and audio at any size
(the caller asked), video only up to the limit (an embedded video of any size would flood the context), else
the link and a note saying why. Inline means `ImageContent`, `AudioContent`, or for video (anything else) an
`EmbeddedResource` blob. A result without inline media always has the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio
from mcp_types import AudioContent, BlobResourceContents, ContentBlock, EmbeddedResource, ImageContent, ResourceLink

from gemini_mcp.framework.call import Call
from gemini_mcp.media.cpu import b64encode, off_loop
from gemini_mcp.media.store import MediaStore, OutputMode, SavedMedia

CHUNK = 1024 * 1024  # bytes per write: a large file is written (and its cancellation honoured) in steps


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
