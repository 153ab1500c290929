"""Media an agent hands to a tool: a local path, an http(s) URL, base64 data, or a Gemini file URI.

One vocabulary for every tool that takes media (understanding, image editing, Veo frames, Live audio):
`MediaInput` is the schema an agent fills in, `load_media` turns it into bytes with a MIME type detected
from the content. Safety rules live here once:

- local paths are confined to the client's MCP roots, else to `GEMINI_MCP_ALLOWED_DIRS` (default: the
  working directory); `..`, symlinks and absolute paths that leave them are refused;
- URLs must be http(s), are fetched with a size cap and a timeout, and may not point at loopback, private
  or link-local addresses (each redirect hop is checked again) unless `GEMINI_MCP_ALLOW_PRIVATE_URLS`;
- the MIME type comes from the bytes, not from the file name or what the caller claims.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import mimetypes
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urljoin, urlparse

import anyio
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gemini_mcp.gemini.errors import UserInputError

if TYPE_CHECKING:
    from gemini_mcp.server.toolkit import Call

logger = logging.getLogger("gemini_mcp.media_input")

YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"}
MAX_REDIRECTS = 5


class MediaInput(BaseModel):
    """One piece of media. Give exactly one of `path`, `url`, `data` or `file_uri`."""

    model_config = ConfigDict(extra="forbid")

    path: Annotated[
        str | None,
        Field(description="Local file path (absolute, or relative to the first allowed folder / MCP root)."),
    ] = None
    url: Annotated[
        str | None,
        Field(description="An http(s) URL the server downloads, or a YouTube video URL (passed to Gemini as is)."),
    ] = None
    data: Annotated[str | None, Field(description="Base64-encoded bytes of the media (give mime_type too).")] = None
    file_uri: Annotated[
        str | None,
        Field(
            description="URI of a file uploaded to the Gemini Files API, or the gemini://media/<id> URI of media "
            "this server generated (to edit or reuse it)."
        ),
    ] = None
    mime_type: Annotated[
        str | None,
        Field(
            description="MIME type, e.g. image/png, application/pdf, audio/wav, video/mp4. Optional: detected "
            "from the content; required only with file_uri when it cannot be looked up."
        ),
    ] = None

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
    """Media bytes with their detected MIME type (or a remote reference Gemini reads itself)."""

    mime_type: str
    data: bytes | None = None  # None for remote references (file_uri, YouTube)
    uri: str | None = None  # Files API URI or YouTube URL, when Gemini should fetch it
    name: str = "media"  # a file name for display and uploads
    source: str = ""

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

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


def detect_mime(data: bytes, *, field: str, name: str = "", declared: str | None = None) -> str:
    """The content's MIME type, checked against what Gemini accepts; raises UserInputError naming `field`."""
    detected = sniff_mime(data, name)
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
async def load_media(item: MediaInput, call: Call, *, field: str = "media") -> LoadedMedia:
    """Bytes and MIME type of `item` (or a remote reference for file URIs and YouTube URLs).

    `field` is the argument path used in error messages, e.g. "media[1]" or "image".
    """
    if item.path:
        return await _load_path(item, call, field)
    if item.url:
        if is_youtube(item.url):
            return LoadedMedia(mime_type="", uri=item.url, name="youtube", source=item.source)
        return await _load_url(item, call, field)
    if item.data:
        return _load_base64(item, call, field)
    if (item.file_uri or "").startswith(GENERATED_PREFIX):
        return await _load_generated(item, call, field)
    return _remote_file(item, field)


GENERATED_PREFIX = "gemini://media/"


async def _load_generated(item: MediaInput, call: Call, field: str) -> LoadedMedia:
    """Media this server generated earlier (its resource URI), so agents chain generate → edit without bytes."""
    uri = item.file_uri or ""
    media_id = call.media.id_from_uri(uri) or ""
    found = await call.media.read(media_id)
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
    return (urlparse(url).hostname or "").lower() in YOUTUBE_HOSTS


def _limit(call: Call) -> int:
    return int(call.settings.media_max_mb * 1024 * 1024)


def _load_base64(item: MediaInput, call: Call, field: str) -> LoadedMedia:
    text = (item.data or "").strip()
    if text.startswith("data:") and "," in text:  # accept data: URLs too
        header, text = text.split(",", 1)
        declared = header[5:].split(";")[0] or item.mime_type
    else:
        declared = item.mime_type
    if len(text) * 3 // 4 > _limit(call):
        raise UserInputError(f"{field}.data: larger than the {call.settings.media_max_mb:g} MB limit")
    try:
        data = base64.b64decode(text, validate=True)
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


async def allowed_roots(call: Call) -> list[Path]:
    """The folders local paths may come from: the client's MCP roots, else the configured folders."""
    roots = await _client_roots(call)
    if roots:
        return roots
    configured = call.settings.allowed_dirs or (Path.cwd(),)
    return await anyio.to_thread.run_sync(_real_paths, [str(d) for d in configured])


def _real_paths(paths: list[str]) -> list[Path]:
    return [Path(os.path.realpath(os.path.expanduser(p))) for p in paths]


