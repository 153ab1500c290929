"""analyze_media: ask a question about images, PDFs, audio or video."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.caches import CACHED_CONTENT_DESCRIPTION, use_cache
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.request import (
    MEDIA_DESCRIPTION,
    SYSTEM_DESCRIPTION,
    ModelField,
    SamplingFields,
    build_config,
    text_model,
    user_contents,
)
from gemini_mcp.gemini.response import GenerationInfo
from gemini_mcp.media.inputs import MediaInput


class AnalyzeMediaInput(ToolInput, SamplingFields, ModelField):
    """Arguments of analyze_media."""

    question: Annotated[
        str, Field(min_length=1, description="E.g. 'Summarise this PDF', 'What happens at 0:45?', 'Transcribe'.")
    ]
    media: Annotated[list[MediaInput], Field(min_length=1, max_length=50, description=MEDIA_DESCRIPTION)]
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None
    cached_content: Annotated[str | None, Field(description=CACHED_CONTENT_DESCRIPTION)] = None


class AnalyzeMediaOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The model's answer about the media.")]
    media_count: Annotated[int, Field(description="How many media items were sent.")]


async def analyze_media(args: AnalyzeMediaInput, call: Call) -> CallToolResult:
    conflicts = {"system_instruction": args.system_instruction is not None}
    model, cached = await use_cache(
        call, args.cached_content, text_model(args, call), model_given=args.model is not None, conflicts=conflicts
    )
    call.model = model
    contents = await user_contents(args.question, args.media, call)
    answer = await generate(call, model, contents, build_config(args, model, call.notes, cached_content=cached))
    text = answer.require_text()
    output = AnalyzeMediaOutput(text=text, media_count=len(args.media), **answer.info(model, call.notes).model_dump())
    return structured_result(output, text=text)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="analyze_media",
        title="Analyze images, PDFs, audio or video",
        description=(
            "Ask Gemini about media: describe or compare images, read and summarise PDFs, transcribe or "
            "summarise audio, answer questions about a video (local files, URLs, YouTube links, base64, or "
            "media this server generated). Large files go through the Files API automatically. Returns the "
            "answer as text."
        ),
        input_model=AnalyzeMediaInput,
        output_model=AnalyzeMediaOutput,
        handler=analyze_media,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
]
