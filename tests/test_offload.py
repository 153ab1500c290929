"""Large inline media in operation answers streams to disk (gemini/offload.py), whatever the chunking."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.handlers.video import video_of
from gemini_mcp.gemini.offload import OFFLOAD_SCHEME, InlineMediaOffloader, offloaded_path
from tests.test_video import VERTEX

pytestmark = pytest.mark.anyio


def answer(videos: list[bytes], urlsafe: bool = False, escaped_slashes: bool = False) -> bytes:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    items = [{"bytesBase64Encoded": encode(v).decode(), "mimeType": "video/mp4"} for v in videos]
    text = json.dumps({"name": "op/1", "done": True, "response": {"videos": items, "raiMediaFilteredCount": 0}})
    return text.replace("/", "\\/").encode() if escaped_slashes else text.encode()


@pytest.mark.parametrize("chunking", ["whole", "bytewise", "random"])
@pytest.mark.parametrize(("urlsafe", "escaped"), [(False, False), (True, False), (False, True)])
async def test_media_values_go_to_files_and_the_json_keeps_everything_else(
    tmp_path: Path, chunking: str, urlsafe: bool, escaped: bool
) -> None:
    videos = [random.Random(n).randbytes(size) for n, size in enumerate((3001, 2, 7))]
    body = answer(videos, urlsafe, escaped)
    offloader = InlineMediaOffloader(tmp_path)
    sizes = {"whole": [len(body)], "bytewise": [1] * len(body)}.get(chunking)
    rng = random.Random(7)
    position = 0
    while position < len(body):
        step = sizes.pop(0) if sizes else rng.randint(1, 40)
        await offloader.feed(body[position : position + step])
        position += step
    parsed: dict[str, Any] = json.loads(await offloader.finish())
    assert parsed["name"] == "op/1" and parsed["response"]["raiMediaFilteredCount"] == 0
    items = parsed["response"]["videos"]
    assert [item["mimeType"] for item in items] == ["video/mp4"] * 3
    for item, expected in zip(items, videos, strict=True):
        assert "bytesBase64Encoded" not in item
        path = offloaded_path(tmp_path, item["gcsUri"])
        assert path is not None and path.read_bytes() == expected


async def test_a_broken_answer_leaves_no_files(tmp_path: Path) -> None:
    offloader = InlineMediaOffloader(tmp_path)
    await offloader.feed(answer([b"x" * 3000])[:500])
    with pytest.raises(ValueError):
        await offloader.finish()
    assert list(tmp_path.iterdir()) == []


def test_offload_uris_cannot_point_elsewhere(tmp_path: Path) -> None:
    assert offloaded_path(tmp_path, OFFLOAD_SCHEME + ".offload-ab12.partial") == tmp_path / ".offload-ab12.partial"
    for uri in (OFFLOAD_SCHEME + "../x", OFFLOAD_SCHEME + "/etc/passwd", OFFLOAD_SCHEME + "video.mp4", "gs://b/v"):
        assert offloaded_path(tmp_path, uri) is None


async def test_a_large_video_streams_to_disk_exactly(make_client: Callable[..., Client], emulator: Emulator) -> None:
    # Done at the first poll; the video is above the 4 MB threshold.
    emulator.configure(operation_duration_s=0, extra={"video_bytes": 6_000_000})
    try:
        async with make_client(**VERTEX) as client:
            result = await client.call_tool("generate_video", {"prompt": "a long take", "output": "both"})
    finally:
        emulator.configure(extra={})
    assert not result.is_error, result
    [video] = (result.structured_content or {})["videos"]
    name = (result.structured_content or {})["operation_name"]
    expected = video_of(emulator.state.operations, name, size=6_000_000)
    assert len(expected) >= 6_000_000 and Path(video["path"]).read_bytes() == expected
    assert (video["duration_s"], video["width"], video["height"]) == (8.0, 1280, 720)
    folder = Path(video["path"]).parent
    assert not list(folder.glob(".offload-*")), "an offloaded file was left behind"
    assert [block.type for block in result.content][:1] == ["resource_link"]  # too big to embed


async def test_a_streamed_video_is_still_embedded_when_asked_and_allowed(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(operation_duration_s=0, extra={"video_bytes": 5_000_000})  # done at the first poll
    try:
        async with make_client(**VERTEX, GEMINI_MCP_INLINE_MAX_BYTES="8000000") as client:
            result = await client.call_tool("generate_video", {"prompt": "a long take", "output": "inline"})
    finally:
        emulator.configure(extra={})
    assert not result.is_error, result
    [embedded] = [block for block in result.content if block.type == "resource"]
    [video] = (result.structured_content or {})["videos"]
    assert base64.b64decode(embedded.resource.blob) == Path(video["path"]).read_bytes()  # type: ignore[union-attr]
    assert "above the inline limit" not in str(result.structured_content)
