"""Embeddings: `embed_content` in batches the API accepts, in flight together, vectors in the order of the texts.

A bulk call (10,000 texts of 3072 dimensions is 30 M numbers, about 1 GB as Python floats) is never held whole:
each batch's vectors go through the caller's `pack` as soon as they arrive, so the SDK's objects can go, and
then to its `deliver` in the order of the texts. Batches start only while few finished ones wait for an earlier
one, so memory stays bounded by the window whatever order they finish in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from gemini_mcp.errors import GeminiCallError

if TYPE_CHECKING:
    from gemini_mcp.gemini.context import GeminiCall

BATCH = 100  # the API's limit of texts per batchEmbedContents
# Batches one call keeps in flight. The transport's limiter (GEMINI_MCP_MAX_CONCURRENCY) still bounds the whole
# server; this only keeps one large call from taking every slot while other calls wait.
IN_FLIGHT = 8
# Batches started and not yet delivered, at most: those in flight plus those finished ahead of an earlier one.
WINDOW = 2 * IN_FLIGHT

Packed = TypeVar("Packed")


async def embed(
    call: GeminiCall, model: str, texts: Sequence[str], *, task_type: str | None, dimensions: int | None
) -> list[list[float]]:
    """One vector per text, in order. Batches run concurrently; the first failure cancels the rest."""
    vectors: list[list[float]] = []

    async def keep(_start: int, batch: list[list[float]]) -> None:
        vectors.extend(batch)

    await embed_batches(
        call, model, texts, task_type=task_type, dimensions=dimensions, pack=lambda batch: batch, deliver=keep
    )
    return vectors


async def embed_batches(
    call: GeminiCall,
    model: str,
    texts: Sequence[str],
    *,
    task_type: str | None,
    dimensions: int | None,
    pack: Callable[[list[list[float]]], Packed],
    deliver: Callable[[int, Packed], Awaitable[None]],
) -> None:
    """Embed `texts` in batches of BATCH, IN_FLIGHT at a time. A batch's vectors (one per text, in order) go to
    `pack` as they arrive, and what it returns to `deliver` with the index of the batch's first text, batches in
    the order of the texts. The first failure cancels the rest and is raised as the call's own."""
    from google.genai import types

    client = await call.client()
    config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=dimensions)
    starts = range(0, len(texts), BATCH)
    limiter = anyio.CapacityLimiter(IN_FLIGHT)
    window = anyio.Semaphore(WINDOW)
    finished: dict[int, Packed] = {}  # by slot, until every earlier batch is delivered
    in_order = anyio.Lock()
    delivered = 0

    async def one(slot: int, start: int) -> None:
        batch = list(texts[start : start + BATCH])
        async with limiter:
            response = await client.aio.models.embed_content(model=model, contents=batch, config=config)
        finished[slot] = pack(_vectors(response, len(batch), start))
        del response  # the SDK's objects are the bulk of the memory: gone before waiting for earlier batches
        async with in_order:
            await _deliver_ready()

    async def _deliver_ready() -> None:
        nonlocal delivered
        while delivered in finished:
            await deliver(starts[delivered], finished.pop(delivered))
            delivered += 1
            window.release()
            if len(starts) > 1:
                embedded = min(delivered * BATCH, len(texts))
                await call.progress(delivered, len(starts), f"embedded {embedded} of {len(texts)} texts")

    try:
        async with anyio.create_task_group() as group:
            for slot, start in enumerate(starts):
                await window.acquire()
                group.start_soon(one, slot, start)
    except BaseExceptionGroup as failed:
        # The first batch's failure is the call's failure (the others were cancelled because of it), so it
        # reaches the error mapping as a plain exception, like a single batch's would.
        raise _first(failed) from None


def _vectors(response: Any, expected: int, start: int) -> list[list[float]]:
    embeddings = response.embeddings or []
    if len(embeddings) != expected:
        raise GeminiCallError(
            f"Gemini returned {len(embeddings)} embeddings for the {expected} texts from index {start}: no vectors "
            "were returned. Try again; if it persists, send fewer texts per call"
        )
    return [embedding.values or [] for embedding in embeddings]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf
