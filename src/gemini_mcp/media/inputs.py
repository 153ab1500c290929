"""Media an agent hands to a tool: a local path, an http(s) URL, base64 data, or a Gemini file URI.

One vocabulary for every tool that takes media (understanding, image editing, Veo frames, Live audio):
`MediaInput` is the schema an agent fills in, `load_media` turns it into bytes with a MIME type detected
from the content. Safety rules live here once:

- local paths are confined to `GEMINI_MCP_ALLOWED_DIRS` (default: the working directory), the ceiling; a
  client's MCP roots can only narrow it (and over HTTP count only with `GEMINI_MCP_HTTP_CLIENT_ROOTS`);
  `..`, symlinks and absolute paths that leave the folders are refused;
- URLs must be http(s), are fetched with a size cap and a timeout, and may not point at loopback, private
  or link-local addresses unless `GEMINI_MCP_ALLOW_PRIVATE_URLS`: each hop is resolved once and connected to
  the address that was checked (`url_fetch`);
- the MIME type comes from the bytes, not from the file name or what the caller claims.
"""

from __future__ import annotations

import binascii
import errno
import io
import logging
import mimetypes
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

import anyio
from pydantic import BaseModel, ConfigDict, model_validator

from gemini_mcp.errors import UserInputError
from gemini_mcp.media.audio import is_raw_pcm
from gemini_mcp.media.cpu import b64decode, off_loop
from gemini_mcp.media.url_fetch import (
    AddressRefused,
    FetchError,
    FetchTimeout,
    TooLarge,
    fetch_url,
    is_public_address,
)

if TYPE_CHECKING:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.media.store import MediaStore

logger = logging.getLogger("gemini_mcp.media_input")


class MediaSource(Protocol):
    """What loading media needs from the tool call it serves (framework's `Call` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def media(self) -> MediaStore: ...

    async def client_root_uris(self) -> list[str] | None:
        """The root URIs the client declares, or None when it declares none or cannot answer."""
        ...


YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"}
MAX_REDIRECTS = 5


# What a media item is, in the words of the tool fields that take a list of them: the item's fields carry no
# description (an agent pays for each byte, in every tool, on every turn), the list's field says it once. In
# full: `path` is absolute or relative to the first allowed folder / MCP root; a `url` is downloaded by this
# server, a YouTube URL is passed to Gemini as is; `file_uri` is a Gemini Files API URI or the
# gemini://media/<id> URI of media this server generated; `mime_type` is detected from the bytes, needed only
# for a file_uri whose type is unknown.
MEDIA_ITEM_DESCRIPTION = (
    "each one of path, url (or YouTube), data (base64), file_uri (Files API or gemini://media/<id>); "
    "mime_type optional."
)


class MediaInput(BaseModel):
    # One piece of media: exactly one of `path`, `url`, `data` or `file_uri`, and an optional `mime_type`. (No
    # docstring: it would be the item's description in every schema; see MEDIA_ITEM_DESCRIPTION.)
    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    url: str | None = None
    data: str | None = None
    file_uri: str | None = None
    mime_type: str | None = None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # Published as a bare object: every field that takes media names the keys in its description
        # (MEDIA_ITEM_DESCRIPTION), so spelling out five properties again in each of ~17 places would only cost the
        # agent context on every turn. Validation is the model's, with errors naming the field.
        return {"type": "object"}

    @model_validator(mode="after")
    def _exactly_one_source(self) -> MediaInput:
        given = [name for name in ("path", "url", "data", "file_uri") if getattr(self, name) not in (None, "")]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of path, url, data or file_uri (got: {found})")
        return self

    @property
    def source(self) -> str:
        """A short, safe description for messages (never the base64 payload)."""
        if self.path:
            return f"path {self.path}"
        if self.url:
            return f"url {self.url}"
        if self.file_uri:
            return f"file {self.file_uri}"
        return f"base64 data ({len(self.data or '')} characters)"


@dataclass(frozen=True)
class LoadedMedia:
    """Media bytes with their detected MIME type (or a remote reference Gemini reads itself, or a local file
    too large to hold in memory, which uploads stream from disk)."""

    mime_type: str
    data: bytes | None = None  # None for remote references (file_uri, YouTube) and for `file`
    uri: str | None = None  # Files API URI or YouTube URL, when Gemini should fetch it
    name: str = "media"  # a file name for display and uploads
    source: str = ""
    file: LocalFile | None = None  # only when the caller of load_media asked for streaming (`stream_above`)

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return self.file.size if self.file is not None else 0

    @property
    def kind(self) -> str:
        """image | audio | video | document | text."""
        family = self.mime_type.split("/")[0]
        if family in ("image", "audio", "video", "text"):
            return family
        return "document"


# MIME detection -------------------------------------------------------------------------------------------
SUPPORTED_MIME_TYPES = {
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
    "audio/wav",
    "audio/mpeg",
    "audio/mp3",
    "audio/aiff",
    "audio/aac",
    "audio/ogg",
    "audio/flac",
    "audio/mp4",
    "video/mp4",
    "video/mpeg",
    "video/quicktime",
    "video/x-msvideo",
    "video/x-flv",
    "video/webm",
    "video/x-ms-wmv",
    "video/3gpp",
    "text/plain",
    "text/html",
    "text/css",
    "text/csv",
    "text/xml",
    "text/markdown",
    "text/rtf",
    "text/javascript",
    "text/x-python",
    "application/json",
}
_TEXT_BY_SUFFIX = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".xml": "text/xml",
    ".json": "application/json",
    ".js": "text/javascript",
    ".py": "text/x-python",
    ".rtf": "text/rtf",
}


def sniff_mime(data: bytes, name: str = "") -> str | None:
    """The MIME type the bytes really are, from their signature; None when unrecognised."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"GIF87a") or head.startswith(b"GIF89a"):
        return "image/gif"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] in (0xFB, 0xF3, 0xF2)):
        return "audio/mpeg"
    if len(head) > 1 and head[0] == 0xFF and head[1] in (0xF1, 0xF9):
        return "audio/aac"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"FLV"):
        return "video/x-flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "video/x-ms-wmv"
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return "video/mpeg"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"mif1", b"msf1"):
            return "image/heif"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    if _looks_like_text(data):
        suffix = Path(name).suffix.lower()
        if suffix in _TEXT_BY_SUFFIX:
            return _TEXT_BY_SUFFIX[suffix]
        stripped = data[:256].lstrip().lower()
        if stripped.startswith((b"<!doctype html", b"<html")):
            return "text/html"
        return "text/plain"
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        return exc.start >= len(sample) - 3
    return True


