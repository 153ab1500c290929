"""Generated media, once for all tools: save to the output directory, serve as MCP resources, inline or link.

Files are named so that a person browsing the folder sees what and when (`20261125-041700-image-a-red-
fox-3f9a2c1d.png`), are written to a temporary name and renamed when whole (never a half-written file that
looks complete), and never overwrite one another. The id at the end of the name is the resource id
(`gemini://media/<id>`): the file system is the index, so any replica sharing the folder can serve it.

Temporary files are hidden and name their writer: `.<name>.p<pid>-<host>-<run>.partial` (the offloader's
`.offload-<token>.p<pid>-<host>-<run>.partial` too): its PID, a tag of the machine's host name, and a tag of
the process run. A process killed mid-write leaves one behind; at start-up, and whenever retention runs, a
partial whose writer is no longer running is removed whatever its age, while a live writer's file (another
replica's, say) is left alone; writers also hold a lock on the file, which settles it on this kernel. They
count towards the folder's size limit while they exist.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import secrets
import socket
import stat
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import anyio
import anyio.to_thread
from pydantic import BaseModel, Field

if sys.platform != "win32":
    import fcntl

logger = logging.getLogger("gemini_mcp.media")

MEDIA_URI_PREFIX = "gemini://media/"
OutputMode = Literal["inline", "link", "both"]

# Read by agents in every media tool's schema: short on purpose (the file is always saved either way).
OUTPUT_FIELD_DESCRIPTION = "Always saved and linked; both/inline: also inline if small."

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "audio/wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "application/json": ".json",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/x-subrip": ".srt",
}
_ID = re.compile(r"^[0-9a-f]{8,32}$")
_PARTIAL_OWNER = re.compile(r"\.p(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-(?P<run>[0-9a-f]{6})\.partial$")
# A live writer touches its file as the bytes arrive; one untouched for this long belongs to a process that
# died and whose PID was taken by another.
OWNED_PARTIAL_STALE_S = 24 * 3600.0
# This process among all that ever had its PID: in a container the server is PID 1 after every restart, so
# the PID alone would make a killed predecessor's leftovers look like our own.
_RUN = secrets.token_hex(3)


@functools.cache
def _host_tag() -> str:
    """The machine (or container) a PID is meaningful on: another one sharing the folder has its own PIDs."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def partial_owner(pid: int | None = None, run: str | None = None) -> str:
    """The `p<pid>-<host>-<run>` part of a temporary file's name (default: this process)."""
    return f"p{os.getpid() if pid is None else pid}-{_host_tag()}-{_RUN if run is None else run}"


def _pid_running(pid: int) -> bool:
    if os.name == "nt":  # signal 0 is CTRL_C_EVENT there: never probe that way
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process; anything else: cannot tell
        return True
    return True


