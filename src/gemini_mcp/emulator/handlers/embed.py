"""Embeddings: batchEmbedContents and embedContent (both backends) and Vertex `predict` for text-embedding-*.

Vectors are feature-hashed bags of words, so texts that share words get close vectors: cosine
similarity behaves plausibly in demos and tests, without any model.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from gemini_mcp.emulator import validate
from gemini_mcp.emulator.state import Registry, RpcContext
from gemini_mcp.emulator.wire import estimate_tokens, get

TASK_TYPES = {
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
}
MAX_BATCH = 100


def register(registry: Registry) -> None:
    registry.rpc("batchEmbedContents", batch_embed_contents)
    registry.rpc("embedContent", embed_content)
    registry.rpc("predict", predict, kind="embedding")


def full_dimensions(model: str) -> int:
    return 3072 if model.startswith("gemini-embedding") else 768


def vector(text: str, dimensions: int, full: int) -> list[float]:
    # Sparse: a text sets a few entries of thousands, and a bulk request has 100 texts; touching only those
    # entries keeps the emulator's CPU from dominating what benchmarks/embed_bulk.py measures (10x faster,
    # the same values: the zeros added nothing to the norm).
    found: dict[int, float] = {}
    for word in re.findall(r"\w+", text.lower()) or [""]:
        digest = hashlib.sha256(word.encode()).digest()
        for k in range(4):
            index = int.from_bytes(digest[k * 4 : k * 4 + 4], "little") % full
            found[index] = found.get(index, 0.0) + (1.0 if digest[16 + k] & 1 else -1.0)
    entries = sorted(found.items())
    norm = math.sqrt(sum(v * v for _, v in entries)) or 1.0
    values = [0.0] * min(dimensions, full)
    for index, value in entries:
        if index < dimensions:
            values[index] = round(value / norm, 6)
    return values


def _dimensions(ctx: RpcContext, requested: Any, where: str) -> int:
    full = full_dimensions(ctx.model)
    if requested is None:
        return full
    if not isinstance(requested, int) or not 1 <= requested <= full:
        raise validate.bad(f"* {where}.output_dimensionality: must be between 1 and {full}, got {requested}")
    return requested


def _task(task: Any, where: str) -> None:
    if task is not None and str(task).upper() not in TASK_TYPES:
        raise validate.bad(f"Invalid value at '{where}.task_type', \"{task}\"")


def _embed(ctx: RpcContext, content: Any, config: Any, where: str) -> dict[str, Any]:
    if not isinstance(content, dict) or not get(content, "parts"):
        raise validate.bad(f"* {where}.content: content is not specified")
    texts = [str(p.get("text", "")) for p in get(content, "parts") if isinstance(p, dict)]
    _task(get(config, "task_type"), where)
    dims = _dimensions(ctx, get(config, "output_dimensionality"), where)
    text = " ".join(texts)
    return {"values": vector(text, dims, full_dimensions(ctx.model)), "_tokens": estimate_tokens(text)}


async def batch_embed_contents(ctx: RpcContext) -> dict[str, Any]:
    requests = ctx.body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise validate.bad("* BatchEmbedContentsRequest.requests: requests is not specified")
    if len(requests) > MAX_BATCH:
        raise validate.bad(f"* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests can be in one batch")
    embeddings = []
    for i, request in enumerate(requests):
        config = get(request, "embed_content_config") or request
        embedding = _embed(ctx, get(request, "content"), config, f"BatchEmbedContentsRequest.requests[{i}]")
        tokens = embedding.pop("_tokens")
        if ctx.backend == "vertex":
            embedding["statistics"] = {"tokenCount": tokens, "truncated": False}
        embeddings.append(embedding)
    return {"embeddings": embeddings}


async def embed_content(ctx: RpcContext) -> dict[str, Any]:
    config = get(ctx.body, "embed_content_config") or ctx.body
    embedding = _embed(ctx, get(ctx.body, "content"), config, "EmbedContentRequest")
    tokens = embedding.pop("_tokens")
    return {"embedding": embedding, "usageMetadata": {"promptTokenCount": tokens, "totalTokenCount": tokens}}


async def predict(ctx: RpcContext) -> dict[str, Any]:
    instances = ctx.body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise validate.bad("instances is not specified")
    parameters = ctx.body.get("parameters") or {}
    dims = _dimensions(ctx, get(parameters, "output_dimensionality"), "parameters")
    predictions = []
    for i, item in enumerate(instances):
        _task(get(item, "task_type"), f"instances[{i}]")
        text = str(get(item, "content") or "")
        predictions.append(
            {
                "embeddings": {
                    "values": vector(text, dims, full_dimensions(ctx.model)),
                    "statistics": {"token_count": estimate_tokens(text), "truncated": False},
                }
            }
        )
    return {"predictions": predictions}