PCM_SUFFIX = ".pcm"
PCM_DEFAULT_MIME = "audio/pcm;rate=16000"  # a bare .pcm file: the rate Live audio input is recorded at


def _raw_pcm(size: int, name: str, declared: str | None, detected: str | None) -> str | None:
    """Headerless PCM has no signature to sniff: it is taken on the caller's word (`audio/pcm;rate=N`,
    `audio/L16;rate=N`, or a `.pcm` file), with the declared parameters kept, unless the bytes say they are
    something else (a WAV or MP3 sent as PCM is read as what it is)."""
    pcm_named = Path(name).suffix.lower() == PCM_SUFFIX
    if detected not in (None, "text/plain") or not (is_raw_pcm(declared) or pcm_named):
        return None
    if size % 2:
        return None  # not 16-bit samples: let the usual refusal say what the bytes are not
    return declared.strip() if declared and is_raw_pcm(declared) else PCM_DEFAULT_MIME


def detect_mime(
    data: bytes, *, field: str, name: str = "", declared: str | None = None, size: int | None = None
) -> str:
    """The content's MIME type, checked against what Gemini accepts; raises UserInputError naming `field`.

    `data` may be only the head of the content (SNIFF_BYTES are enough) when `size` gives the whole size."""
    detected = sniff_mime(data, name)
    raw_pcm = _raw_pcm(len(data) if size is None else size, name, declared, detected)
    if raw_pcm is not None:
        return raw_pcm
    if detected is None:
        hint = declared or mimetypes.guess_type(name)[0] or "unknown"
        raise UserInputError(
            f"{field}: cannot recognise this media (declared/guessed type: {hint}). Gemini accepts images "
            "(PNG, JPEG, WEBP, HEIC), PDF, audio (WAV, MP3, AAC, OGG, FLAC, AIFF), video (MP4, MOV, WEBM, "
            "MPEG, AVI, FLV, WMV, 3GP) and text; convert the file to one of these"
        )
    if detected not in SUPPORTED_MIME_TYPES:
        raise UserInputError(
            f"{field}: {detected} is not a type Gemini accepts; convert it (e.g. to PNG or JPEG for images)"
        )
    if declared and declared.split(";")[0].strip().lower() != detected:
        logger.info("%s: declared %s but the content is %s; using %s", field, declared, detected, detected)
    return detected


