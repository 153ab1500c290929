"""embed_text: embedding vectors for one or many texts (up to 10,000 in one call).

Small results come back inline. A large one (10,000 texts of 3072 dimensions would be ~300 MB of JSON, far
beyond what a host passes on or a model can read) is written batch by batch, in order, to one file in the
media store as raw little-endian float32 rows, and the result names it; the vectors are never all in memory.
"""

from __future__ import annotations

import json
import math
import struct
from contextlib import AsyncExitStack
from typing import Annotated, Any, Literal, Protocol

from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field, field_validator

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import media_blocks
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.embeddings import embed_batches
from gemini_mcp.gemini.models import Task, pick
from gemini_mcp.media.store import SavedMedia

MAX_TEXTS = 10_000
# Numbers (texts × dimensions) returned inline at most, ~400 KB of JSON; above it the vectors go to a file.
INLINE_VALUES = 20_000
# A vector whose length is this close to 1 is left as it is. Rescaling is most of the tool's own work on a bulk
# call (a new list of floats per vector, ~0.08 ms for 3072-d; the length alone is one C call, ~0.015 ms), and
# changes nothing that matters here: a cosine moves by at most this much, and float32 keeps ~7 digits anyway.
# Models that return unit vectors (3072-d Gemini; the emulator, rounded to 6 decimals) skip it.
NORM_TOLERANCE = 1e-5
FILE_MIME = "application/octet-stream"

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
        Field(min_length=1, max_length=MAX_TEXTS, description="One vector each, in order."),
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

    @field_validator("texts", mode="before")
    @classmethod
    def _at_most_the_maximum(cls, texts: Any) -> Any:
        # Before the items are checked one by one, and in words that say what to do (pydantic's: "List should
        # have at most 10000 items after validation").
        if isinstance(texts, list) and len(texts) > MAX_TEXTS:
            raise ValueError(f"at most {MAX_TEXTS} texts per call, got {len(texts)}: split them into several calls")
        return texts


class Embedding(ToolOutput):
    index: Annotated[int, Field(description="Position of the text in `texts`.")]
    values: Annotated[list[float], Field(description="The vector.")]


class EmbedTextOutput(ToolOutput):
    model: Annotated[str, Field(description="The embedding model used.")]
    dimensions: Annotated[int, Field(description="Length of each vector.")]
    count: Annotated[int, Field(description="Number of vectors: one per text.")]
    embeddings: Annotated[
        list[Embedding] | None,
        Field(description=f"The vectors in order, when small (count x dimensions <= {INLINE_VALUES}); else see file."),
    ] = None
    file: Annotated[
        SavedMedia | None,
        Field(
            description=(
                "Large results: the vectors as raw little-endian float32, `count` rows of `dimensions` values, "
                "row i for texts[i] (numpy: fromfile(path, '<f4').reshape(count, dimensions))."
            )
        ),
    ] = None


class _FileWriter(Protocol):
    saved: SavedMedia | None

    async def __call__(self, chunk: bytes) -> None: ...


def _unit(values: list[float]) -> list[float]:
    norm = math.hypot(*values)  # one C call: a 3072-d vector in ~15 µs, 10,000 of them in 0.15 s
    if not norm or abs(norm - 1.0) <= NORM_TOLERANCE:
        return values
    scale = 1.0 / norm
    return [v * scale for v in values]


