"""list_models: which models this key can use, the aliases, the task defaults, and what this backend serves."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.capabilities import Capabilities, catalog_models, describe
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.listing import list_models as list_available


class ListModelsInput(ToolInput):
    """Arguments of list_models."""

    contains: Annotated[
        str | None,
        Field(description="Filter on the id, e.g. 'flash', 'image', 'veo'."),
    ] = None


class ModelInfo(ToolOutput):
    id: Annotated[str, Field(description="Model id to pass as `model`.")]
    display_name: str | None = None
    description: str | None = None
    input_token_limit: int | None = None
    output_token_limit: int | None = None
    supported_actions: Annotated[list[str] | None, Field(description="API methods the model supports.")] = None
    stage: Annotated[str | None, Field(description="Catalog stage here: preview, ga, deprecated.")] = None
    retires: Annotated[str | None, Field(description="Deprecated: its retirement date.")] = None
    successor: Annotated[str | None, Field(description="What to move to.")] = None


class ListModelsOutput(ToolOutput):
    models: Annotated[list[ModelInfo], Field(description="Models the API lists for these credentials.")]
    not_listed: Annotated[
        list[str] | None, Field(description="Catalog models for this backend the API does not list for this key.")
    ] = None
    capabilities: Capabilities
    notes: list[str] | None = None


async def list_models(args: ListModelsInput, call: Call) -> CallToolResult:
    capabilities = describe(call.settings, call.services.specs, models=False)
    models: list[ModelInfo] = []
    notes: list[str] = []
    missing: list[str] = []
    if call.settings.has_credentials:
        models = [ModelInfo(**vars(listed)) for listed in await list_available(call, args.contains)]
        missing = [
            m.id
            for m in catalog_models(call.settings)
            if m.available is False and m.stage != "retired" and (not args.contains or args.contains in m.id)
        ]
    else:
        notes.append(call.settings.missing_credentials_message())
    output = ListModelsOutput(models=models, not_listed=missing or None, capabilities=capabilities, notes=notes or None)
    lines = [f"{m.id}" + (f" — {m.display_name}" if m.display_name else "") + _lifecycle(m) for m in models]
    unavailable = [t.name for t in capabilities.tools if not t.available]
    summary = [
        f"Backend: {capabilities.backend}; credentials: {capabilities.credentials}",
        f"{len(models)} models" + (":" if models else ""),
        *lines,
        "Aliases: " + ", ".join(f"{a} → {m}" for a, m in capabilities.aliases.items()),
    ]
    if missing:
        summary.append("In the catalog but not listed for these credentials: " + ", ".join(missing))
    if unavailable:
        summary.append("Unavailable on this backend: " + ", ".join(unavailable))
    toolsets = "Toolsets on: " + (", ".join(capabilities.toolsets) or "none")
    if capabilities.toolsets_off:
        toolsets += "; off: " + ", ".join(capabilities.toolsets_off)
    summary.append(toolsets + ("; read-only tools only" if capabilities.read_only else ""))
    summary.extend(notes)
    return structured_result(output, text="\n".join(summary))


def _lifecycle(model: ModelInfo) -> str:
    if model.stage == "deprecated":
        retires = f", retires {model.retires}" if model.retires else ""
        return f" [deprecated{retires}" + (f"; use {model.successor}]" if model.successor else "]")
    return " [preview]" if model.stage == "preview" else ""


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="list_models",
        title="List Gemini models and capabilities",
        description=(
            "List the Gemini models these credentials can use (filter with `contains`) with their stage, "
            "retirement date and successor, the model aliases every `model` field accepts, the default model per "
            "task, and which tools the configured backend (Developer API or Vertex AI) can serve."
        ),
        input_model=ListModelsInput,
        output_model=ListModelsOutput,
        handler=list_models,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
