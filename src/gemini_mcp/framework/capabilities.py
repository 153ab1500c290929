"""What the configured backend can serve, and which toolsets are on: the `gemini://capabilities` resource and part
of list_models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field

from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.toolsets import active_selection, server_selection
from gemini_mcp.gemini.catalog import current
from gemini_mcp.gemini.listing import cached_listing
from gemini_mcp.gemini.models import ModelError, Task, alias_table, resolve, use_overlay

if TYPE_CHECKING:
    from gemini_mcp.framework.catalog import RegisteredSpec

CAPABILITIES_URI = "gemini://capabilities"


class ToolAvailability(BaseModel):
    name: str
    available: bool
    how_to_enable: Annotated[str | None, Field(description="What to change when the tool is unavailable.")] = None


class CatalogModel(BaseModel):
    id: str
    tasks: list[str]
    stage: Annotated[str, Field(description="preview, ga, deprecated or retired on this backend.")]
    retires: Annotated[str | None, Field(description="Deprecated: the announced retirement date.")] = None
    retired: Annotated[str | None, Field(description="Retired: since when.")] = None
    successor: Annotated[str | None, Field(description="What to use instead.")] = None
    available: Annotated[
        bool | None, Field(description="Listed for these credentials by the last models.list (unknown: absent).")
    ] = None


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
    defaults: Annotated[dict[str, str], Field(description="Default model per task on this backend.")]
    catalog_as_of: Annotated[str | None, Field(description="Date of the model catalog's facts.")] = None
    models: Annotated[
        list[CatalogModel] | None,
        Field(description="The model catalog for this backend: stage, retirement dates, successors, availability."),
    ] = None


def _defaults(settings: Settings) -> dict[str, str]:
    found = {}
    for task in Task:
        try:
            found[task.value] = resolve(None, task, settings.backend).model
        except ModelError:  # an overlay retired a default and named no successor: the resolution says so
            continue
    return found


def catalog_models(settings: Settings) -> list[CatalogModel]:
    """The catalog's models for the configured backend, with what the last `models.list` said of each."""
    listing = cached_listing(settings)
    listed = listing.ids if listing is not None else None
    models = []
    for entry in current().entries():
        served = entry.on(settings.backend)
        if served is None or entry.match == "prefix":
            continue
        available = None if listed is None or served.stage == "retired" else entry.id.lower() in listed
        models.append(
            CatalogModel(
                id=entry.id,
                tasks=list(entry.tasks),
                stage=served.stage,
                retires=served.retires,
                retired=served.retired,
                successor=entry.replacement(settings.backend),
                available=False if served.stage == "retired" else available,
            )
        )
    return models


def describe(settings: Settings, specs: Sequence[RegisteredSpec], *, models: bool = True) -> Capabilities:
    """What this backend serves to the caller: within a request, the tools its selection enables (the settings'
    own, or an HTTP request's narrower one), and (with `models`) the model catalog for the backend."""
    use_overlay(settings.models_file)
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
        defaults=_defaults(settings),
        catalog_as_of=current().as_of,
        models=catalog_models(settings) if models else None,
    )
