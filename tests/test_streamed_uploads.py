"""Large local files reach the Files API streamed from disk: never held whole by the server, byte for byte at
the emulator; small files still travel inline, and URL and base64 inputs are unchanged."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.wire import camel_keys as camel
from gemini_mcp.errors import UserInputError
from gemini_mcp.media.inputs import SNIFF_BYTES, LoadedMedia, MediaInput, load_media
from gemini_mcp.media.store import MediaStore
from tests import media_samples

pytestmark = pytest.mark.anyio
MB = 1024 * 1024


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def big_file(path: Path, head: bytes, size: int) -> bytes:
    """A file of `size` bytes that starts with `head` (a format's signature) and is not all one byte."""
    data = head + os.urandom(size - len(head))
    path.write_bytes(data)
    return data


def generate_parts(emulator: Emulator) -> list[dict[str, Any]]:
    [request] = emulator.requests("generateContent")
    return camel(request["body"]["contents"][-1]["parts"])


def uploaded(emulator: Emulator) -> list[dict[str, Any]]:
    """The emulator's Files API entries, in upload order."""
    return list(emulator.state.files.values())


class Source:
    """What load_media needs from a tool call: the settings, the media store, and no client roots."""

    def __init__(self, folder: Path, tmp_path: Path) -> None:
        self.settings = Settings.from_env({"GEMINI_API_KEY": "k", "GEMINI_MCP_ALLOWED_DIRS": str(folder)})
        self.media = MediaStore(tmp_path / "store")

    async def client_root_uris(self) -> list[str] | None:
        return None


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    return allowed


async def test_a_30_mb_path_is_uploaded_whole_and_referenced(
    make_client: Callable[..., Client], emulator: Emulator, folder: Path
) -> None:
    data = big_file(folder / "scan.pdf", b"%PDF-1.7\n", 30 * MB)
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(folder)) as client:
        result = await client.call_tool("analyze_media", {"question": "Summarise", "media": [{"path": "scan.pdf"}]})
    assert not result.is_error, text_of(result)
    [file] = uploaded(emulator)
    assert hashlib.sha256(file["data"]).digest() == hashlib.sha256(data).digest()  # every byte, once, in order
    assert file["meta"]["mimeType"] == "application/pdf" and file["meta"]["displayName"] == "scan.pdf"
    [part] = [p for p in generate_parts(emulator) if "fileData" in p]
    assert part["fileData"]["fileUri"] == file["meta"]["uri"]
    assert "inlineData" not in str(generate_parts(emulator))
    chunks = [r for r in emulator.requests() if r["path"].startswith("/_upload/")]
    assert len(chunks) == 4  # the SDK's 8 MiB chunks: read from disk as they are sent
    assert any("uploaded 31.5 MB" in note for note in result.structured_content["notes"])


async def test_upload_file_streams_a_path_of_any_size(
    make_client: Callable[..., Client], emulator: Emulator, folder: Path
) -> None:
    data = big_file(folder / "frame.png", media_samples.png(), 3 * MB + 1)
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(folder)) as client:
        result = await client.call_tool("upload_file", {"media": {"path": "frame.png"}})
    assert not result.is_error, text_of(result)
    [file] = uploaded(emulator)
    assert file["data"] == data and file["meta"]["mimeType"] == "image/png"
    assert result.structured_content["file"]["size_bytes"] == len(data)


async def test_the_server_keeps_no_bytes_of_a_file_it_streams(folder: Path, tmp_path: Path) -> None:
    big_file(folder / "clip.mp4", media_samples.mp4(), 2 * MB)
    (folder / "small.png").write_bytes(media_samples.png())
    call = Source(folder, tmp_path)
    streamed = await load_media(MediaInput(path="clip.mp4"), call, field="media[0]", stream_above=1 * MB)
    assert streamed.data is None and streamed.file is not None  # no bytes held: only where to read them
    assert streamed.mime_type == "video/mp4" and streamed.size == 2 * MB and streamed.name == "clip.mp4"
    async with streamed.file.opened() as source:
        reader = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115
        with reader:
            assert reader.read() == (folder / "clip.mp4").read_bytes()
    small = await load_media(MediaInput(path="small.png"), call, field="media[1]", stream_above=1 * MB)
    assert small.data == media_samples.png() and small.file is None and small.mime_type == "image/png"
    whole = await load_media(MediaInput(path="clip.mp4"), call, field="media[0]")  # no stream_above: as before
    assert whole.data is not None and whole.file is None and whole.size == 2 * MB


