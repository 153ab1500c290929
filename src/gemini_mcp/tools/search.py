"""search_web: an answer grounded in Google Search, with citation markers and sources."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.request import ModelField, SamplingFields, build_config, resolve_text_model
from gemini_mcp.gemini.response import GenerationInfo, info_of, text_of


class SearchWebInput(ToolInput, ModelField, SamplingFields):
    """Arguments of search_web."""

    query: Annotated[
        str,
        Field(min_length=1, description="The question to answer from the web, e.g. 'Who won the 2026 World Cup?'."),
    ]
    system_instruction: Annotated[str | None, Field(description="Standing instructions (style, length, language).")] = (
        None
    )
    citations: Annotated[bool, Field(description="Insert [n] markers after the sentences each source supports.")] = True


class Source(ToolOutput):
    index: Annotated[int, Field(description="The n of the [n] citation markers.")]
    title: Annotated[str | None, Field(description="Title of the page or site.")] = None
    uri: Annotated[str | None, Field(description="Link to the source.")] = None


class SearchWebOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The grounded answer, with [n] citation markers when asked.")]
    sources: Annotated[list[Source], Field(description="Web sources the answer is grounded in.")]
    search_queries: Annotated[list[str], Field(description="The Google Search queries Gemini ran.")]


def add_citations(text: str, supports: list[Any]) -> str:
    """Insert [n] after each supported segment; the API gives segment ends as UTF-8 byte offsets."""
    data = text.encode("utf-8")
    inserts: list[tuple[int, str]] = []
    for support in supports:
        segment = support.segment
        if segment is None or segment.end_index is None or not support.grounding_chunk_indices:
            continue
        markers = "".join(f"[{i + 1}]" for i in support.grounding_chunk_indices)
        inserts.append((min(segment.end_index, len(data)), markers))
    for end, markers in sorted(inserts, key=lambda item: item[0], reverse=True):
        data = data[:end] + markers.encode() + data[end:]
    return data.decode("utf-8", errors="replace")


async def search_web(args: SearchWebInput, call: Call) -> CallToolResult:
    from google.genai import types

    call.model = model = resolve_text_model(args.model)
    config = build_config(args, model, call.notes, tools=[types.Tool(google_search=types.GoogleSearch())])
    contents = [types.Content(role="user", parts=[types.Part(text=args.query)])]
    response = await generate(call, model, contents, config)
    text = text_of(response)
    metadata = response.candidates[0].grounding_metadata if response.candidates else None
    sources: list[Source] = []
    queries: list[str] = []
    if metadata is not None:
        for index, chunk in enumerate(metadata.grounding_chunks or []):
            web = chunk.web
            sources.append(Source(index=index + 1, title=web.title if web else None, uri=web.uri if web else None))
        queries = list(metadata.web_search_queries or [])
        if args.citations:
            text = add_citations(text, list(metadata.grounding_supports or []))
    else:
        call.notes.append("Gemini answered without searching (no grounding metadata): the answer has no sources")
    output = SearchWebOutput(
        text=text, sources=sources, search_queries=queries, **info_of(response, model, call.notes).model_dump()
    )
    listing = "\n".join(f"[{s.index}] {s.title or ''} {s.uri or ''}".rstrip() for s in sources)
    return structured_result(output, text=f"{text}\n\nSources:\n{listing}" if listing else text)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="search_web",
        title="Answer from the web (Google Search grounding)",
        description=(
            "Answer a question with up-to-date information from Google Search: recent events, facts to verify, "
            "anything after the model's training. Returns the answer with [n] citation markers, the `sources` "
            "(title, uri) and the search queries used, in structured content."
        ),
        input_model=SearchWebInput,
        output_model=SearchWebOutput,
        handler=search_web,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
]
