"""search_web: an answer grounded in Google Search, with citation markers and sources."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.request import (
    SYSTEM_DESCRIPTION,
    ModelField,
    SamplingFields,
    build_config,
    builtin_tools,
    text_model,
    user_contents,
)
from gemini_mcp.gemini.response import GenerationInfo


class SearchWebInput(ToolInput, SamplingFields, ModelField):
    """Arguments of search_web."""

    query: Annotated[str, Field(min_length=1, description="The question, e.g. 'Who won the 2026 World Cup?'.")]
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None
    citations: Annotated[bool, Field(description="Add [n] markers after supported sentences.")] = True


class Source(ToolOutput):
    index: Annotated[int, Field(description="The n of the [n] citation markers.")]
    title: Annotated[str | None, Field(description="Title of the page or site.")] = None
    uri: Annotated[str | None, Field(description="Link to the source.")] = None


class SearchWebOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The grounded answer, with [n] citation markers when asked.")]
    sources: Annotated[list[Source], Field(description="Web sources the answer is grounded in.")]
    search_queries: Annotated[list[str], Field(description="The Google Search queries Gemini ran.")]


async def search_web(args: SearchWebInput, call: Call) -> CallToolResult:
    call.model = model = text_model(args, call)
    config = build_config(args, model, call.notes, tools=builtin_tools(google_search=True))
    answer = await generate(call, model, await user_contents(args.query, None, call), config)
    text = answer.require_text()
    grounding = answer.grounding
    sources: list[Source] = []
    queries: list[str] = []
    if grounding is not None:
        sources = [Source(index=n, title=s.title, uri=s.uri) for n, s in enumerate(grounding.sources, start=1)]
        queries = grounding.queries
        if args.citations:
            text = grounding.cite(text)
    else:
        call.notes.append("Gemini answered without searching (no grounding metadata): the answer has no sources")
    info = answer.info(model, call.notes).model_dump()
    output = SearchWebOutput(text=text, sources=sources, search_queries=queries, **info)
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
