"""What the configured backend can serve, and which toolsets are on: the `gemini://capabilities` resource and part
of list_models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field

from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.toolsets import active_selection, server_selection
from gemini_mcp.gemini.models import DEFAULT_MODELS, alias_table

if TYPE_CHECKING:
    from gemini_mcp.framework.catalog import RegisteredSpec

CAPABILITIES_URI = "gemini://capabilities"


class ToolAvailability(BaseModel):
    name: str
    available: bool
    how_to_enable: Annotated[str | None, Field(description="What to change when the tool is unavailable.")] = None


class Capabilities(BaseModel):
    backend: Annotated[
        Literal["gemini", "vertex"],
        Field(description="'gemini' = Gemini Developer API; 'vertex' = Vertex AI (Gemini Enterprise Agent Platform)."),
    ]
    credentials: Annotated[str, Field(description="Where credentials come from (a variable name, never a value).")]
    base_url: Annotated[str | None, Field(description="Custom API base URL (emulator/proxy), if any.")] = None
    tools: Annotated[list[ToolAvailability], Field(description="The tools enabled here (for this request, over HTTP).")]
    toolsets: Annotated[list[str], Field(description="Toolsets with tools enabled here.")]
    toolsets_off: Annotated[
        list[str],
        Field(
            description="Toolsets this server (or this request's X-MCP-* headers) leaves out: the server enables "
            "them with GEMINI_MCP_TOOLSETS (--toolsets); a header can only narrow."
        ),
    ] = []
    read_only: Annotated[bool, Field(description="True when only tools annotated read-only are enabled.")] = False
    demo: Annotated[
        bool, Field(description="True under `gemini-mcp --demo`: answers come from the offline emulator.")
    ] = False
    aliases: Annotated[dict[str, str], Field(description="Model aliases accepted by every `model` field.")]
    defaults: Annotated[dict[str, str], Field(description="Default model per task.")]


def describe(settings: Settings, specs: Sequence[RegisteredSpec]) -> Capabilities:
    """What this backend serves to the caller: within a request, the tools its selection enables (the settings'
    own, or an HTTP request's narrower one)."""
    selection = active_selection() or server_selection(settings, specs)
    if settings.uses_project:
        location = settings.location or "us-central1"
        credentials = f"Vertex project {settings.project} ({location}), application default credentials"
    elif settings.api_key_variable:
        credentials = f"API key from {settings.api_key_variable}"
    else:
        credentials = "none: " + settings.missing_credentials_message()
    return Capabilities(
        backend=settings.backend,
        credentials=credentials,
        base_url=settings.base_url,
        tools=[
            ToolAvailability(
                name=spec.name,
                available=settings.backend in spec.backends,
                how_to_enable=None if settings.backend in spec.backends else spec.backend_hint or None,
            )
            for spec in specs
            if selection.allows(spec.name)
        ],
        toolsets=list(selection.toolsets),
        toolsets_off=list(selection.toolsets_off),
        read_only=selection.read_only,
        demo=settings.demo,
        aliases=dict(alias_table()),
        defaults={task.value: model for task, model in DEFAULT_MODELS.items()},
    )
