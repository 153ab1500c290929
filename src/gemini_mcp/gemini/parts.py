"""Turning what an agent sent (text, MediaInput) into google-genai Parts and Contents.

Small media travel inline in the request; media above `GEMINI_MCP_UPLOAD_ABOVE_MB` go through the Files
API (`files.upload`, then wait until the file is ACTIVE) and are referenced by URI, transparently. A local
file above the threshold is streamed from disk to the upload and never read whole into memory. File
URIs and YouTube URLs are passed as `file_data` for Gemini to fetch itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio

from gemini_mcp.errors import GeminiCallError, UserInputError
from gemini_mcp.gemini.files import send_media
from gemini_mcp.media.inputs import LoadedMedia, MediaInput, load_media

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

FILE_READY_TIMEOUT_S = 300.0


async def media_part(item: MediaInput, call: GeminiCall, *, field: str) -> types.Part:
    """The Part for one media input: inline bytes, an uploaded file, or a remote reference."""
    from google.genai import types

    threshold = int(call.settings.upload_above_mb * 1024 * 1024)
    media = await load_media(item, call, field=field, stream_above=threshold)
    if media.data is None and media.file is None:
        return types.Part(file_data=types.FileData(file_uri=media.uri, mime_type=media.mime_type or None))
    if media.data is not None and media.size <= threshold:
        return types.Part(inline_data=types.Blob(data=media.data, mime_type=media.mime_type))
    uri, mime = await upload(media, call, field=field)
    return types.Part(file_data=types.FileData(file_uri=uri, mime_type=mime))


async def upload(media: LoadedMedia, call: GeminiCall, *, field: str) -> tuple[str, str]:
    """Upload through the Files API and wait until Gemini can use the file; returns (uri, mime type)."""
    from google.genai import types

    if call.settings.backend == "vertex":
        raise UserInputError(
            f"{field}: {media.size / 1e6:.1f} MB is too large to send inline, and the Files API is not available "
            "on Vertex AI: put the file in Cloud Storage and pass its gs:// URI as file_uri"
        )
    client = await call.client()
    config = types.UploadFileConfig(mime_type=media.mime_type, display_name=media.name[:120])
    uploaded = await send_media(call, media, config)
    call.notes.append(f"{field}: uploaded {media.size / 1e6:.1f} MB to the Files API as {uploaded.name}")
    deadline = time.monotonic() + FILE_READY_TIMEOUT_S
    delay = 0.2
    while _state(uploaded) == "PROCESSING":
        if time.monotonic() > deadline:
            raise GeminiCallError(
                f"{field}: the uploaded file {uploaded.name} was still processing after {FILE_READY_TIMEOUT_S:g} s; "
                f"retry later with file_uri={uploaded.uri}"
            )
        await anyio.sleep(delay)
        delay = min(delay * 2, 5.0)
        uploaded = await client.aio.files.get(name=uploaded.name or "")
    if _state(uploaded) == "FAILED":
        detail = uploaded.error.message if uploaded.error else "no reason given"
        raise GeminiCallError(
            f"{field}: Gemini could not process the uploaded file ({detail}); check that the file opens and is "
            "of the type it claims, then retry"
        )
    return uploaded.uri or "", uploaded.mime_type or media.mime_type


def _state(file: Any) -> str:
    state = file.state
    return str(getattr(state, "value", state) or "ACTIVE")


async def parts_of(
    text: str | None, media: list[MediaInput] | None, call: GeminiCall, *, field: str
) -> list[types.Part]:
    """Media first (Gemini answers better when the question follows the material), then the text."""
    from google.genai import types

    parts: list[types.Part] = []
    for index, item in enumerate(media or []):
        parts.append(await media_part(item, call, field=f"{field}[{index}]"))
    if text:
        parts.append(types.Part(text=text))
    return parts
