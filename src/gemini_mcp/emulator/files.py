"""The Files API (Developer API only): resumable upload, get, list, delete, download.

File URIs are https-style (`https://generativelanguage.googleapis.com/{ver}/files/{id}`) because the SDK
only extracts ids from such URIs; the emulator recognises its own files by id wherever a URI arrives.
Video and audio files stay PROCESSING for `config.file_processing_s`, as large media do on the real API; with
`config.extra["hold_files"]` every new file stays PROCESSING until `activate` (or POST /_emulator/files:activate,
`{"name": "files/ID"}` optional): deterministic, for tests. Upload
sessions also serve uploads into other resources (File Search stores): `start_session(..., finish=…)`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gemini_mcp.emulator import validate
from gemini_mcp.emulator.state import EmulatorState
from gemini_mcp.emulator.wire import ApiError, error_response, get

FILE_HOST = "https://generativelanguage.googleapis.com"
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024


def routes(state: EmulatorState) -> list[Route]:
    async def start_upload(request: Request) -> Response:
        refusal = check_resumable_start(request)
        if refusal is not None:
            return refusal
        try:
            body = await request.json()
        except ValueError:
            body = {}
        meta = dict(get(body, "file") or {})
        size = int(request.headers.get("x-goog-upload-header-content-length") or get(meta, "size_bytes") or 0)
        if size > MAX_FILE_BYTES:
            return error_response(400, f"File too large: {size} bytes; the limit is 2 GB.")
        mime = request.headers.get("x-goog-upload-header-content-type") or get(meta, "mime_type")
        if not mime:
            return error_response(400, "Unknown mime type: set X-Goog-Upload-Header-Content-Type or file.mimeType.")
        return start_session(state, request, meta, mime, size)

    async def upload_chunk(request: Request) -> Response:
        session = request.path_params["session"]
        upload = state.uploads.get(session)
        if upload is None:
            return error_response(404, "Upload session not found.")
        command = request.headers.get("x-goog-upload-command", "")
        offset = int(request.headers.get("x-goog-upload-offset") or 0)
        received = sum(len(c) for c in upload["chunks"])
        if offset != received:
            return error_response(400, f"Upload offset {offset} does not match the {received} bytes received.")
        upload["chunks"].append(await request.body())
        if "finalize" not in command:
            return Response(status_code=200, headers={"x-goog-upload-status": "active"})
        del state.uploads[session]
        data = b"".join(upload["chunks"])
        finish = upload.get("finish")
        if finish is not None:  # an upload into another resource (a File Search store) answers for it
            try:
                answer = finish(data)
            except ApiError as exc:
                return exc.response()
            return JSONResponse(answer, headers={"x-goog-upload-status": "final"})
        file = _create(state, upload["meta"], upload["mime"], data, upload["version"])
        return JSONResponse({"file": file}, headers={"x-goog-upload-status": "final"})

    async def get_file(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        entry = _entry(state, file_id)
        return JSONResponse(_public(entry))

    async def delete_file(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        _entry(state, file_id)
        del state.files[file_id]
        return JSONResponse({})

    async def list_files(request: Request) -> Response:
        size = int(request.query_params.get("pageSize") or 10)
        start = int(request.query_params.get("pageToken") or 0)
        ids = sorted(state.files, key=lambda i: state.files[i]["meta"]["createTime"])
        page = ids[start : start + size]
        body: dict[str, Any] = {"files": [_public(state.files[i]) for i in page]}
        if start + size < len(ids):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    async def download(request: Request) -> Response:
        entry = _entry(state, request.path_params["file_id"])
        return Response(entry["data"], media_type=entry["meta"]["mimeType"])

    async def activate_files(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            done = activate(state, str(body["name"]) if isinstance(body, dict) and body.get("name") else None)
        except (ValueError, KeyError) as exc:
            return error_response(404, f"{exc}", "NOT_FOUND")
        return JSONResponse({"activated": done})

    async def wrapped(handler: Any, request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await wrapped(handler, request)

        return Route(path, endpoint, methods=methods)

    versions = "{ver:str}"
    return [
        route(f"/upload/{versions}/files", start_upload, ["POST"]),
        Route("/_emulator/files:activate", activate_files, methods=["POST"]),
        route("/_upload/{session:str}", upload_chunk, ["POST", "PUT"]),
        route(f"/{versions}/files", list_files, ["GET"]),
        route(f"/{versions}/files/{{file_id:str}}:download", download, ["GET"]),
        route(f"/{versions}/files/{{file_id:str}}", get_file, ["GET"]),
        route(f"/{versions}/files/{{file_id:str}}", delete_file, ["DELETE"]),
    ]


def check_resumable_start(request: Request) -> Response | None:
    """The refusal of a resumable upload's first request that is not one, else None."""
    if request.headers.get("x-goog-upload-protocol") != "resumable":
        return error_response(400, "Only resumable uploads are supported (X-Goog-Upload-Protocol: resumable).")
    if request.headers.get("x-goog-upload-command") != "start":
        return error_response(400, "X-Goog-Upload-Command must be 'start'.")
    return None


