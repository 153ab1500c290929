"""Multimodal input and analyze_media: every input form, the upload path, and the refusals."""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, ListRootsResult, Root, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.wire import camel_keys as camel
from gemini_mcp.server.app import build_server
from tests import media_samples

pytestmark = pytest.mark.anyio


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def sent_parts(emulator: Emulator) -> list[dict[str, Any]]:
    [request] = [r for r in emulator.requests() if r["rpc"] == "generateContent"]
    return camel(request["body"]["contents"][-1]["parts"])


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "photo.png").write_bytes(media_samples.png())
    (folder / "report.pdf").write_bytes(media_samples.pdf())
    (folder / "voice.wav").write_bytes(media_samples.wav())
    (folder / "clip.mp4").write_bytes(media_samples.mp4())
    (folder / "lying.txt").write_bytes(media_samples.png())  # a PNG with a misleading name
    (folder / "binary.bin").write_bytes(bytes(range(256)) * 4)
    return folder


@pytest.fixture
def allowed_client(make_client: Callable[..., Client], media_dir: Path) -> Client:
    return make_client(GEMINI_MCP_ALLOWED_DIRS=str(media_dir))


@pytest.fixture
def web_server() -> Iterator[str]:
    """A loopback web server serving sample media (reached only with GEMINI_MCP_ALLOW_PRIVATE_URLS)."""
    files = {"/photo.png": media_samples.png(), "/big.bin": b"x" * (3 * 1024 * 1024), "/redirect": b""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/photo.png")
                self.end_headers()
                return
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The server under test stops reading once its size cap is passed.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("photo.png", "image/png"),
        ("report.pdf", "application/pdf"),
        ("voice.wav", "audio/wav"),
        ("clip.mp4", "video/mp4"),
    ],
)
async def test_analyze_media_from_a_path_sends_inline_data(
    allowed_client: Client, emulator: Emulator, media_dir: Path, name: str, mime: str
) -> None:
    async with allowed_client as client:
        result = await client.call_tool(
            "analyze_media", {"question": "What is this?", "media": [{"path": str(media_dir / name)}]}
        )
    assert not result.is_error, text_of(result)
    assert mime in text_of(result)  # the emulator says what it received
    parts = sent_parts(emulator)
    assert parts[0]["inlineData"]["mimeType"] == mime
    assert base64.urlsafe_b64decode(parts[0]["inlineData"]["data"]) == (media_dir / name).read_bytes()
    assert parts[-1] == {"text": "What is this?"}


async def test_mime_type_comes_from_the_content_not_the_name(
    allowed_client: Client, emulator: Emulator, media_dir: Path
) -> None:
    async with allowed_client as client:
        result = await client.call_tool(
            "analyze_media", {"question": "x", "media": [{"path": "lying.txt", "mime_type": "text/plain"}]}
        )
    assert not result.is_error, text_of(result)
    assert sent_parts(emulator)[0]["inlineData"]["mimeType"] == "image/png"


async def test_base64_and_data_url_inputs(client: Client, emulator: Emulator) -> None:
    data = base64.b64encode(media_samples.png()).decode()
    result = await client.call_tool(
        "generate_text",
        {
            "prompt": "Describe both",
            "media": [{"data": data, "mime_type": "image/png"}, {"data": f"data:image/png;base64,{data}"}],
        },
    )
    assert not result.is_error, text_of(result)
    parts = sent_parts(emulator)
    assert [p["inlineData"]["mimeType"] for p in parts[:2]] == ["image/png", "image/png"]


async def test_media_inside_contents_parts(allowed_client: Client, emulator: Emulator, media_dir: Path) -> None:
    async with allowed_client as client:
        result = await client.call_tool(
            "generate_text",
            {
                "contents": [
                    {"role": "user", "parts": [{"text": "Look:"}, {"path": str(media_dir / "photo.png")}]},
                    {"role": "model", "parts": [{"text": "A red square."}]},
                    {"role": "user", "parts": [{"text": "What colour was it?"}]},
                ]
            },
        )
    assert not result.is_error, text_of(result)
    [request] = [r for r in emulator.requests() if r["rpc"] == "generateContent"]
    assert camel(request["body"]["contents"][0]["parts"][1])["inlineData"]["mimeType"] == "image/png"


async def test_url_input_is_downloaded(make_client: Callable[..., Client], emulator: Emulator, web_server: str) -> None:
    async with make_client(GEMINI_MCP_ALLOW_PRIVATE_URLS="true") as client:
        result = await client.call_tool(
            "analyze_media", {"question": "x", "media": [{"url": f"{web_server}/redirect"}]}
        )
    assert not result.is_error, text_of(result)
    assert base64.urlsafe_b64decode(sent_parts(emulator)[0]["inlineData"]["data"]) == media_samples.png()


