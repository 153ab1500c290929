"""generateContent and countTokens: one call, its answer read by `response.read_answer`.

When the caller listens to progress the answer is streamed (`generate_content_stream`) and every chunk is
forwarded as a progress notification whose `message` is the text so far, so hosts that show progress show
the answer being written. The chunks are merged into one response, so the result is the same as without
streaming. Media answers (an image, a speech clip) are not streamed: their tools report a heartbeat instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gemini_mcp.gemini.models import note_status
from gemini_mcp.gemini.response import Answer, read_answer, read_parts

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

PROGRESS_MESSAGE_CHARS = 4000  # hosts show a line or two; the whole text comes in the result


async def generate(
    call: GeminiCall,
    model: str,
    contents: str | list[types.Content],
    config: types.GenerateContentConfig | None,
    *,
    stream: bool = True,
) -> Answer:
    """The answer to `contents`; streamed into progress messages when `stream` and someone listens. What the
    answer's `model_status` says of a deprecated or retiring model goes into `call.notes`."""
    answer = await _generate(call, model, contents, config, stream=stream)
    note_status(call.notes, model, answer.model_status)
    return answer


async def _generate(
    call: GeminiCall,
    model: str,
    contents: str | list[types.Content],
    config: types.GenerateContentConfig | None,
    *,
    stream: bool,
) -> Answer:
    client = await call.client()
    if config is not None and not any(getattr(config, name) is not None for name in config.model_fields_set):
        # An empty config still costs the SDK ~0.4 ms of field-by-field conversion (benchmarks/); skip it.
        config = None
    if not (stream and call.wants_progress):
        return read_answer(await client.aio.models.generate_content(model=model, contents=contents, config=config))
    chunks: list[types.GenerateContentResponse] = []
    text = ""
    async for chunk in await client.aio.models.generate_content_stream(model=model, contents=contents, config=config):
        chunks.append(chunk)
        piece = read_parts(_first_parts(chunk)).text
        if piece:
            text += piece
            shown = text if len(text) <= PROGRESS_MESSAGE_CHARS else "…" + text[-PROGRESS_MESSAGE_CHARS:]
            await call.progress(len(chunks), None, shown)
    return read_answer(merge_chunks(chunks))


async def count_tokens(
    call: GeminiCall, model: str, contents: list[types.Content], system_instruction: str | None = None
) -> int:
    """Input tokens of `contents` on `model`. The Developer API's countTokens takes no system instruction
    (it is left out there); Vertex counts it."""
    from google.genai import types

    client = await call.client()
    config = None
    if system_instruction and call.settings.backend == "vertex":
        config = types.CountTokensConfig(system_instruction=system_instruction)
    response = await client.aio.models.count_tokens(model=model, contents=contents, config=config)
    return response.total_tokens or 0


def _first_parts(chunk: types.GenerateContentResponse) -> list[types.Part] | None:
    if not chunk.candidates or not chunk.candidates[0].content:
        return None
    return chunk.candidates[0].content.parts


def merge_chunks(chunks: list[types.GenerateContentResponse]) -> types.GenerateContentResponse:
    """One response equal to what the non-streaming call returns: parts joined, metadata from the chunks."""
    from google.genai import types

    if not chunks:
        return types.GenerateContentResponse()
    merged = chunks[-1].model_copy(deep=True)
    parts: list[types.Part] = []
    for chunk in chunks:
        for part in _first_parts(chunk) or []:
            # Adjacent text parts of the same kind (answer or thought) are one part split across events.
            if parts and part.text is not None and parts[-1].text is not None and part.thought == parts[-1].thought:
                parts[-1] = parts[-1].model_copy(update={"text": parts[-1].text + part.text})
            else:
                parts.append(part)
    for chunk in chunks:
        if chunk.usage_metadata is not None:
            merged.usage_metadata = chunk.usage_metadata
        if chunk.prompt_feedback is not None:
            merged.prompt_feedback = chunk.prompt_feedback
        if chunk.model_status is not None:
            merged.model_status = chunk.model_status
    if merged.candidates:
        candidate = merged.candidates[0]
        candidate.content = types.Content(role="model", parts=parts)
        for chunk in chunks:
            if chunk.candidates:
                source = chunk.candidates[0]
                if source.finish_reason is not None:
                    candidate.finish_reason = source.finish_reason
                if source.grounding_metadata is not None:
                    candidate.grounding_metadata = source.grounding_metadata
                if source.url_context_metadata is not None:
                    candidate.url_context_metadata = source.url_context_metadata
                if source.safety_ratings:
                    candidate.safety_ratings = source.safety_ratings
    return merged