def start_session(
    state: EmulatorState,
    request: Request,
    meta: dict[str, Any],
    mime: str,
    size: int,
    finish: Callable[[bytes], dict[str, Any]] | None = None,
) -> Response:
    """Open an upload session and answer with its URL (on this server: the SDK uses it verbatim). `finish`
    turns the uploaded bytes into the final answer; without it they become a Files API file."""
    session = secrets.token_hex(8)
    state.uploads[session] = {
        "meta": meta,
        "mime": mime,
        "size": size,
        "chunks": [],
        "version": request.path_params.get("ver", "v1beta"),
        "finish": finish,
    }
    url = f"{str(request.base_url).rstrip('/')}/_upload/{session}"
    return JSONResponse({}, headers={"x-goog-upload-url": url, "x-goog-upload-status": "active"})


def activate(state: EmulatorState, ref: str | None = None) -> list[str]:
    """Finish processing the file `ref` (its id, name or URI), or every file still PROCESSING: ACTIVE from now.
    Files uploaded while `config.extra["hold_files"]` is set stay PROCESSING until this is called."""
    now = time.monotonic()
    wanted = None if ref is None else ref.rsplit("/files/", 1)[-1].removeprefix("files/")
    done = []
    for file_id, entry in state.files.items():
        if (wanted is None or file_id == wanted) and entry["ready_at"] > now:
            entry["ready_at"] = 0.0
            done.append(f"files/{file_id}")
    if wanted is not None and wanted not in state.files:
        raise KeyError(f"no emulated file {ref!r}")
    return done


def _entry(state: EmulatorState, file_id: str) -> dict[str, Any]:
    return validate.known_file(state.files, file_id.removeprefix("files/"))


def _create(state: EmulatorState, meta: dict[str, Any], mime: str, data: bytes, version: str) -> dict[str, Any]:
    requested = str(get(meta, "name") or "").removeprefix("files/")
    file_id = requested or secrets.token_hex(6)
    now = datetime.now(UTC)
    slow = mime.startswith(("video/", "audio/"))
    ready_at = time.monotonic() + (state.config.file_processing_s if slow else 0.0)
    if state.config.extra.get("hold_files"):
        ready_at = math.inf  # PROCESSING until a test activates it
    stamp = now.isoformat().replace("+00:00", "Z")
    public = {
        "name": f"files/{file_id}",
        "displayName": get(meta, "display_name") or file_id,
        "mimeType": mime,
        "sizeBytes": str(len(data)),
        "createTime": stamp,
        "updateTime": stamp,
        "expirationTime": (now + timedelta(hours=48)).isoformat().replace("+00:00", "Z"),
        "sha256Hash": base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode(),
        "uri": f"{FILE_HOST}/{version}/files/{file_id}",
        "source": "UPLOADED",
    }
    state.files[file_id] = {"meta": public, "data": data, "ready_at": ready_at}
    return _public(state.files[file_id])


def add_file(
    state: EmulatorState, data: bytes, mime: str, name: str | None = None, version: str = "v1beta"
) -> dict[str, Any]:
    """Create a file directly (for handlers that produce files, e.g. generated videos)."""
    return _create(state, {"name": name} if name else {}, mime, data, version)


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    meta = dict(entry["meta"])
    meta["state"] = "ACTIVE" if entry["ready_at"] <= time.monotonic() else "PROCESSING"
    return meta
