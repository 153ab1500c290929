"""plan_function_calls: which of the agent's functions Gemini wants called, with what arguments.

The agent declares functions (name, description, JSON-schema parameters) and asks; Gemini answers with
calls. The agent runs them itself and, to get the final answer, calls again with `results`.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import BARE_OBJECT, ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.functions import CallingMode, Declared, Returned, calling_config, result_turns
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.request import TextRequest, build_config, build_contents, text_model
from gemini_mcp.gemini.response import GenerationInfo
from gemini_mcp.gemini.schema import check_schema

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")


# The two item models have no docstring and their fields no description: the tool's description and the
# `functions` / `results` fields say what they hold (the naming rule included), once.
class FunctionDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    parameters: dict[str, Any] | None = None


class FunctionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    args: dict[str, Any] = {}
    id: str | None = None
    response: dict[str, Any]


class PlanFunctionCallsInput(ToolInput, TextRequest):
    """Arguments of plan_function_calls."""

    functions: Annotated[
        list[Annotated[FunctionDeclaration, BARE_OBJECT]],
        Field(
            min_length=1,
            max_length=128,
            description="Callable functions: {name, description, parameters (JSON Schema, optional)}.",
        ),
    ]
    mode: Annotated[CallingMode, Field(description="ANY: must call; NONE: never.")] = "AUTO"
    allowed_function_names: Annotated[list[str] | None, Field(description="ANY: only these.")] = None
    results: Annotated[
        list[Annotated[FunctionResult, BARE_OBJECT]] | None,
        Field(description="Its calls as returned (name, args, id) + your `response` object."),
    ] = None


class FunctionCall(ToolOutput):
    name: Annotated[str, Field(description="Function to call.")]
    args: Annotated[dict[str, Any], Field(description="Arguments, matching the declared parameters.")]
    id: Annotated[str, Field(description="Call id; pass it back in `results`.")]


class PlanFunctionCallsOutput(ToolOutput, GenerationInfo):
    calls: Annotated[list[FunctionCall], Field(description="Calls the model wants, in order (may be several).")]
    text: Annotated[str | None, Field(description="Text the model wrote (the final answer when no calls).")] = None


def check_declarations(functions: list[FunctionDeclaration]) -> None:
    seen: set[str] = set()
    for index, function in enumerate(functions):
        where = f"functions[{index}]"
        if not _NAME.match(function.name):
            raise UserInputError(
                f"{where}.name: '{function.name}' is not a valid function name: start with a letter or _, then use "
                "letters, digits, _ . : - (at most 64 characters)"
            )
        if function.name in seen:
            raise UserInputError(f"{where}.name: '{function.name}' is declared twice; names must be unique")
        seen.add(function.name)
        if function.parameters is not None:
            check_schema(function.parameters, f"{where}.parameters")
            kind = str(function.parameters.get("type", "")).lower()
            if kind != "object":
                raise UserInputError(
                    f"{where}.parameters: must be an object schema ({{'type': 'object', 'properties': {{...}}}}), "
                    f"not '{function.parameters.get('type')}'"
                )


async def plan_function_calls(args: PlanFunctionCallsInput, call: Call) -> CallToolResult:
    check_declarations(args.functions)
    names = {f.name for f in args.functions}
    for index, name in enumerate(args.allowed_function_names or []):
        if name not in names:
            raise UserInputError(f"allowed_function_names[{index}]: '{name}' is not one of the declared functions")
    call.model = model = text_model(args, call)
    offered = [Declared(f.name, f.description, f.parameters) for f in args.functions]
    config = build_config(args, model, call.notes, **calling_config(offered, args.mode, args.allowed_function_names))
    contents = await build_contents(args, call)
    contents += result_turns([Returned(r.name, r.args, r.id, r.response) for r in args.results or []])
    answer = await generate(call, model, contents, config)
    calls = [
        FunctionCall(name=asked.name, args=asked.args, id=asked.id or f"call-{secrets.token_hex(4)}")
        for asked in answer.function_calls
    ]
    text = (answer.text or None) if calls else answer.require_text()
    output = PlanFunctionCallsOutput(calls=calls, text=text, **answer.info(model, call.notes).model_dump())
    if calls:
        summary = "\n".join(f"call {c.name}({c.args}) id={c.id}" for c in calls)
        summary += "\nRun these, then call plan_function_calls again with `results` for the final answer."
    else:
        summary = text or ""
    return structured_result(output, text=summary)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="plan_function_calls",
        title="Plan function calls with Gemini",
        description=(
            "Give Gemini your functions (name, description, JSON-schema parameters) and a prompt; it returns the "
            "calls it wants (name, args, id) in structured content and runs none. Run them yourself, then call "
            "again with the same prompt, functions and `results` for the final answer. `mode` ANY forces a call, "
            "NONE forbids calls, AUTO (default) lets the model decide. Function names start with a letter or _, "
            "then letters, digits, _ . : - (at most 64)."
        ),
        input_model=PlanFunctionCallsInput,
        output_model=PlanFunctionCallsOutput,
        handler=plan_function_calls,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    ),
]