def lock_partial(handle: anyio.AsyncFile[bytes]) -> None:
    """Hold a lock on a temporary file while writing it (released by the kernel when the writer dies).

    The name's PID cannot be judged across PID namespaces that share a host name (containers given the same
    hostname, one volume): the lock can, on this kernel.
    """
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):  # a file system without locks: the name still tells
        fcntl.flock(handle.wrapped.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _locked(path: Path) -> bool:
    if sys.platform == "win32":
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # and with it the lock just taken
    return False


def partial_is_stale(path: Path, mtime: float, now: float, older_than_s: float) -> bool:
    """Whether the temporary file `path` was left by a writer that is gone."""
    owner = _PARTIAL_OWNER.search(path.name)
    if owner is None or owner["host"] != _host_tag():
        # An older version's file, or another machine's: only its age can tell.
        stale = now - mtime > older_than_s
    elif int(owner["pid"]) == os.getpid():
        stale = owner["run"] != _RUN
    else:
        stale = not _pid_running(int(owner["pid"])) or now - mtime > OWNED_PARTIAL_STALE_S
    return stale and not _locked(path)


def extension_for(mime_type: str) -> str:
    return _EXTENSIONS.get(mime_type.split(";")[0].strip().lower(), ".bin")


def mime_for(path: Path) -> str:
    suffix = path.suffix.lower()
    for mime, ext in _EXTENSIONS.items():
        if ext == suffix:
            return mime
    return "application/octet-stream"


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "untitled"


class SavedMedia(BaseModel):
    """One saved file, as reported in structured content."""

    id: Annotated[str, Field(description="Media id; the resource URI is gemini://media/<id>.")]
    uri: Annotated[str, Field(description="MCP resource URI to read the bytes with resources/read.")]
    path: Annotated[str, Field(description="Absolute path of the saved file on the server's machine.")]
    mime_type: Annotated[str, Field(description="MIME type of the file.")]
    size_bytes: Annotated[int, Field(description="File size in bytes.")]
    name: Annotated[str, Field(description="File name.")]
    download_url: Annotated[
        str | None,
        Field(description="A signed, expiring link to the file (HTTP transport only; needs no auth header)."),
    ] = None


@dataclass(frozen=True)
class StoredMedia:
    """One saved file as the folder shows it, for listings."""

    id: str
    name: str
    mime_type: str
    size_bytes: int
    mtime_ns: int


@dataclass(frozen=True)
class RetentionPolicy:
    max_total_bytes: int = 2 * 1024**3
    max_age_s: float = 7 * 24 * 3600


class MediaStore:
    """The output directory, as a store of media items addressed by id."""

    def __init__(
        self,
        root: Path,
        *,
        inline_max_bytes: int = 1024 * 1024,
        retention: RetentionPolicy | None = None,
        link_for: Callable[[str], str] | None = None,
    ) -> None:
        self.root = root.expanduser()
        self.inline_max_bytes = inline_max_bytes
        self.retention = retention or RetentionPolicy()
        self.link_for = link_for  # media id → signed download URL, when serving HTTP
        self.on_saved: Callable[[SavedMedia], Awaitable[None]] | None = None  # e.g. announce the new file

    # --- writing -------------------------------------------------------------------------------------

    def _new_name(self, kind: str, mime_type: str, hint: str) -> tuple[str, str]:
        media_id = secrets.token_hex(4) + format(time.time_ns() % 0xFFFF, "04x")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return media_id, f"{stamp}-{_slug(kind, 12)}-{_slug(hint)}-{media_id}{extension_for(mime_type)}"

    async def save(self, data: bytes, *, mime_type: str, kind: str, hint: str = "") -> SavedMedia:
        """Write `data` as a new file (temp name, then rename) and apply the retention policy."""
        async with self.writer(mime_type=mime_type, kind=kind, hint=hint) as write:
            await write(data)
        assert write.saved is not None
        return write.saved

    async def adopt(self, path: Path, *, mime_type: str, kind: str, hint: str = "") -> SavedMedia:
        """Take over a complete file already in the output folder (streamed there by the transport)."""
        media_id, name = self._new_name(kind, mime_type, hint)
        final = self.root / name
        await anyio.to_thread.run_sync(os.replace, path, final)
        size = (await anyio.Path(final).stat()).st_size
        return await self._registered(media_id, final, mime_type, size)

    @asynccontextmanager
    async def writer(self, *, mime_type: str, kind: str, hint: str = "") -> AsyncIterator[_Writer]:
        """Stream a file in chunks (`await write(chunk)`); it appears under its final name only when whole.

        If the block raises or is cancelled, the partial file is removed.
        """
        await anyio.to_thread.run_sync(lambda: self.root.mkdir(parents=True, exist_ok=True))
        media_id, name = self._new_name(kind, mime_type, hint)
        final = self.root / name
        partial = self.root / f".{name}.{partial_owner()}.partial"
        handle = await anyio.open_file(partial, "xb")
        lock_partial(handle)
        writer = _Writer(handle)
        try:
            yield writer
            await handle.aclose()
            await anyio.to_thread.run_sync(os.replace, partial, final)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await handle.aclose()
                await anyio.to_thread.run_sync(lambda: partial.unlink(missing_ok=True))
            raise
        writer.saved = await self._registered(media_id, final, mime_type, writer.size)

    async def _registered(self, media_id: str, final: Path, mime_type: str, size: int) -> SavedMedia:
        """The item a complete file under its final name has become; the retention policy runs after it."""
        saved = SavedMedia(
            id=media_id,
            uri=MEDIA_URI_PREFIX + media_id,
            path=str(await anyio.Path(final).resolve()),
            mime_type=mime_type,
            size_bytes=size,
            name=final.name,
            download_url=self.link_for(media_id) if self.link_for else None,
        )
        await anyio.to_thread.run_sync(self._apply_retention, final)
        if self.on_saved is not None:
            await self.on_saved(saved)
        return saved

    def _apply_retention(self, keep: Path) -> None:
        now = time.time()
        entries = []
        in_progress = 0  # bytes of temporary files still being written: they take space too
        for path in self.root.iterdir():
            try:
                if not path.is_file():
                    continue
                stat = path.stat()
            except OSError:  # removed meanwhile (another replica, a finished rename)
                continue
            if path.name.startswith(".") and path.name.endswith(".partial"):
                if partial_is_stale(path, stat.st_mtime, now, self.retention.max_age_s):
                    path.unlink(missing_ok=True)
                else:
                    in_progress += stat.st_size
                continue
            if path.name.startswith("."):
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        entries.sort()  # oldest first
        total = in_progress + sum(size for _, size, _ in entries)
        for mtime, size, path in entries:
            too_old = now - mtime > self.retention.max_age_s
            if path != keep and (too_old or total > self.retention.max_total_bytes):
                path.unlink(missing_ok=True)
                total -= size

    def sweep_partials(self, older_than_s: float = 3600.0) -> int:
        """Remove temporary files left by a process that was killed mid-write; returns how many.

        A file that names its writer goes as soon as that process is gone; one that does not (or was written
        on another machine sharing the folder) only once it is older than `older_than_s`.
        """
        try:
            if not self.root.is_dir():
                return 0
        except OSError as exc:  # e.g. a GEMINI_MCP_OUTPUT_DIR name too long: the first save says so clearly
            logger.warning("cannot sweep GEMINI_MCP_OUTPUT_DIR %s: %s", self.root, exc.strerror or exc)
            return 0
        removed = 0
        now = time.time()
        for path in self.root.glob(".*.partial"):
            try:
                if partial_is_stale(path, path.stat().st_mtime, now, older_than_s):
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    # --- reading -------------------------------------------------------------------------------------

    def path_of(self, media_id: str) -> Path | None:
        """The file of `media_id`, or None when there is no such media (ids are validated: no traversal)."""
        if not _ID.match(media_id) or not self.root.is_dir():
            return None
        matches = [p for p in self.root.glob(f"*-{media_id}.*") if not p.name.startswith(".")]
        return matches[0] if matches else None

    def ids_newest_first(self) -> list[str]:
        """The ids of every saved item (not partial files), the most recent first."""
        if not self.root.is_dir():
            return []
        files = [p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(".")]
        files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [media_id for p in files if _ID.match(media_id := p.stem.rsplit("-", 1)[-1])]

    def listing(self) -> list[StoredMedia]:
        """Every saved item (not partial files), newest first; equal times by id, so the order is total."""
        if not self.root.is_dir():
            return []
        items = []
        for path in self.root.iterdir():
            media_id = path.stem.rsplit("-", 1)[-1]
            if path.name.startswith(".") or not _ID.match(media_id):
                continue
            try:
                info = path.stat()
            except OSError:  # removed meanwhile (retention, another replica)
                continue
            if stat.S_ISREG(info.st_mode):
                items.append(StoredMedia(media_id, path.name, mime_for(path), info.st_size, info.st_mtime_ns))
        items.sort(key=lambda item: (item.mtime_ns, item.id), reverse=True)
        return items

    def id_from_uri(self, uri: str) -> str | None:
        return uri[len(MEDIA_URI_PREFIX) :] if uri.startswith(MEDIA_URI_PREFIX) else None

    async def read(self, media_id: str) -> tuple[bytes, str] | None:
        path = await anyio.to_thread.run_sync(self.path_of, media_id)
        if path is None:
            return None
        return await anyio.Path(path).read_bytes(), mime_for(path)


class _Writer:
    def __init__(self, handle: anyio.AsyncFile[bytes]) -> None:
        self._handle = handle
        self.size = 0
        self.saved: SavedMedia | None = None

    async def __call__(self, chunk: bytes) -> None:
        await self._handle.write(chunk)
        self.size += len(chunk)
