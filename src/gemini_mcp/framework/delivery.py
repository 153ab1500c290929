"""Saved media as MCP content: inline image/audio when small enough (or asked), and a resource link.

The one place where a tool's saved files become content blocks; `media/` itself knows no MCP.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from mcp_types import AudioContent, ContentBlock, ImageContent, ResourceLink

from gemini_mcp.media.store import MediaStore, OutputMode, SavedMedia


def media_content(
    store: MediaStore,
    saved: SavedMedia,
    data: bytes | None,
    output: OutputMode = "both",
    *,
    description: str | None = None,
) -> list[ContentBlock]:
    """MCP content for one saved item: inline image/audio when small enough (or asked), and/or a link."""
    blocks: list[ContentBlock] = []
    inline_kind = saved.mime_type.split("/")[0]
    can_inline = data is not None and inline_kind in ("image", "audio")
    small = data is not None and len(data) <= store.inline_max_bytes
    if can_inline and (output == "inline" or (output == "both" and small)):
        assert data is not None
        encoded = base64.b64encode(data).decode("ascii")
        if inline_kind == "image":
            blocks.append(ImageContent(type="image", data=encoded, mime_type=saved.mime_type))
        else:
            blocks.append(AudioContent(type="audio", data=encoded, mime_type=saved.mime_type))
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


def saved_content(
    store: MediaStore, items: Iterable[tuple[SavedMedia, bytes | None]], output: OutputMode
) -> list[ContentBlock]:
    """Content blocks for several saved items, in order."""
    return [block for saved, data in items for block in media_content(store, saved, data, output)]
