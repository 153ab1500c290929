"""The Files API as agents use it: upload (waiting until the file is ACTIVE), list, get, delete, download.

Files live 48 hours at Google and are referenced by their `uri` (or `files/ID`) from any tool that takes media.
Also what the other named-resource helpers share: `missing`, which turns the API's "not found / no
permission" answer about a name the caller gave into a UserInputError naming the field.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from gemini_mcp.errors import GeminiCallError, UserInputError
from gemini_mcp.media.inputs import LoadedMedia

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

READY_TIMEOUT_S = 600.0
FILES_KEPT = "48 hours"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    uri: str
    mime_type: str
    size_bytes: int | None
    state: str
    display_name: str | None
    expires: str | None
    created: str | None


def missing(exc: BaseException, field: str, what: str, fix: str) -> UserInputError | None:
    """A UserInputError for an API answer saying the named resource does not exist (404, or the 403 Google
    gives for a name that is not, or no longer, yours); None for any other failure."""
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError) and exc.code in (403, 404):
        return UserInputError(f"{field}: {what} does not exist or is no longer available; {fix}")
    return None


def file_name(value: str, field: str) -> str:
    """'files/ID' from a file's name, its id, or its https URI."""
    text = value.strip()
    if "/files/" in text and text.startswith("https://"):
        text = "files/" + text.rsplit("/files/", 1)[1]
    elif not text.startswith("files/"):
        text = f"files/{text}"
    ident = text.removeprefix("files/")
    if not ident or "/" in ident or ":" in ident:
        raise UserInputError(
            f"{field}: '{value}' is not a Files API file; give its name (files/ID) or uri, as upload_file or "
            "list_files returned it"
        )
    return text


def _state_of(file: types.File) -> str:
    state = file.state
    return str(getattr(state, "value", state) or "ACTIVE")


def _stamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def remote(file: types.File) -> RemoteFile:
    return RemoteFile(
        name=file.name or "",
        uri=file.uri or "",
        mime_type=file.mime_type or "",
        size_bytes=file.size_bytes,
        state=_state_of(file),
        display_name=file.display_name,
        expires=_stamp(file.expiration_time),
        created=_stamp(file.create_time),
    )


async def upload_bytes(call: GeminiCall, data: bytes, mime_type: str, display_name: str | None) -> RemoteFile:
    """Upload `data` and wait until Gemini can use it (video and audio are PROCESSING for a while)."""
    from google.genai import types

    client = await call.client()
    config = types.UploadFileConfig(mime_type=mime_type, display_name=display_name[:512] if display_name else None)
    uploaded = await client.aio.files.upload(file=io.BytesIO(data), config=config)
    return await _until_active(call, uploaded)


async def upload_media(call: GeminiCall, media: LoadedMedia, display_name: str | None) -> RemoteFile:
    from google.genai import types

    name = display_name or media.name
    config = types.UploadFileConfig(mime_type=media.mime_type, display_name=name[:512] if name else None)
    return await _until_active(call, await send_media(call, media, config))


async def send_media(call: GeminiCall, media: LoadedMedia, config: types.UploadFileConfig) -> types.File:
    """Upload loaded media as it is held: bytes from memory, or a large local file (`media.file`) streamed from
    disk, the SDK reading it 8 MiB at a time, so the server never holds it whole."""
    client = await call.client()
    if media.file is not None:
        async with media.file.opened() as source:
            return await client.aio.files.upload(file=source, config=config)
    assert media.data is not None
    return await client.aio.files.upload(file=io.BytesIO(media.data), config=config)


async def _until_active(call: GeminiCall, uploaded: types.File) -> RemoteFile:
    client = await call.client()
    started = time.monotonic()
    delay = 0.2
    while _state_of(uploaded) == "PROCESSING":
        waited = time.monotonic() - started
        if waited > READY_TIMEOUT_S:
            raise GeminiCallError(
                f"The uploaded file {uploaded.name} was still processing after {READY_TIMEOUT_S:g} s; it may still "
                f"become ACTIVE: check it with list_files, then use uri {uploaded.uri}"
            )
        await call.progress(waited, None, f"Gemini is processing {uploaded.name} ({waited:.0f} s)")
        await anyio.sleep(delay)
        delay = min(delay * 2, 5.0)
        uploaded = await client.aio.files.get(name=uploaded.name or "")
    if _state_of(uploaded) == "FAILED":
        detail = uploaded.error.message if uploaded.error else "no reason given"
        raise GeminiCallError(
            f"Gemini could not process the uploaded file {uploaded.name} ({detail}); check that the file opens "
            "and is of the type it claims, then upload it again"
        )
    return remote(uploaded)


async def list_files(call: GeminiCall, page_size: int, page_token: str | None) -> tuple[list[RemoteFile], str | None]:
    from google.genai import types

    client = await call.client()
    pager = await client.aio.files.list(config=types.ListFilesConfig(page_size=page_size, page_token=page_token))
    return [remote(file) for file in pager.page], pager.config.get("page_token") or None


async def get_file(call: GeminiCall, name: str, field: str) -> RemoteFile:
    client = await call.client()
    try:
        return remote(await client.aio.files.get(name=name))
    except Exception as exc:
        problem = missing(exc, field, name, f"files are kept {FILES_KEPT}: upload it again with upload_file")
        if problem is not None:
            raise problem from None
        raise


async def delete_file(call: GeminiCall, name: str, field: str) -> None:
    client = await call.client()
    try:
        await client.aio.files.delete(name=name)
    except Exception as exc:
        problem = missing(exc, field, name, "list_files shows the files that exist")
        if problem is not None:
            raise problem from None
        raise


async def download_file(call: GeminiCall, name: str) -> bytes:
    client = await call.client()
    return await client.aio.files.download(file=name)
