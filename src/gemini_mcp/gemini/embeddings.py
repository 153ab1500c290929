"""Embeddings: `embed_content` in batches the API accepts, in flight together, vectors in the order of the texts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from gemini_mcp.gemini.context import GeminiCall

BATCH = 100  # the API's limit of texts per batchEmbedContents
# Batches one call keeps in flight. The transport's limiter (GEMINI_MCP_MAX_CONCURRENCY) still bounds the whole
# server; this only keeps one large call from taking every slot while other calls wait.
IN_FLIGHT = 8


async def embed(
    call: GeminiCall, model: str, texts: list[str], *, task_type: str | None, dimensions: int | None
) -> list[list[float]]:
    """One vector per text, in order. Batches run concurrently; the first failure cancels the rest."""
    from google.genai import types

    client = await call.client()
    config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=dimensions)
    starts = range(0, len(texts), BATCH)
    results: list[list[list[float]]] = [[] for _ in starts]
    limiter = anyio.CapacityLimiter(IN_FLIGHT)
    done = 0

    async def one(slot: int, start: int) -> None:
        nonlocal done
        async with limiter:
            response = await client.aio.models.embed_content(
                model=model, contents=list(texts[start : start + BATCH]), config=config
            )
        results[slot] = [list(embedding.values or []) for embedding in response.embeddings or []]
        done += 1
        if len(results) > 1:
            await call.progress(done, len(results), f"embedded {min(done * BATCH, len(texts))} of {len(texts)} texts")

    try:
        async with anyio.create_task_group() as group:
            for slot, start in enumerate(starts):
                group.start_soon(one, slot, start)
    except BaseExceptionGroup as failed:
        # The first batch's failure is the call's failure (the others were cancelled because of it), so it
        # reaches the error mapping as a plain exception, like a single batch's would.
        raise _first(failed) from None
    return [vector for batch in results for vector in batch]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    return leaf