# Loading ---------------------------------------------------------------------------------------------------
async def load_media(
    item: MediaInput, call: MediaSource, *, field: str = "media", stream_above: int | None = None
) -> LoadedMedia:
    """Bytes and MIME type of `item` (or a remote reference for file URIs and YouTube URLs).

    `field` is the argument path used in error messages, e.g. "media[1]" or "image". A caller that can send a
    file from disk (a Files API upload) sets `stream_above` (bytes): a local file larger than that comes back
    as `file` with no `data`, its type detected from its first SNIFF_BYTES, so it is never held in memory.
    """
    if item.path:
        return await _load_path(item, call, field, stream_above)
    if item.url:
        if is_youtube(item.url):
            return LoadedMedia(mime_type="", uri=item.url, name="youtube", source=item.source)
        return await _load_url(item, call, field)
    if item.data:
        return await _load_base64(item, call, field)
    if (item.file_uri or "").startswith(GENERATED_PREFIX):
        return await _load_generated(item, call, field)
    return _remote_file(item, field)


GENERATED_PREFIX = "gemini://media/"


async def _load_generated(item: MediaInput, call: MediaSource, field: str) -> LoadedMedia:
    """Media this server generated earlier (its resource URI), so agents chain generate → edit without bytes."""
    uri = item.file_uri or ""
    media_id = call.media.id_from_uri(uri) or ""
    try:
        found = await call.media.read(media_id)
    except OSError:  # removed by retention (or another replica) between lookup and read
        found = None
    if found is None:
        raise UserInputError(
            f"{field}.file_uri: {uri} is not (or no longer) in this server's media store; media are kept for "
            "GEMINI_MCP_OUTPUT_MAX_AGE_HOURS. Generate it again or pass the file by path"
        )
    data, _ = found
    path = await anyio.to_thread.run_sync(call.media.path_of, media_id)
    name = path.name if path else media_id
    mime = detect_mime(data, field=f"{field}.file_uri", name=name, declared=item.mime_type)
    return LoadedMedia(mime_type=mime, data=data, name=name, source=item.source)


def is_youtube(url: str) -> bool:
    try:
        return (urlparse(url).hostname or "").lower() in YOUTUBE_HOSTS
    except ValueError:  # e.g. "http://[::1": not YouTube; the download reports what is wrong with it
        return False


def _limit(call: MediaSource) -> int:
    return int(call.settings.media_max_mb * 1024 * 1024)


async def _load_base64(item: MediaInput, call: MediaSource, field: str) -> LoadedMedia:
    text = (item.data or "").strip()
    if text.startswith("data:") and "," in text:  # accept data: URLs too
        header, text = text.split(",", 1)
        declared = header[5:].split(";")[0] or item.mime_type
    else:
        declared = item.mime_type
    if len(text) * 3 // 4 > _limit(call):
        raise UserInputError(f"{field}.data: larger than the {call.settings.media_max_mb:g} MB limit")
    try:
        data = await off_loop(b64decode, text, size=len(text))
    except (binascii.Error, ValueError) as exc:
        raise UserInputError(f"{field}.data: is not valid base64 ({exc}); send the bytes base64-encoded") from exc
    if not data:
        raise UserInputError(f"{field}.data: is empty")
    mime = detect_mime(data, field=f"{field}.data", declared=declared)
    return LoadedMedia(mime_type=mime, data=data, name=_default_name(mime), source=item.source)


def _remote_file(item: MediaInput, field: str) -> LoadedMedia:
    uri = (item.file_uri or "").strip()
    if uri.startswith("files/"):
        name = uri
    elif "/files/" in uri and uri.startswith("https://"):
        name = "files/" + uri.rsplit("/files/", 1)[1]
    elif uri.startswith("gs://") or is_youtube(uri):
        name = uri
    else:
        raise UserInputError(
            f"{field}.file_uri: '{uri}' is not a Gemini file URI; give the `uri` of an uploaded file "
            "(https://generativelanguage.googleapis.com/.../files/ID), 'files/ID', a gs:// URI (Vertex) or a "
            "YouTube URL"
        )
    return LoadedMedia(mime_type=item.mime_type or "", uri=uri, name=name, source=item.source)


async def allowed_roots(call: MediaSource) -> list[Path]:
    """The folders local paths may come from: the configured ones, narrowed by the client's roots if any."""
    return (await _folders(call)).allowed


@dataclass(frozen=True)
class _Folders:
    allowed: list[Path]  # the configured folders, narrowed by the client's roots
    configured: list[Path]
    roots: list[Path] | None  # the client's file roots, when they applied


def client_roots_apply(settings: Settings) -> bool:
    """Over HTTP the caller is remote: its roots describe its own machine, not a choice about this one."""
    return settings.transport != "http" or settings.http_client_roots


def narrow_to_roots(configured: list[Path], roots: list[Path]) -> list[Path]:
    """Configured folders are the ceiling: a root inside one narrows to the root, a root that contains one
    leaves that folder, a root outside all of them adds nothing."""
    allowed: list[Path] = []
    for root in roots:
        for folder in configured:
            if root.is_relative_to(folder):
                chosen = root
            elif folder.is_relative_to(root):
                chosen = folder
            else:
                continue
            if chosen not in allowed:
                allowed.append(chosen)
    return allowed


async def _folders(call: MediaSource) -> _Folders:
    configured_dirs = call.settings.allowed_dirs or (Path.cwd(),)
    configured = await anyio.to_thread.run_sync(_real_paths, [str(d) for d in configured_dirs])
    roots = await _client_roots(call) if client_roots_apply(call.settings) else None
    if not roots:
        return _Folders(allowed=configured, configured=configured, roots=None)
    return _Folders(allowed=narrow_to_roots(configured, roots), configured=configured, roots=roots)


def _real_paths(paths: list[str]) -> list[Path]:
    return [Path(os.path.realpath(os.path.expanduser(p))) for p in paths]


async def _client_roots(call: MediaSource) -> list[Path] | None:
    """The client's file:// roots as real paths; None when it declares none or cannot answer."""
    uris = await call.client_root_uris()
    if uris is None:
        return None
    paths: list[str] = []
    for uri in uris:
        try:
            parsed = urlparse(uri)
        except ValueError:
            continue
        if parsed.scheme == "file" and parsed.path and "\x00" not in (path := unquote(parsed.path)):
            paths.append(path)
    if not paths:
        return None
    return await anyio.to_thread.run_sync(_real_paths, paths)


