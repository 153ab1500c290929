"""Function calling in the SDK's form: the declarations and calling mode, and the turns that return results.

Gemini only plans the calls here (automatic function calling is off): the agent runs them and sends the
results back as a model turn of `function_call` parts followed by a user turn of `function_response` parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gemini_mcp.gemini.schema import check_schema

if TYPE_CHECKING:
    from google.genai import types

CallingMode = Literal["AUTO", "ANY", "NONE"]


@dataclass(frozen=True)
class Declared:
    name: str
    description: str
    parameters: dict[str, Any] | None = None  # a JSON Schema or Gemini's schema: its dialect picks the field


@dataclass(frozen=True)
class Returned:
    name: str
    args: dict[str, Any]
    id: str | None
    response: dict[str, Any]


def calling_config(functions: Iterable[Declared], mode: CallingMode, allowed: list[str] | None) -> dict[str, Any]:
    """The `build_config` extras that offer `functions` and let Gemini only ask for calls, never make them."""
    from google.genai import types

    declarations = []
    for function in functions:
        declaration = types.FunctionDeclaration(name=function.name, description=function.description)
        if function.parameters is not None:
            if check_schema(function.parameters, "parameters") == "gemini":
                declaration.parameters = types.Schema.model_validate(function.parameters)
            else:
                declaration.parameters_json_schema = function.parameters
        declarations.append(declaration)
    return {
        "tools": [types.Tool(function_declarations=declarations)],
        "tool_config": types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode(mode), allowed_function_names=allowed
            )
        ),
        "automatic_function_calling": types.AutomaticFunctionCallingConfig(disable=True),
    }


def result_turns(results: list[Returned]) -> list[types.Content]:
    """The model's calls and then their results, appended after the conversation that asked for them."""
    from google.genai import types

    if not results:
        return []
    calls = [types.Part(function_call=types.FunctionCall(name=r.name, args=r.args, id=r.id)) for r in results]
    answers = [
        types.Part(function_response=types.FunctionResponse(name=r.name, response=r.response, id=r.id)) for r in results
    ]
    return [types.Content(role="model", parts=calls), types.Content(role="user", parts=answers)]