async def test_youtube_and_file_uris_are_passed_by_reference(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "analyze_media",
        {
            "question": "Summarise",
            "media": [
                {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
                {"file_uri": "https://www.youtube.com/watch?v=abc", "mime_type": "video/mp4"},
            ],
        },
    )
    assert not result.is_error, text_of(result)
    parts = sent_parts(emulator)
    assert parts[0]["fileData"]["fileUri"] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


async def test_large_media_goes_through_the_files_api(
    make_client: Callable[..., Client], emulator: Emulator, media_dir: Path
) -> None:
    big = media_dir / "big.wav"
    big.write_bytes(media_samples.wav(seconds=3.0))  # ~96 kB, above the 0.05 MB threshold below
    emulator.configure(file_processing_s=0.5)  # audio stays PROCESSING for a while, as on the real API
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(media_dir), GEMINI_MCP_UPLOAD_ABOVE_MB="0.05") as client:
        result = await client.call_tool("analyze_media", {"question": "Transcribe", "media": [{"path": "big.wav"}]})
    assert not result.is_error, text_of(result)
    rpcs = [(r["method"], r["path"]) for r in emulator.requests()]
    assert any(path.startswith("/upload/") for _, path in rpcs)
    assert sum(1 for method, path in rpcs if method == "GET" and "/files/" in path) >= 1  # polled until ACTIVE
    part = sent_parts(emulator)[0]
    assert part["fileData"]["mimeType"] == "audio/wav" and "/files/" in part["fileData"]["fileUri"]
    assert f"{big.stat().st_size} bytes" in text_of(result)
    assert any("uploaded" in note for note in result.structured_content["notes"])


async def test_client_roots_confine_paths(
    make_env: Callable[..., dict[str, str]], media_dir: Path, tmp_path: Path
) -> None:
    other = media_dir / "other"  # roots only narrow the configured folders (tests/test_media_safety.py)
    other.mkdir()
    (other / "photo.png").write_bytes(media_samples.png())

    async def roots(_: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=f"file://{other}")])

    server = build_server(Settings.from_env(make_env(GEMINI_MCP_ALLOWED_DIRS=str(media_dir))))
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        inside_root = await client.call_tool("analyze_media", {"question": "x", "media": [{"path": "photo.png"}]})
        configured_only = await client.call_tool(
            "analyze_media", {"question": "x", "media": [{"path": str(media_dir / "photo.png")}]}
        )
    assert not inside_root.is_error, text_of(inside_root)
    assert configured_only.is_error and "outside the folders" in text_of(configured_only)


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ({"path": "../outside.png"}, "outside the folders"),
        ({"path": "/etc/passwd"}, "outside the folders"),
        ({"path": "escape.png"}, "outside the folders"),
        ({"path": "missing.png"}, "does not exist"),
        ({"path": "binary.bin"}, "cannot recognise this media"),
        ({"data": "not base64!!"}, "not valid base64"),
        ({"url": "file:///etc/passwd"}, "only http and https"),
        ({"url": "http://127.0.0.1:1/x.png"}, "private or local address"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "private or local address"),
        ({"path": "photo.png", "url": "http://example.com/x"}, "exactly one of"),
        ({"file_uri": "ftp://nope"}, "not a Gemini file URI"),
    ],
)
async def test_refusals_name_the_field(
    allowed_client: Client, emulator: Emulator, media_dir: Path, tmp_path: Path, media: dict[str, Any], expected: str
) -> None:
    (tmp_path / "outside.png").write_bytes(media_samples.png())
    os.symlink(tmp_path / "outside.png", media_dir / "escape.png")
    async with allowed_client as client:
        result = await client.call_tool("analyze_media", {"question": "x", "media": [media]})
        assert result.is_error, text_of(result)
        assert expected in text_of(result)
        assert "media" in text_of(result)
        assert not (await client.call_tool("generate_text", {"prompt": "still serving"})).is_error
    assert not [
        r
        for r in emulator.requests()
        if r["rpc"] == "generateContent" and r["body"]["contents"][-1]["parts"][-1].get("text") == "x"
    ]


async def test_oversize_inputs_are_refused(
    make_client: Callable[..., Client], media_dir: Path, web_server: str
) -> None:
    async with make_client(
        GEMINI_MCP_ALLOWED_DIRS=str(media_dir),
        GEMINI_MCP_MEDIA_MAX_MB="0.001",
        GEMINI_MCP_URL_MAX_MB="1",
        GEMINI_MCP_ALLOW_PRIVATE_URLS="true",
    ) as client:
        too_big_file = await client.call_tool("analyze_media", {"question": "x", "media": [{"path": "voice.wav"}]})
        too_big_url = await client.call_tool(
            "analyze_media", {"question": "x", "media": [{"url": f"{web_server}/big.bin"}]}
        )
    assert too_big_file.is_error and "GEMINI_MCP_MEDIA_MAX_MB" in text_of(too_big_file)
    assert too_big_url.is_error and "GEMINI_MCP_URL_MAX_MB" in text_of(too_big_url)


async def test_count_tokens_counts_media(allowed_client: Client, media_dir: Path) -> None:
    async with allowed_client as client:
        plain = await client.call_tool("count_tokens", {"prompt": "hi"})
        with_image = await client.call_tool("count_tokens", {"prompt": "hi", "media": [{"path": "photo.png"}]})
    assert with_image.structured_content["total_tokens"] > plain.structured_content["total_tokens"]