def _shown(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def _check_raw_path(raw: str, field: str) -> None:
    if not raw.strip():
        raise UserInputError(f"{field}.path: is empty; give the path of a file")
    if "\x00" in raw:
        raise UserInputError(f"{field}.path: contains a NUL character; give the file's path as plain text")
    if len(raw) > 4096 or any(len(os.fsencode(part)) > 255 for part in raw.split("/")):
        raise UserInputError(
            f"{field}.path: is too long for a file path ({len(raw)} characters; at most 4096, and 255 per "
            "folder or file name); give the real path of the file"
        )


async def resolve_local_path(raw: str, call: MediaSource, *, field: str) -> Path:
    """The real path of `raw`, refused unless it lies inside an allowed folder (symlinks resolved)."""
    return (await _resolve(raw, call, field))[0]


async def _resolve(raw: str, call: MediaSource, field: str) -> tuple[Path, list[Path]]:
    _check_raw_path(raw, field)
    folders = await _folders(call)
    if not folders.allowed:
        assert folders.roots is not None
        raise UserInputError(
            f"{field}.path: the client's MCP roots ({_shown(folders.roots)}) lie outside every folder this server "
            f"may read ({_shown(folders.configured)}), so no local path can be read. Open a folder inside one of "
            "those in the client, ask the operator to add yours to GEMINI_MCP_ALLOWED_DIRS, or pass the media as "
            "data or url"
        )
    base = folders.allowed[0]

    def real_path() -> Path:
        candidate = Path(raw).expanduser()
        return Path(os.path.realpath(candidate if candidate.is_absolute() else base / candidate))

    try:
        real = await anyio.to_thread.run_sync(real_path)
    except (OSError, ValueError, RuntimeError) as exc:  # e.g. ~user of an unknown user, a symlink loop
        raise UserInputError(f"{field}.path: '{raw}' cannot be resolved ({exc}); give the file's real path") from exc
    if not _inside(real, folders.allowed):
        narrowed = (
            f" (the configured folders {_shown(folders.configured)}, narrowed by the client's roots)"
            if folders.roots is not None
            else ""
        )
        raise UserInputError(
            f"{field}.path: '{raw}' is outside the folders this server may read ({_shown(folders.allowed)})"
            f"{narrowed}. Move the file into one of them, or have the operator add its folder to "
            "GEMINI_MCP_ALLOWED_DIRS"
        )
    return real, folders.allowed


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


SNIFF_BYTES = 64 * 1024  # what type detection reads of a file that is streamed (it looks at 4 KiB at most)


@dataclass(frozen=True)
class LocalFile:
    """A checked local file that is sent from disk, not held in memory: `opened` re-opens it with the same checks."""

    path: Path
    raw: str  # as the caller wrote it, for messages
    allowed: tuple[Path, ...]
    field: str
    limit_mb: float
    size: int
    identity: tuple[int, int, int]  # (st_dev, st_ino, st_mtime_ns) when it was checked: the same file, unchanged

    @asynccontextmanager
    async def opened(self) -> AsyncIterator[str | io.BufferedReader]:
        """What an upload reads from, open for the block: on Linux the path of the open descriptor
        (/proc/self/fd/N names the file that was checked even if its name was swapped since, and lets the SDK
        read it in worker threads), elsewhere the open file itself."""
        handle, by_descriptor = await anyio.to_thread.run_sync(self._reopen)
        try:
            yield by_descriptor or handle
        finally:
            handle.close()

    def _reopen(self) -> tuple[io.BufferedReader, str | None]:
        handle, status = _open_confined(self.path, self.raw, list(self.allowed), self.limit_mb, self.field)
        if (status.st_dev, status.st_ino, status.st_mtime_ns) != self.identity or status.st_size != self.size:
            handle.close()
            raise UserInputError(
                f"{self.field}.path: '{self.raw}' changed while it was being sent (replaced or resized); try again "
                "once it is complete"
            )
        by_descriptor = f"/proc/self/fd/{handle.fileno()}"
        return handle, by_descriptor if os.path.exists(by_descriptor) else None


async def _load_path(item: MediaInput, call: MediaSource, field: str, stream_above: int | None) -> LoadedMedia:
    raw = item.path or ""
    path, allowed = await _resolve(raw, call, field)
    limit_mb = call.settings.media_max_mb
    data, status, whole = await anyio.to_thread.run_sync(
        _read_confined, path, raw, allowed, limit_mb, field, stream_above
    )
    mime = detect_mime(data, field=f"{field}.path", name=path.name, declared=item.mime_type, size=status.st_size)
    if whole:
        return LoadedMedia(mime_type=mime, data=data, name=path.name, source=item.source)
    local = LocalFile(
        path=path,
        raw=raw,
        allowed=tuple(allowed),
        field=field,
        limit_mb=limit_mb,
        size=status.st_size,
        identity=(status.st_dev, status.st_ino, status.st_mtime_ns),
    )
    return LoadedMedia(mime_type=mime, name=path.name, source=item.source, file=local)


def _read_confined(
    path: Path, raw: str, allowed: list[Path], limit_mb: float, field: str, stream_above: int | None = None
) -> tuple[bytes, os.stat_result, bool]:
    """The file's bytes, or only its first SNIFF_BYTES when it is larger than `stream_above`; with its status
    and whether the bytes are the whole file."""
    limit = int(limit_mb * 1024 * 1024)
    handle, status = _open_confined(path, raw, allowed, limit_mb, field)
    whole = stream_above is None or status.st_size <= stream_above
    with handle:
        try:
            data = handle.read(limit + 1 if whole else SNIFF_BYTES)
        except OSError as exc:
            raise UserInputError(f"{field}.path: '{raw}' cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:  # grew since fstat
        raise UserInputError(f"{field}.path: '{raw}' is above the {limit_mb:g} MB limit (GEMINI_MCP_MEDIA_MAX_MB)")
    if not data:
        raise UserInputError(f"{field}.path: '{raw}' is empty")
    return data, status, whole


def _open_confined(
    path: Path, raw: str, allowed: list[Path], limit_mb: float, field: str
) -> tuple[io.BufferedReader, os.stat_result]:
    """Open a regular file without following a symlink swapped in since the check, nor blocking on a FIFO."""
    limit = int(limit_mb * 1024 * 1024)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise UserInputError(
            f"{field}.path: '{raw}' does not exist; check the path (relative paths start at {allowed[0]})"
        ) from exc
    except IsADirectoryError as exc:
        raise _a_folder(field, raw) from exc
    except PermissionError as exc:
        raise UserInputError(
            f"{field}.path: '{raw}' cannot be read (permission denied); make it readable by the user the server "
            "runs as, or pass the media as data"
        ) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the checked file became a symlink since
            raise _changed(field, raw) from exc
        raise UserInputError(f"{field}.path: '{raw}' cannot be opened ({exc.strerror or exc}); check the path") from exc
    try:
        status = os.fstat(fd)
        if stat.S_ISDIR(status.st_mode):
            raise _a_folder(field, raw)
        if not stat.S_ISREG(status.st_mode):
            raise UserInputError(f"{field}.path: '{raw}' is not a regular file (a device, pipe or socket); give a file")
        opened = _opened_path(fd)
        if opened is not None and not _inside(opened, allowed):
            raise _changed(field, raw)
        if status.st_size > limit:
            raise UserInputError(
                f"{field}.path: '{raw}' is {status.st_size / 1e6:.1f} MB, above the "
                f"{limit_mb:g} MB limit (GEMINI_MCP_MEDIA_MAX_MB)"
            )
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return handle, status


def _changed(field: str, raw: str) -> UserInputError:
    return UserInputError(f"{field}.path: '{raw}' was replaced (by a link) while it was being opened; try again")


def _a_folder(field: str, raw: str) -> UserInputError:
    return UserInputError(f"{field}.path: '{raw}' is a folder, not a file; give the path of a file inside it")


def _opened_path(fd: int) -> Path | None:
    """Where an open file really is (Linux): a folder swapped for a symlink after the check shows here."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


async def _load_url(item: MediaInput, call: MediaSource, field: str) -> LoadedMedia:
    url = item.url or ""
    allow = _any_address if call.settings.allow_private_urls else is_public_address
    try:
        fetched = await fetch_url(
            url,
            max_bytes=int(call.settings.url_max_mb * 1024 * 1024),
            timeout_s=call.settings.url_timeout_s,
            max_redirects=MAX_REDIRECTS,
            allow=allow,
        )
    except AddressRefused as exc:
        raise UserInputError(
            f"{field}.url: {exc}; such URLs are refused to protect the server's network. Download the file and "
            "pass it as a path, or set GEMINI_MCP_ALLOW_PRIVATE_URLS=true if you trust every caller"
        ) from exc
    except TooLarge as exc:
        raise _too_big(field, call) from exc
    except FetchTimeout as exc:
        raise UserInputError(f"{field}.url: {exc} (GEMINI_MCP_URL_TIMEOUT); try again or pass a path") from exc
    except FetchError as exc:
        raise UserInputError(f"{field}.url: {exc}") from exc
    if not fetched.data:
        raise UserInputError(f"{field}.url: the download is empty")
    name = Path(unquote(urlparse(fetched.url).path)).name or "download"
    mime = detect_mime(fetched.data, field=f"{field}.url", name=name, declared=fetched.content_type or item.mime_type)
    return LoadedMedia(mime_type=mime, data=fetched.data, name=name, source=item.source)


def _any_address(_: object) -> bool:
    return True


def _too_big(field: str, call: MediaSource) -> UserInputError:
    return UserInputError(
        f"{field}.url: the download exceeds {call.settings.url_max_mb:g} MB (GEMINI_MCP_URL_MAX_MB); download it "
        "yourself and pass a path"
    )


def _default_name(mime: str) -> str:
    extension = mimetypes.guess_extension(mime) or ".bin"
    return f"media{extension}"


def media_summary(media: LoadedMedia) -> dict[str, Any]:
    """A small, safe description of loaded media for structured output."""
    return {"mime_type": media.mime_type, "size_bytes": media.size, "source": media.source}
