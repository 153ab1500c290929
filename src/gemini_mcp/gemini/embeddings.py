"""Embeddings: `embed_content` in batches the API accepts, vectors returned in the order of the texts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gemini_mcp.gemini.context import GeminiCall

BATCH = 100  # the API's limit of texts per batchEmbedContents


async def embed(
    call: GeminiCall, model: str, texts: list[str], *, task_type: str | None, dimensions: int | None
) -> list[list[float]]:
    """One vector per text, in order."""
    from google.genai import types

    client = await call.client()
    config = types.EmbedContentConfig(task_type=task_type, output_dimensionality=dimensions)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), BATCH):
        response = await client.aio.models.embed_content(
            model=model, contents=list(texts[start : start + BATCH]), config=config
        )
        vectors.extend(list(embedding.values or []) for embedding in response.embeddings or [])
    return vectors
