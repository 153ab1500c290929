"""embed_text in bulk through the MCP client → the real SDK → the emulator: up to 10,000 texts, batches in
flight within the limits, vectors in order, large results as one float32 file in the media store."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import BlobResourceContents, CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.gemini.embeddings import BATCH, IN_FLIGHT
from gemini_mcp.tools.embeddings import INLINE_VALUES, MAX_TEXTS

pytestmark = pytest.mark.anyio
DIMS = 8  # small vectors keep 10,000 texts quick; 80,000 numbers are well above the inline limit


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def corpus(count: int) -> list[str]:
    return [f"note {i} on topic {i % 53} word{i * 7919 % 10007}" for i in range(count)]


def media_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def rows(data: bytes, dims: int) -> list[tuple[float, ...]]:
    return [struct.unpack_from(f"<{dims}f", data, offset) for offset in range(0, len(data), dims * 4)]


async def single(client: Client, text: str, **extra: Any) -> list[float]:
    answer = await client.call_tool("embed_text", {"texts": [text], "output_dimensionality": DIMS, **extra})
    assert not answer.is_error, text_of(answer)
    values: list[float] = answer.structured_content["embeddings"][0]["values"]
    return values


async def test_ten_thousand_texts_come_back_in_order_in_one_saved_file(client: Client, emulator: Emulator) -> None:
    texts = corpus(MAX_TEXTS)
    heard: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, total, message))

    result = await client.call_tool(
        "embed_text", {"texts": texts, "output_dimensionality": DIMS}, progress_callback=on_progress
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert (data["count"], data["dimensions"]) == (MAX_TEXTS, DIMS) and "embeddings" not in data
    saved = data["file"]
    path = Path(saved["path"])
    content = await anyio.Path(path).read_bytes()
    assert saved["size_bytes"] == len(content) == MAX_TEXTS * DIMS * 4
    assert saved["uri"].startswith("gemini://media/") and path.suffix == ".bin"
    # Both views name the file: the text (with how to read it) and a link.
    assert saved["path"] in text_of(result) and "float32" in text_of(result)
    [link] = [block for block in result.content if isinstance(block, ResourceLink)]
    assert link.uri == saved["uri"]
    [served] = (await client.read_resource(saved["uri"])).contents
    assert isinstance(served, BlobResourceContents) and served.blob
    # Batches of at most 100, each text sent once, in order within its batch.
    sent = [r["body"]["requests"] for r in emulator.requests("batchEmbedContents")]
    assert len(sent) == MAX_TEXTS // BATCH and all(len(batch) == BATCH for batch in sent)
    assert sorted(str(batch[0]["content"]["parts"][0]["text"]) for batch in sent) == sorted(texts[::BATCH])
    # Row i is texts[i]'s vector: a few against single-text calls (float32 keeps ~7 digits).
    vectors = rows(content, DIMS)
    for index in (0, 1, 99, 100, 4321, MAX_TEXTS - 1):
        expected = await single(client, texts[index])
        assert max(abs(a - b) for a, b in zip(vectors[index], expected, strict=True)) < 1e-6, index
    # Normalised (a text none of whose words hash into the first 8 of 3072 entries is all zeros at 8 dimensions).
    assert all(abs(sum(v * v for v in vector) - 1) < 1e-5 for vector in vectors[:500] if any(vector))
    # Progress in order, batch by batch, up to the whole.
    assert [p for p, _, _ in heard] == list(range(1, MAX_TEXTS // BATCH + 1))
    assert heard[-1][1] == MAX_TEXTS // BATCH and heard[-1][2] == f"embedded {MAX_TEXTS} of {MAX_TEXTS} texts"


async def test_small_results_stay_inline_and_large_ones_go_to_a_file(client: Client, tmp_path: Path) -> None:
    at_limit = INLINE_VALUES // DIMS
    inline = await client.call_tool("embed_text", {"texts": corpus(at_limit), "output_dimensionality": DIMS})
    assert not inline.is_error, text_of(inline)
    assert len(inline.structured_content["embeddings"]) == at_limit and "file" not in inline.structured_content
    assert media_files(tmp_path / "media") == []
    above = await client.call_tool("embed_text", {"texts": corpus(at_limit + 1), "output_dimensionality": DIMS})
    assert not above.is_error, text_of(above)
    assert "embeddings" not in above.structured_content and above.structured_content["count"] == at_limit + 1
    inline_rows = [tuple(e["values"]) for e in inline.structured_content["embeddings"]]
    saved = await anyio.Path(above.structured_content["file"]["path"]).read_bytes()
    file_rows = rows(saved, DIMS)
    assert len(file_rows) == at_limit + 1
    assert all(
        max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-6
        for got, want in zip(file_rows, inline_rows, strict=False)
    )


async def test_raw_vectors_when_not_normalised(client: Client) -> None:
    texts = corpus(3000)  # 24,000 numbers: a file
    result = await client.call_tool("embed_text", {"texts": texts, "output_dimensionality": DIMS, "normalize": False})
    assert not result.is_error, text_of(result)
    vectors = rows(await anyio.Path(result.structured_content["file"]["path"]).read_bytes(), DIMS)
    expected = await single(client, texts[2999], normalize=False)
    assert max(abs(a - b) for a, b in zip(vectors[2999], expected, strict=True)) < 1e-6
    assert abs(sum(v * v for v in expected) - 1) > 1e-3  # a truncated vector is not of length 1 on its own


@pytest.mark.parametrize("limit", [None, 3], ids=["per-call", "server-wide"])
async def test_batches_are_in_flight_together_within_the_limits(
    make_client: Callable[..., Client], emulator: Emulator, limit: int | None
) -> None:
    env = {"GEMINI_MCP_MAX_CONCURRENCY": str(limit)} if limit else {}
    expected = limit or IN_FLIGHT
    emulator.add_fault(match="batchEmbedContents", hold=True, times=None)
    results: list[CallToolResult] = []
    async with make_client(**env) as client, anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await client.call_tool("embed_text", {"texts": corpus(2000), "output_dimensionality": DIMS}))

        group.start_soon(call)
        held = await emulator.await_requests("batchEmbedContents", expected)
        # None is answered while they are held, so no further batch can have been sent: exactly the limit.
        assert len(held) == expected and len(emulator.requests("batchEmbedContents")) == expected
        emulator.release_held()
    [result] = results
    assert not result.is_error, text_of(result)
    assert result.structured_content["count"] == 2000
    assert len(emulator.requests("batchEmbedContents")) == 20


async def test_more_than_the_maximum_is_refused_naming_the_limit(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("embed_text", {"texts": ["x"] * (MAX_TEXTS + 1)})
    message = text_of(result)
    assert result.is_error and "texts" in message and f"{MAX_TEXTS}" in message and "split" in message
    assert emulator.requests("batchEmbedContents") == []


async def test_one_failed_batch_fails_the_call_clearly_and_leaves_no_file(
    client: Client, emulator: Emulator, tmp_path: Path
) -> None:
    # The first batches are held until the next one is scripted to fail, so the file has been started.
    emulator.add_fault(match="batchEmbedContents", hold=True, times=None)
    results: list[CallToolResult] = []
    async with anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await client.call_tool("embed_text", {"texts": corpus(5000), "output_dimensionality": DIMS}))

        group.start_soon(call)
        await emulator.await_requests("batchEmbedContents", IN_FLIGHT)
        emulator.add_fault(match="batchEmbedContents", status=400, message="Request contains an invalid argument.")
        emulator.release_held()
    [result] = results
    message = text_of(result)
    assert result.is_error and "invalid argument" in message and "400" in message
    assert "Traceback" not in message and "unexpectedly" not in message
    assert media_files(tmp_path / "media") == []  # neither a saved file nor a partial one
