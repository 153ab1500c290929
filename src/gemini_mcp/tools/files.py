"""Files API: upload_file, list_files, delete_file.

An uploaded file lives 48 hours at Google and is referenced by its `uri` in every tool that takes media
(`file_uri`), so a large PDF or video is sent once and asked about many times (and cached with create_cache).
Developer API only: Vertex AI reads media from Cloud Storage (gs:// URIs) instead.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult
from pydantic import Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini import files
from gemini_mcp.media.inputs import MEDIA_ITEM_DESCRIPTION, MediaInput, load_media
from gemini_mcp.tools._knowledge import (
    CREATES,
    DELETES,
    DEVELOPER_API_HINT,
    GEMINI_ONLY,
    NEXT_PAGE,
    READS,
    Deleted,
    PagedInput,
    page_text,
)


class FileInfo(ToolOutput):
    name: Annotated[str, Field(description="files/ID: pass to delete_file.")]
    uri: Annotated[str, Field(description="Pass as file_uri to any tool that takes media.")]
    mime_type: str
    size_bytes: int | None = None
    state: Annotated[str, Field(description="PROCESSING, ACTIVE or FAILED.")]
    display_name: str | None = None
    expires: Annotated[str | None, Field(description="When Google deletes it (48 h after upload).")] = None


def file_info(found: files.RemoteFile) -> FileInfo:
    return FileInfo(
        name=found.name,
        uri=found.uri,
        mime_type=found.mime_type,
        size_bytes=found.size_bytes,
        state=found.state,
        display_name=found.display_name,
        expires=found.expires,
    )


# --- upload_file -------------------------------------------------------------------------------------------
class UploadFileInput(ToolInput):
    """Arguments of upload_file."""

    media: Annotated[MediaInput, Field(description=f"The file: {MEDIA_ITEM_DESCRIPTION}")]
    display_name: Annotated[str | None, Field(max_length=512, description="Default: the file's name.")] = None


class UploadFileOutput(ToolOutput):
    file: FileInfo


async def upload_file(args: UploadFileInput, call: Call) -> CallToolResult:
    # stream_above=0: a local file of any size is sent from disk, never held in memory.
    media = await load_media(args.media, call, field="media", stream_above=0)
    if media.data is None and media.file is None:
        raise UserInputError(
            f"media: {media.source} is already remote: pass it as file_uri where you need it, nothing to upload"
        )
    found = file_info(await files.upload_media(call, media, args.display_name))
    text = (
        f"Uploaded {found.display_name or found.name} ({found.mime_type}, {found.size_bytes or 0} bytes) as "
        f'{found.name}, {found.state}. Use it with media {{"file_uri": "{found.uri}", "mime_type": '
        f'"{found.mime_type}"}}; Google deletes it at {found.expires or "in 48 hours"}.'
    )
    return structured_result(UploadFileOutput(file=found), text=text)


# --- list_files --------------------------------------------------------------------------------------------
class ListFilesInput(PagedInput):
    """Arguments of list_files."""


class ListFilesOutput(ToolOutput):
    files: list[FileInfo]
    next_page_token: Annotated[str | None, Field(description=NEXT_PAGE)] = None


async def list_files(args: ListFilesInput, call: Call) -> CallToolResult:
    found, token = await files.list_files(call, args.page_size, args.page_token)
    output = ListFilesOutput(files=[file_info(item) for item in found], next_page_token=token)
    lines = [
        f"{f.name} {f.state} {f.mime_type} {f.size_bytes or 0} B {f.display_name or ''} {f.uri}" for f in output.files
    ]
    return structured_result(output, text=page_text(lines, token, "No files."))


# --- delete_file -------------------------------------------------------------------------------------------
class DeleteFileInput(ToolInput):
    """Arguments of delete_file."""

    name: Annotated[str, Field(min_length=1, description="files/ID or the file's uri.")]


async def delete_file(args: DeleteFileInput, call: Call) -> CallToolResult:
    name = files.file_name(args.name, "name")
    await files.delete_file(call, name, "name")
    return structured_result(Deleted(deleted=name), text=f"Deleted {name}.")


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        opt_in=True,
        name="upload_file",
        title="Upload a file to the Gemini Files API",
        description=(
            "Upload media once (path, url, base64; up to 2 GB) and reuse it: returns a `uri` to pass as "
            "`file_uri` to analyze_media, generate_text, create_cache, add_to_file_search_store. Waits until Gemini "
            "has processed it (video takes a while). Kept 48 hours, free of charge."
        ),
        input_model=UploadFileInput,
        output_model=UploadFileOutput,
        handler=upload_file,
        annotations=CREATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="list_files",
        title="List uploaded files",
        description="List the files uploaded to this API key's project (name, uri, state, size, expiry), paged.",
        input_model=ListFilesInput,
        output_model=ListFilesOutput,
        handler=list_files,
        annotations=READS,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="delete_file",
        title="Delete an uploaded file",
        description="Delete a Files API file now instead of waiting for its 48-hour expiry.",
        input_model=DeleteFileInput,
        output_model=Deleted,
        handler=delete_file,
        annotations=DELETES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
]
