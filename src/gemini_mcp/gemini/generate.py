"""One generateContent call, streamed when the client asked for progress.

With a progress token the answer is streamed (`generate_content_stream`) and every chunk is forwarded as a
progress notification whose `message` is the text so far, so hosts that show progress show the answer
being written. The chunks are merged into one response, so the tool's final result is the same as
without streaming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

PROGRESS_MESSAGE_CHARS = 4000  # hosts show a line or two; the whole text comes in the result


async def generate(
    call: GeminiCall, model: str, contents: list[types.Content], config: types.GenerateContentConfig | None
) -> types.GenerateContentResponse:
    client = await call.client()
    if config is not None and not any(getattr(config, name) is not None for name in config.model_fields_set):
        # An empty config still costs the SDK ~0.4 ms of field-by-field conversion (benchmarks/); skip it.
        config = None
    if not call.wants_progress:
        return await client.aio.models.generate_content(model=model, contents=contents, config=config)
    chunks: list[types.GenerateContentResponse] = []
    text = ""
    async for chunk in await client.aio.models.generate_content_stream(model=model, contents=contents, config=config):
        chunks.append(chunk)
        piece = _text(chunk)
        if piece:
            text += piece
            shown = text if len(text) <= PROGRESS_MESSAGE_CHARS else "…" + text[-PROGRESS_MESSAGE_CHARS:]
            await call.progress(len(chunks), None, shown)
    return merge_chunks(chunks)


def _text(chunk: types.GenerateContentResponse) -> str:
    if not chunk.candidates or not chunk.candidates[0].content or not chunk.candidates[0].content.parts:
        return ""
    return "".join(p.text for p in chunk.candidates[0].content.parts if p.text and not p.thought)


def merge_chunks(chunks: list[types.GenerateContentResponse]) -> types.GenerateContentResponse:
    """One response equal to what the non-streaming call returns: parts joined, metadata from the chunks."""
    from google.genai import types

    if not chunks:
        return types.GenerateContentResponse()
    merged = chunks[-1].model_copy(deep=True)
    parts: list[types.Part] = []
    for chunk in chunks:
        if not chunk.candidates or not chunk.candidates[0].content:
            continue
        for part in chunk.candidates[0].content.parts or []:
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