class _Vectors:
    """Where one call's vectors go, decided by the first batch to arrive (it tells the dimensions): kept for
    the answer when the whole result is small, else packed to float32 as each batch arrives (the SDK's floats
    can go at once) and appended to one file in the order of the texts."""

    def __init__(self, call: Call, count: int, normalize: bool, files: AsyncExitStack) -> None:
        self.call = call
        self.count = count
        self.normalize = normalize
        self.files = files
        self.dimensions: int | None = None
        self.to_file = False
        self.row: struct.Struct | None = None
        self.kept: list[list[float]] = []
        self.writer: _FileWriter | None = None

    def pack(self, batch: list[list[float]]) -> list[list[float]] | bytes:
        # On the event loop: short C calls (~30 µs a vector), as cheap as the SDK's own parsing of the batch.
        if self.dimensions is None:
            self.dimensions = len(batch[0]) if batch else 0
            if not self.dimensions:
                raise GeminiCallError("Gemini returned empty embedding vectors. Try again, or another model")
            self.to_file = self.count * self.dimensions > INLINE_VALUES
            self.row = struct.Struct(f"<{self.dimensions}f")
        if any(len(values) != self.dimensions for values in batch):
            raise GeminiCallError(
                f"Gemini returned vectors of different lengths in one call (expected {self.dimensions}). Try again"
            )
        vectors = [_unit(values) for values in batch] if self.normalize else batch
        if not self.to_file:
            return vectors
        assert self.row is not None
        return b"".join([self.row.pack(*values) for values in vectors])

    async def deliver(self, _start: int, packed: list[list[float]] | bytes) -> None:
        if isinstance(packed, list):
            self.kept.extend(packed)
            return
        if self.writer is None:
            # Entered on the call's exit stack: a failure or a cancellation later removes the partial file.
            self.writer = await self.files.enter_async_context(
                self.call.media.writer(mime_type=FILE_MIME, kind="embeddings", hint=f"{self.count} texts")
            )
        await self.writer(packed)


async def embed_text(args: EmbedTextInput, call: Call) -> CallToolResult:
    call.model = model = pick(call, args.model, Task.EMBEDDING).model
    count = len(args.texts)
    async with AsyncExitStack() as files:
        vectors = _Vectors(call, count, args.normalize, files)
        await embed_batches(
            call,
            model,
            args.texts,
            task_type=args.task_type,
            dimensions=args.output_dimensionality,
            pack=vectors.pack,
            deliver=vectors.deliver,
        )
    dimensions = vectors.dimensions or 0
    if vectors.writer is None:
        embeddings = [Embedding(index=index, values=values) for index, values in enumerate(vectors.kept)]
        output = EmbedTextOutput(model=model, dimensions=dimensions, count=count, embeddings=embeddings)
        return structured_result(output, text=json.dumps(output.model_dump(mode="json", exclude_none=True)))
    saved = vectors.writer.saved
    assert saved is not None  # set when the writer's block ended without an error
    summary = f"{count} embeddings of {dimensions} dimensions saved as float32 to {saved.path}"
    output = EmbedTextOutput(model=model, dimensions=dimensions, count=count, file=saved, summary=summary)
    text = (
        f"{count} embeddings of {dimensions} dimensions ({model}) saved to {saved.path} ({saved.uri}): raw "
        f"little-endian float32, {count} rows of {dimensions} values, row i for texts[i]. Read with numpy "
        f"fromfile(path, '<f4').reshape({count}, {dimensions}), or array('f') from the bytes."
    )
    link = await media_blocks(call, saved, None, "link", description=f"{count} embeddings ({dimensions}-d float32)")
    blocks: list[ContentBlock] = [TextContent(type="text", text=text), *link]
    return structured_result(output, blocks)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="embed_text",
        title="Embed text as vectors",
        description=(
            "Turn up to 10,000 texts into embedding vectors for semantic search, clustering, classification or "
            "similarity. Set `task_type` (RETRIEVAL_DOCUMENT for corpus texts, RETRIEVAL_QUERY for queries, "
            "SEMANTIC_SIMILARITY, ...) and optionally `output_dimensionality`. Small results come back inline in "
            f"order; above {INLINE_VALUES:,} numbers (texts x dimensions) the vectors are saved as one float32 "
            "file, returned as a link with its path."
        ),
        input_model=EmbedTextInput,
        output_model=EmbedTextOutput,
        handler=embed_text,
        # Not read-only: a large result is a new file in the media folder, as transcribe_audio's are.
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
]