async def test_type_detection_of_a_streamed_file_reads_its_head(folder: Path, tmp_path: Path) -> None:
    call = Source(folder, tmp_path)
    cases: list[tuple[str, bytes, str]] = [
        ("photo.jpg.txt", b"\xff\xd8\xff\xe0".ljust(2 * MB, b"\x01"), "image/jpeg"),  # the bytes, not the name
        ("notes.md", b"# Notes\n" * (MB // 4), "text/markdown"),
        ("voice.wav", media_samples.wav()[:44].ljust(2 * MB, b"\x01"), "audio/wav"),
    ]
    for name, content, expected in cases:
        (folder / name).write_bytes(content)
        loaded = await load_media(MediaInput(path=name), call, field="media", stream_above=MB)
        assert (loaded.file is not None, loaded.mime_type) == (True, expected), name
    # Headerless PCM is told apart by its whole size (16-bit samples), not by the head's.
    (folder / "speech.pcm").write_bytes(b"\x00\x01" * MB)
    pcm = await load_media(MediaInput(path="speech.pcm"), call, field="audio", stream_above=MB)
    assert pcm.mime_type == "audio/pcm;rate=16000" and pcm.file is not None
    (folder / "odd.pcm").write_bytes(b"\x00\x01" * MB + b"\x03")
    with pytest.raises(UserInputError, match=r"audio\.path: cannot recognise"):
        await load_media(MediaInput(path="odd.pcm"), call, field="audio", stream_above=SNIFF_BYTES)
    (folder / "noise.bin").write_bytes(b"\x00\x01\x02\x03" * MB)
    with pytest.raises(UserInputError, match="cannot recognise this media"):
        await load_media(MediaInput(path="noise.bin"), call, field="media", stream_above=MB)


async def test_a_file_replaced_after_it_was_checked_is_not_sent(folder: Path, tmp_path: Path) -> None:
    target = folder / "scan.pdf"
    big_file(target, b"%PDF-1.7\n", 2 * MB)
    call = Source(folder, tmp_path)
    loaded: LoadedMedia = await load_media(MediaInput(path="scan.pdf"), call, field="media[0]", stream_above=MB)
    assert loaded.file is not None
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.7\n" + b"s" * (2 * MB - 9))
    os.link(target, tmp_path / "kept.pdf")  # the checked file lives on, so no new file can reuse its inode
    target.unlink()
    target.symlink_to(tmp_path / "secret.pdf")  # swapped for a link to a file outside the allowed folder
    with pytest.raises(UserInputError, match=r"media\[0\]\.path: 'scan\.pdf' was replaced"):
        async with loaded.file.opened():
            pass
    target.unlink()
    big_file(target, b"%PDF-1.7\n", 2 * MB)  # a different file under the same name
    with pytest.raises(UserInputError, match="changed while it was being sent"):
        async with loaded.file.opened():
            pass


async def test_small_paths_stay_inline_and_the_threshold_moves_the_line(
    make_client: Callable[..., Client], emulator: Emulator, folder: Path
) -> None:
    small = big_file(folder / "small.png", media_samples.png(), MB)
    large = big_file(folder / "large.png", media_samples.png(), 3 * MB)
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(folder), GEMINI_MCP_UPLOAD_ABOVE_MB="2") as client:
        result = await client.call_tool(
            "analyze_media", {"question": "Compare", "media": [{"path": "small.png"}, {"path": "large.png"}]}
        )
    assert not result.is_error, text_of(result)
    first, second = generate_parts(emulator)[:2]
    assert base64.urlsafe_b64decode(first["inlineData"]["data"]) == small
    [file] = uploaded(emulator)
    assert second["fileData"]["fileUri"] == file["meta"]["uri"] and file["data"] == large


async def test_base64_and_url_inputs_still_work(
    make_client: Callable[..., Client], emulator: Emulator, folder: Path
) -> None:
    import http.server
    import threading

    body = big_file(folder / "served.png", media_samples.png(), 2 * MB)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with make_client(GEMINI_MCP_ALLOW_PRIVATE_URLS="true", GEMINI_MCP_UPLOAD_ABOVE_MB="1") as client:
            result = await client.call_tool(
                "analyze_media",
                {
                    "question": "Compare",
                    "media": [
                        {"url": f"http://127.0.0.1:{server.server_port}/served.png"},
                        {"data": base64.b64encode(media_samples.png()).decode()},
                    ],
                },
            )
    finally:
        server.shutdown()
    assert not result.is_error, text_of(result)
    first, second = generate_parts(emulator)[:2]
    [file] = uploaded(emulator)  # the 2 MB download, above the 1 MB threshold: uploaded from memory
    assert first["fileData"]["fileUri"] == file["meta"]["uri"] and file["data"] == body
    assert base64.urlsafe_b64decode(second["inlineData"]["data"]) == media_samples.png()
