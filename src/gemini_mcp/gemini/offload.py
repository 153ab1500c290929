"""Large media inside JSON answers goes to disk while it streams in, instead of into memory several times.

Vertex AI returns a finished Veo video inline: base64 in the operation's JSON (`"bytesBase64Encoded": "…"`),
over 100 MB for a long clip. Parsed by the SDK, that body is held as raw bytes, text, a JSON string and the
decoded bytes at once. The transport instead passes such answers through `InlineMediaOffloader`: each
base64 value is decoded chunk by chunk into a file in the output folder, and the JSON the SDK sees carries
`"gcsUri": "gemini-mcp-offload://<file>"` in its place (the field the SDK maps to `Video.uri`). The video
tool then moves that file into the media store. An interaction's video block carries its base64 in `"data"`;
there the file is named in the block's `"uri"` (`offloader_for`). Leftovers are
`.offload-<token>.p<pid>-<host>-<run>.partial` files (named after their writer like the media store's), swept
at start-up once that process is gone.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import anyio

from gemini_mcp.media.store import lock_partial, partial_owner

OFFLOAD_SCHEME = "gemini-mcp-offload://"
KEY = b'"bytesBase64Encoded"'
OFFLOAD_ABOVE_BYTES = 4 * 1024 * 1024  # smaller answers are read whole, as before


def offloaded_path(folder: Path, uri: str) -> Path | None:
    """The file an offload URI names, if it is one of ours (a bare file name: no traversal)."""
    if not uri.startswith(OFFLOAD_SCHEME):
        return None
    name = uri[len(OFFLOAD_SCHEME) :]
    if "/" in name or "\\" in name or not name.startswith(".offload-"):
        return None
    return folder / name


class InlineMediaOffloader:
    """Feed the answer's bytes in order with `feed`, then `finish`; returns the JSON without the media."""

    def __init__(self, folder: Path, key: bytes = KEY, field: bytes = b"gcsUri") -> None:
        self.folder = folder
        self.key = key  # the JSON key whose string value is base64 media
        self.field = field  # the key that names the file in its place
        self.out = bytearray()
        self.buffer = b""
        self.state = "scan"  # scan → after_key → value → scan
        self.pending = b""  # base64 characters not yet a multiple of 4
        self.file: anyio.AsyncFile[bytes] | None = None
        self.files: list[Path] = []

    async def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while self.buffer:
            if self.state == "scan":
                found = self.buffer.find(self.key)
                if found < 0:
                    keep = len(self.key) - 1  # the key may be split across chunks
                    self.out += self.buffer[:-keep] if len(self.buffer) > keep else b""
                    self.buffer = self.buffer[-keep:] if len(self.buffer) > keep else self.buffer
                    return
                self.out += self.buffer[:found]
                self.buffer = self.buffer[found + len(self.key) :]
                self.state = "after_key"
            elif self.state == "after_key":
                stripped = self.buffer.lstrip(b" \t\r\n:")
                if not stripped:
                    self.buffer = b""
                    return
                if stripped[:1] != b'"':  # not a string after all: put the key back untouched
                    self.out += self.key + b":"
                    self.buffer = stripped
                    self.state = "scan"
                    continue
                self.buffer = stripped[1:]
                await self._open()
                self.state = "value"
            else:
                end = self.buffer.find(b'"')
                data, rest = (self.buffer, b"") if end < 0 else (self.buffer[:end], self.buffer[end + 1 :])
                if end < 0 and data.endswith(b"\\"):  # an escape split across chunks
                    data, rest = data[:-1], b"\\"
                await self._write(data.replace(b"\\/", b"/"))
                self.buffer = rest
                if end < 0:
                    return
                await self._close()
                self.state = "scan"

    async def finish(self) -> bytes:
        if self.state == "value" or self.file is not None:
            await self.discard()
            raise ValueError("the answer ended inside an inline media value")
        self.out += self.buffer
        self.buffer = b""
        return bytes(self.out)

    async def discard(self) -> None:
        """Remove every file written (the answer was broken or not wanted)."""
        if self.file is not None:
            await self.file.aclose()
            self.file = None
        for path in self.files:
            await anyio.Path(path).unlink(missing_ok=True)

    async def _open(self) -> None:
        await anyio.Path(self.folder).mkdir(parents=True, exist_ok=True)
        path = self.folder / f".offload-{secrets.token_hex(8)}.{partial_owner()}.partial"
        self.file = await anyio.open_file(path, "xb")
        lock_partial(self.file)
        self.files.append(path)
        self.pending = b""

    async def _write(self, characters: bytes) -> None:
        assert self.file is not None
        text = self.pending + characters
        whole = len(text) - len(text) % 4
        self.pending = text[whole:]
        if whole:
            await self.file.write(_decode(text[:whole]))

    async def _close(self) -> None:
        assert self.file is not None
        if self.pending:
            await self.file.write(_decode(self.pending + b"=" * (-len(self.pending) % 4)))
            self.pending = b""
        await self.file.aclose()
        self.file = None
        self.out += b'"' + self.field + b'": "' + (OFFLOAD_SCHEME + self.files[-1].name).encode() + b'"'


def offloader_for(folder: Path, interaction: bool) -> InlineMediaOffloader:
    """Veo operations carry media as `bytesBase64Encoded` (its file goes in `gcsUri`, the SDK's `Video.uri`);
    interactions as a content block's `data` (its file goes in the block's `uri`)."""
    if interaction:
        return InlineMediaOffloader(folder, key=b'"data"', field=b"uri")
    return InlineMediaOffloader(folder)


def _decode(text: bytes) -> bytes:
    # Google's JSON may use the URL-safe alphabet for bytes.
    return base64.b64decode(text.replace(b"-", b"+").replace(b"_", b"/"), validate=False)