async def _client_roots(call: Call) -> list[Path]:
    ctx = call.mcp
    if ctx is None:
        return []
    try:
        capabilities = ctx.client_capabilities
        if capabilities is None or capabilities.roots is None:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in the 2026 protocol, still used by hosts
            with anyio.fail_after(5):
                result = await ctx.session.list_roots()
    except Exception as exc:  # a client that cannot answer roots falls back to the configured folders
        logger.debug("roots/list failed: %s", exc)
        return []
    paths = [unquote(urlparse(str(r.uri)).path) for r in result.roots if urlparse(str(r.uri)).scheme == "file"]
    return await anyio.to_thread.run_sync(_real_paths, paths)


async def resolve_local_path(raw: str, call: Call, *, field: str) -> Path:
    """The real path of `raw`, refused unless it lies inside an allowed root (symlinks resolved)."""
    roots = await allowed_roots(call)

    def real_path() -> Path:
        candidate = Path(raw).expanduser()
        return Path(os.path.realpath(candidate if candidate.is_absolute() else roots[0] / candidate))

    real = await anyio.to_thread.run_sync(real_path)
    if not any(real == root or real.is_relative_to(root) for root in roots):
        shown = ", ".join(str(r) for r in roots)
        raise UserInputError(
            f"{field}.path: '{raw}' is outside the folders this server may read ({shown}). Move the file into "
            "one of them, add its folder to the client's roots, or set GEMINI_MCP_ALLOWED_DIRS"
        )
    return real


async def _load_path(item: MediaInput, call: Call, field: str) -> LoadedMedia:
    path = await resolve_local_path(item.path or "", call, field=field)
    apath = anyio.Path(path)
    if not await apath.is_file():
        raise UserInputError(f"{field}.path: '{item.path}' does not exist or is not a file")
    size = (await apath.stat()).st_size
    if size > _limit(call):
        raise UserInputError(
            f"{field}.path: '{item.path}' is {size / 1e6:.1f} MB, above the {call.settings.media_max_mb:g} MB "
            "limit (GEMINI_MCP_MEDIA_MAX_MB)"
        )
    if size == 0:
        raise UserInputError(f"{field}.path: '{item.path}' is empty")
    data = await apath.read_bytes()
    mime = detect_mime(data, field=f"{field}.path", name=path.name, declared=item.mime_type)
    return LoadedMedia(mime_type=mime, data=data, name=path.name, source=item.source)


async def _check_public(url: str, call: Call, field: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise UserInputError(f"{field}.url: only http and https URLs are fetched (got '{parsed.scheme}:')")
    host = parsed.hostname
    if not host:
        raise UserInputError(f"{field}.url: '{url}' has no host")
    if call.settings.allow_private_urls:
        return
    try:
        infos = await anyio.getaddrinfo(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except OSError as exc:
        raise UserInputError(f"{field}.url: cannot resolve host '{host}' ({exc})") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise UserInputError(
                f"{field}.url: '{host}' resolves to a private or local address ({address}); such URLs are refused "
                "to protect the server's network. Download the file and pass it as a path, or set "
                "GEMINI_MCP_ALLOW_PRIVATE_URLS=true if you trust every caller"
            )


async def _load_url(item: MediaInput, call: Call, field: str) -> LoadedMedia:
    import httpx2

    url = item.url or ""
    limit = int(call.settings.url_max_mb * 1024 * 1024)
    try:
        with anyio.fail_after(call.settings.url_timeout_s):
            async with httpx2.AsyncClient(follow_redirects=False, timeout=call.settings.url_timeout_s) as http:
                for _ in range(MAX_REDIRECTS + 1):
                    await _check_public(url, call, field)
                    async with http.stream("GET", url) as response:
                        if response.is_redirect:
                            url = urljoin(url, response.headers.get("location", ""))
                            continue
                        if response.status_code >= 400:
                            raise UserInputError(f"{field}.url: the server answered HTTP {response.status_code}")
                        declared_size = int(response.headers.get("content-length") or 0)
                        if declared_size > limit:
                            raise _too_big(field, call)
                        chunks: list[bytes] = []
                        received = 0
                        async for chunk in response.aiter_bytes():
                            received += len(chunk)
                            if received > limit:
                                raise _too_big(field, call)
                            chunks.append(chunk)
                        data = b"".join(chunks)
                        declared = response.headers.get("content-type")
                        break
                else:
                    raise UserInputError(f"{field}.url: more than {MAX_REDIRECTS} redirects")
    except TimeoutError as exc:
        raise UserInputError(
            f"{field}.url: download took longer than {call.settings.url_timeout_s:g} s (GEMINI_MCP_URL_TIMEOUT)"
        ) from exc
    except httpx2.HTTPError as exc:
        raise UserInputError(f"{field}.url: download failed ({type(exc).__name__}: {exc})") from exc
    if not data:
        raise UserInputError(f"{field}.url: the download is empty")
    name = Path(urlparse(url).path).name or "download"
    mime = detect_mime(data, field=f"{field}.url", name=name, declared=declared or item.mime_type)
    return LoadedMedia(mime_type=mime, data=data, name=name, source=item.source)


def _too_big(field: str, call: Call) -> UserInputError:
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
