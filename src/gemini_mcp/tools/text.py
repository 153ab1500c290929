"""Text tools: generate_text, generate_json, count_tokens."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.gemini.errors import UserInputError
from gemini_mcp.gemini.request import PromptFields, TextRequest, build_config, resolve_text_model, to_contents
from gemini_mcp.gemini.response import GenerationInfo, info_of, text_of
from gemini_mcp.gemini.schema import check_schema, to_json_schema, validate_value
from gemini_mcp.server.toolkit import Call, ToolInput, ToolOutput, ToolSpec, structured_result

_GENERATES = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_COUNTS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


# --- generate_text -------------------------------------------------------------------------------------


class GenerateTextInput(ToolInput, TextRequest):
    """Arguments of generate_text."""


class GenerateTextOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The model's answer.")]


async def generate_text(args: GenerateTextInput, call: Call) -> CallToolResult:
    call.model = model = resolve_text_model(args.model)
    config = build_config(args, model, call.notes)
    client = await call.client()
    response = await client.aio.models.generate_content(model=model, contents=to_contents(args), config=config)
    text = text_of(response)
    output = GenerateTextOutput(text=text, **info_of(response, model, call.notes).model_dump())
    return structured_result(output, text=text)


# --- generate_json -------------------------------------------------------------------------------------


class GenerateJsonInput(ToolInput, TextRequest):
    """Arguments of generate_json."""

    response_schema: Annotated[
        dict[str, Any],
        Field(
            alias="schema",
            description="Shape of the JSON to produce: a JSON Schema ({'type': 'object', 'properties': "
            "{...}}) or Gemini's schema ({'type': 'OBJECT', 'properties': {...}, 'propertyOrdering': [...]}). "
            "Objects must declare properties.",
        ),
    ]


class GenerateJsonOutput(ToolOutput, GenerationInfo):
    data: Annotated[Any, Field(description="The parsed JSON value, validated against the schema.")]


async def generate_json(args: GenerateJsonInput, call: Call) -> CallToolResult:
    dialect = check_schema(args.response_schema)
    call.model = model = resolve_text_model(args.model)
    schema_field = "response_schema" if dialect == "gemini" else "response_json_schema"
    config = build_config(
        args, model, call.notes, response_mime_type="application/json", **{schema_field: args.response_schema}
    )
    client = await call.client()
    response = await client.aio.models.generate_content(model=model, contents=to_contents(args), config=config)
    text = text_of(response)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"Gemini's answer was not valid JSON ({exc.msg} at position {exc.pos}); retry, or simplify the "
            f"schema. Answer began: {text[:200]!r}"
        ) from None
    validate_value(data, to_json_schema(args.response_schema, dialect), where="answer (against schema)")
    output = GenerateJsonOutput(data=data, **info_of(response, model, call.notes).model_dump())
    return structured_result(output, [TextContent(type="text", text=json.dumps(data, indent=2, ensure_ascii=False))])


# --- count_tokens --------------------------------------------------------------------------------------


class CountTokensInput(ToolInput, PromptFields):
    """Arguments of count_tokens."""

    model: Annotated[
        str | None,
        Field(description="Model whose tokenizer counts (id or alias). Default: gemini-2.5-flash."),
    ] = None


class CountTokensOutput(ToolOutput):
    model: Annotated[str, Field(description="The model whose tokenizer counted.")]
    total_tokens: Annotated[int, Field(description="Tokens the request would use as input.")]


async def count_tokens(args: CountTokensInput, call: Call) -> CallToolResult:
    from google.genai import types

    call.model = model = resolve_text_model(args.model)
    client = await call.client()
    config = None
    if args.system_instruction and call.settings.backend == "vertex":
        # The Developer API's countTokens takes no system instruction; Vertex counts it.
        config = types.CountTokensConfig(system_instruction=args.system_instruction)
    response = await client.aio.models.count_tokens(model=model, contents=to_contents(args), config=config)
    output = CountTokensOutput(model=model, total_tokens=response.total_tokens or 0)
    return structured_result(output, text=f"{output.total_tokens} tokens ({model})")


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_text",
        title="Generate text with Gemini",
        description=(
            "Ask Gemini to write, answer, summarise, translate, proofread, reason or code. Give `prompt` (or "
            "`contents` for a conversation) and optionally `system_instruction`, sampling settings and "
            "`model` ('flash' default; 'pro' for hard reasoning). Returns the answer as text, plus the model, "
            "finish reason and token usage in structured content."
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
            "Ask Gemini for structured data that matches `schema` (JSON Schema, or Gemini's OBJECT/STRING "
            "schema): extraction, classification, lists. Returns the parsed, schema-validated value as "
            "`data` in structured content (and as JSON text)."
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
            "Count how many input tokens a prompt (or conversation) uses on a model, to check it fits the "
            "context window or to estimate cost. Nothing is generated."
        ),
        input_model=CountTokensInput,
        output_model=CountTokensOutput,
        handler=count_tokens,
        annotations=_COUNTS,
    ),
]
