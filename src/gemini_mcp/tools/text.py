"""Text tools: generate_text, generate_json, count_tokens."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.caches import CACHED_CONTENT_DESCRIPTION, use_cache
from gemini_mcp.gemini.generate import count_tokens as tokens_of
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.models import Task, pick
from gemini_mcp.gemini.request import (
    PromptFields,
    TaskField,
    TextRequest,
    build_config,
    build_contents,
    builtin_tools,
    request_contents,
    text_model,
)
from gemini_mcp.gemini.response import GenerationInfo
from gemini_mcp.gemini.schema import check_schema, to_json_schema, validate_value

_GENERATES = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_COUNTS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


# --- generate_text -------------------------------------------------------------------------------------


def _cache_conflicts(args: PromptFields, **tools: bool) -> dict[str, bool]:
    """What a request with `cached_content` may not set itself (the cache carries it)."""
    return {"system_instruction": args.system_instruction is not None, **tools}


class GenerateTextInput(ToolInput, TaskField, TextRequest):
    """Arguments of generate_text."""

    url_context: Annotated[bool, Field(description="Read the web pages at URLs in the prompt.")] = False
    code_execution: Annotated[bool, Field(description="Run Python to compute; returns the code and its output.")] = (
        False
    )
    cached_content: Annotated[str | None, Field(description=CACHED_CONTENT_DESCRIPTION)] = None


class CodeRun(ToolOutput):
    language: Annotated[str | None, Field(description="Language of the code Gemini ran (PYTHON).")] = None
    code: Annotated[str | None, Field(description="The code Gemini wrote and ran.")] = None
    outcome: Annotated[str | None, Field(description="OUTCOME_OK, OUTCOME_FAILED or OUTCOME_DEADLINE_EXCEEDED.")] = None
    output: Annotated[str | None, Field(description="What the code printed.")] = None


class UrlRead(ToolOutput):
    url: Annotated[str, Field(description="A URL Gemini tried to read.")]
    status: Annotated[str | None, Field(description="Whether it could be read (URL_RETRIEVAL_STATUS_...).")] = None


class GenerateTextOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The model's answer.")]
    code_runs: Annotated[list[CodeRun] | None, Field(description="Code Gemini executed (code_execution).")] = None
    urls_read: Annotated[list[UrlRead] | None, Field(description="Pages Gemini read (url_context).")] = None


async def generate_text(args: GenerateTextInput, call: Call) -> CallToolResult:
    conflicts = _cache_conflicts(args, url_context=args.url_context, code_execution=args.code_execution)
    model, cached = await use_cache(
        call, args.cached_content, text_model(args, call), model_given=args.model is not None, conflicts=conflicts
    )
    call.model = model
    tools = builtin_tools(url_context=args.url_context, code_execution=args.code_execution)
    config = build_config(args, model, call.notes, tools=tools, cached_content=cached)
    answer = await generate(call, model, await request_contents(args, call), config)
    text = answer.require_text()
    output = GenerateTextOutput(
        text=text,
        code_runs=[CodeRun(**vars(run)) for run in answer.code_runs] or None,
        urls_read=[UrlRead(**vars(read)) for read in answer.urls_read] if answer.urls_read else None,
        **answer.info(model, call.notes).model_dump(),
    )
    blocks = [TextContent(type="text", text=text)]
    for run in output.code_runs or []:
        blocks.append(
            TextContent(type="text", text=f"```python\n{run.code}\n```\nOutput ({run.outcome}):\n{run.output}")
        )
    return structured_result(output, blocks)


# --- generate_json -------------------------------------------------------------------------------------


class GenerateJsonInput(ToolInput, TaskField, TextRequest):
    """Arguments of generate_json."""

    response_schema: Annotated[
        dict[str, Any],
        Field(
            alias="schema",
            description="The answer's JSON Schema, or Gemini's schema (OBJECT, propertyOrdering). Objects need "
            "properties.",
        ),
    ]
    cached_content: Annotated[str | None, Field(description=CACHED_CONTENT_DESCRIPTION)] = None


class GenerateJsonOutput(ToolOutput, GenerationInfo):
    data: Annotated[Any, Field(description="The parsed JSON value, validated against the schema.")]


async def generate_json(args: GenerateJsonInput, call: Call) -> CallToolResult:
    dialect = check_schema(args.response_schema)
    conflicts = _cache_conflicts(args)
    model, cached = await use_cache(
        call, args.cached_content, text_model(args, call), model_given=args.model is not None, conflicts=conflicts
    )
    call.model = model
    schema_field = "response_schema" if dialect == "gemini" else "response_json_schema"
    config = build_config(
        args,
        model,
        call.notes,
        response_mime_type="application/json",
        cached_content=cached,
        **{schema_field: args.response_schema},
    )
    answer = await generate(call, model, await request_contents(args, call), config)
    text = answer.require_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GeminiCallError(
            f"Gemini's answer was not valid JSON ({exc.msg} at position {exc.pos}); retry, or simplify the "
            f"schema. Answer began: {text[:200]!r}"
        ) from None
    validate_value(data, to_json_schema(args.response_schema, dialect), where="answer (against schema)")
    output = GenerateJsonOutput(data=data, **answer.info(model, call.notes).model_dump())
    return structured_result(output, [TextContent(type="text", text=json.dumps(data, indent=2, ensure_ascii=False))])


# --- count_tokens --------------------------------------------------------------------------------------


class CountTokensInput(ToolInput, PromptFields):
    """Arguments of count_tokens."""

    model: Annotated[
        str | None,
        Field(description="Whose tokenizer: id or alias (default flash)."),
    ] = None


class CountTokensOutput(ToolOutput):
    model: Annotated[str, Field(description="The model whose tokenizer counted.")]
    total_tokens: Annotated[int, Field(description="Tokens the request would use as input.")]


async def count_tokens(args: CountTokensInput, call: Call) -> CallToolResult:
    call.model = model = pick(call, args.model, Task.TEXT).model
    contents = await build_contents(args, call)
    total = await tokens_of(call, model, contents, args.system_instruction)
    output = CountTokensOutput(model=model, total_tokens=total)
    return structured_result(output, text=f"{output.total_tokens} tokens ({model})")


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_text",
        title="Generate text with Gemini",
        description=(
            "Ask Gemini to write, answer, summarise, translate, proofread, reason or code. Give `prompt` (or "
            "`contents` for a conversation), optionally `media`. `url_context` reads URLs in the prompt; "
            "`code_execution` runs Python. Returns the answer as text; model, finish reason and token usage in "
            "structured content. With a progress token the answer streams in progress messages."
        ),
        input_model=GenerateTextInput,
        output_model=GenerateTextOutput,
        handler=generate_text,
        annotations=_GENERATES,
    ),
    ToolSpec(
        name="generate_json",
        title="Generate JSON matching a schema",
        description=(
            "Ask Gemini for data matching `schema`: extraction, classification, lists. Returns the parsed, "
            "schema-validated value as `data` in structured content (and as JSON text)."
        ),
        input_model=GenerateJsonInput,
        output_model=GenerateJsonOutput,
        handler=generate_json,
        annotations=_GENERATES,
    ),
    ToolSpec(
        name="count_tokens",
        title="Count tokens",
        description=(
            "Count the input tokens a prompt (or conversation, with media) uses on a model, to check it fits "
            "the context window or to estimate cost. Nothing is generated."
        ),
        input_model=CountTokensInput,
        output_model=CountTokensOutput,
        handler=count_tokens,
        annotations=_COUNTS,
    ),
]
