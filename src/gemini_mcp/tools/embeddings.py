"""embed_text: embedding vectors for one or many texts."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.embeddings import embed
from gemini_mcp.gemini.models import Task, pick

TEXT_SUMMARY_LIMIT = 20_000  # values; above this the text content is a summary and the vectors stay structured

TaskType = Literal[
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
]


class EmbedTextInput(ToolInput):
    """Arguments of embed_text."""

    texts: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(min_length=1, max_length=1000, description="One vector each, in order."),
    ]
    task_type: Annotated[
        TaskType | None,
        Field(description="RETRIEVAL_DOCUMENT for texts to search in, RETRIEVAL_QUERY for queries."),
    ] = None
    output_dimensionality: Annotated[
        int | None, Field(ge=1, le=3072, description="Vector size, e.g. 768; default 3072.")
    ] = None
    normalize: Annotated[bool, Field(description="Scale vectors to length 1.")] = True
    model: Annotated[str | None, Field(description="Default gemini-embedding-001.")] = None


class Embedding(ToolOutput):
    index: Annotated[int, Field(description="Position of the text in `texts`.")]
    values: Annotated[list[float], Field(description="The vector.")]


class EmbedTextOutput(ToolOutput):
    model: Annotated[str, Field(description="The embedding model used.")]
    dimensions: Annotated[int, Field(description="Length of each vector.")]
    embeddings: Annotated[list[Embedding], Field(description="One vector per text, in order.")]


def _normalized(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


async def embed_text(args: EmbedTextInput, call: Call) -> CallToolResult:
    call.model = model = pick(call, args.model, Task.EMBEDDING).model
    vectors = await embed(call, model, args.texts, task_type=args.task_type, dimensions=args.output_dimensionality)
    embeddings = [
        Embedding(index=index, values=_normalized(values) if args.normalize else values)
        for index, values in enumerate(vectors)
    ]
    dimensions = len(embeddings[0].values) if embeddings else 0
    output = EmbedTextOutput(model=model, dimensions=dimensions, embeddings=embeddings)
    if dimensions * len(embeddings) <= TEXT_SUMMARY_LIMIT:
        text = json.dumps(output.model_dump(mode="json"))
    else:
        text = (
            f"{len(embeddings)} embeddings of {dimensions} dimensions ({model}); the vectors are in structured content"
        )
    return structured_result(output, text=text)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="embed_text",
        title="Embed text as vectors",
        description=(
            "Turn one or many texts into embedding vectors for semantic search, clustering, classification or "
            "similarity. Set `task_type` (RETRIEVAL_DOCUMENT for corpus texts, RETRIEVAL_QUERY for queries, "
            "SEMANTIC_SIMILARITY, ...) and optionally `output_dimensionality`. Returns the vectors in order as "
            "structured content."
        ),
        input_model=EmbedTextInput,
        output_model=EmbedTextOutput,
        handler=embed_text,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
