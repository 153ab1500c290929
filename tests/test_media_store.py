"""The shared media store: naming, atomic writes, retention, inline/link delivery, resource reads."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_types import AudioContent, ImageContent, ResourceLink

from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.delivery import media_content
from gemini_mcp.media.audio import pcm_format, pcm_to_wav
from gemini_mcp.media.store import MediaStore, RetentionPolicy
from gemini_mcp.server.app import build_server

pytestmark = pytest.mark.anyio

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def test_save_names_the_file_and_never_overwrites(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "out")
    first = await store.save(PNG, mime_type="image/png", kind="image", hint="A red fox, at dawn!")
    second = await store.save(PNG, mime_type="image/png", kind="image", hint="A red fox, at dawn!")
    assert first.id != second.id and first.path != second.path
    assert "-image-a-red-fox-at-dawn-" in first.name and first.name.endswith(".png")
    assert Path(first.path).read_bytes() == PNG
    assert first.uri == f"gemini://media/{first.id}" and first.size_bytes == len(PNG)
    assert await store.read(first.id) == (PNG, "image/png")


async def test_a_failed_stream_leaves_no_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    with pytest.raises(RuntimeError):
        async with store.writer(mime_type="video/mp4", kind="video", hint="x") as write:
            await write(b"partial bytes")
            raise RuntimeError("connection lost")
    assert list(tmp_path.iterdir()) == []


async def test_cancelled_stream_leaves_no_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    with anyio.CancelScope() as call:
        async with store.writer(mime_type="video/mp4", kind="video", hint="x") as write:
            await write(b"partial")
            assert [path.suffix for path in tmp_path.iterdir()] == [".partial"]
            call.cancel()  # as a cancelled tool call is, while the rest of the stream is awaited
            await anyio.sleep_forever()
    assert call.cancelled_caught
    assert list(tmp_path.iterdir()) == []


async def test_retention_removes_oldest_first(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, retention=RetentionPolicy(max_total_bytes=2 * len(PNG), max_age_s=3600))
    old = await store.save(PNG, mime_type="image/png", kind="image", hint="old")
    past = time.time() - 100
    os.utime(old.path, (past, past))
    middle = await store.save(PNG, mime_type="image/png", kind="image", hint="middle")
    newest = await store.save(PNG, mime_type="image/png", kind="image", hint="new")
    assert not Path(old.path).exists()
    assert Path(middle.path).exists() and Path(newest.path).exists()


async def test_ids_cannot_traverse(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    assert store.path_of("../../etc/passwd") is None
    assert store.path_of("*") is None


async def test_inline_link_and_both(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, inline_max_bytes=len(PNG))
    saved = await store.save(PNG, mime_type="image/png", kind="image", hint="x")
    both = media_content(store, saved, PNG, "both")
    assert [type(b) for b in both] == [ImageContent, ResourceLink]
    assert base64.b64decode(both[0].data) == PNG  # type: ignore[union-attr]
    link = both[1]
    assert isinstance(link, ResourceLink) and link.size == len(PNG) and link.mime_type == "image/png"
    assert [type(b) for b in media_content(store, saved, PNG, "link")] == [ResourceLink]
    assert [type(b) for b in media_content(store, saved, PNG, "inline")] == [ImageContent]
    big = PNG + b"\0" * 10
    assert [type(b) for b in media_content(store, saved, big, "both")] == [ResourceLink]  # too big to inline
    wav = pcm_to_wav(b"\0\0" * 10)
    audio = await store.save(wav, mime_type="audio/wav", kind="speech", hint="x")
    assert isinstance(media_content(MediaStore(tmp_path), audio, wav, "both")[0], AudioContent)


async def test_media_resources_are_read_with_their_own_mime_type(tmp_path: Path) -> None:
    server = build_server(Settings.from_env({"GEMINI_MCP_OUTPUT_DIR": str(tmp_path)}))
    saved = await server.services.media.save(PNG, mime_type="image/png", kind="image", hint="fox")
    async with Client(server) as client:
        result = await client.read_resource(saved.uri)
        templates = await client.list_resource_templates()
        with pytest.raises(Exception, match="No media"):
            await client.read_resource("gemini://media/0123456789ab")
    [content] = result.contents
    assert content.mime_type == "image/png"
    assert base64.b64decode(content.blob) == PNG  # type: ignore[union-attr]
    assert any(t.uri_template == "gemini://media/{media_id}" for t in templates.resource_templates)


def test_pcm_to_wav_uses_the_mime_parameters() -> None:
    import io
    import wave

    fmt = pcm_format("audio/L16;codec=pcm;rate=16000")
    assert fmt.rate == 16000 and fmt.channels == 1
    with wave.open(io.BytesIO(pcm_to_wav(b"\1\0" * 160, fmt))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()) == (16000, 1, 2, 160)
