"""Which tools the server has, without importing their modules at start-up.

Each tool module defines pydantic models for its inputs and outputs; creating ~70 model classes is most of
the server's own start-up time. Their names, descriptions, annotations and JSON schemas depend only on the
code, so the schema cache (`framework/schema_cache.py`, keyed by every module's size and mtime) also keeps a
catalog of the tools. With it, the server registers `LazyToolSpec`s, which import their module on the first
call. Without it (first run, code changed, `GEMINI_MCP_SCHEMA_CACHE=0`), the modules are imported as usual
and the catalog is written for next time.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from mcp_types import ToolAnnotations
from pydantic import BaseModel

from gemini_mcp.config.settings import Backend, Settings
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.spec import ToolSpec

if TYPE_CHECKING:
    from gemini_mcp.framework.call import Call
    from gemini_mcp.framework.jobs import JobKind

CATALOG_KEY = "catalog"


class LazyToolSpec:
    """A tool known from the catalog, standing in for its ToolSpec until the module is imported.

    What registration, capabilities, toolsets and job lookup read (name, title, description, annotations,
    backends, the job kind's name, the toolset) comes from the catalog entry. The models, the handler and
    everything else a call needs come from the real ToolSpec (`spec`), imported on first use. A plain class, not
    a ToolSpec subclass: a frozen dataclass's fields cannot be filled in later without bypassing its frozenness.
    """

    def __init__(self, entry: dict[str, Any], spec: ToolSpec[Any] | None = None) -> None:
        self.name: str = entry["name"]
        self.title: str = entry["title"]
        self.description: str = entry["description"]
        self.annotations = ToolAnnotations.model_validate(entry["annotations"])
        self.backends: frozenset[Backend] = frozenset(entry["backends"])
        self.backend_hint: str = entry["backend_hint"]
        self.job_name: str | None = entry["job"]
        self.waits_on_jobs: bool = entry["waits_on_jobs"]
        self.module: str = entry["module"]
        self.toolset: str = entry["toolset"]
        self.opt_in: bool = entry["opt_in"]
        self._spec = spec  # given when the module is imported already (no cached catalog yet)

    @property
    def spec(self) -> ToolSpec[Any]:
        """The real ToolSpec, importing its module the first time."""
        if self._spec is None:
            module = importlib.import_module(self.module)
            self._spec = next(spec for spec in module.TOOLS if spec.name == self.name)
        return self._spec

    @property
    def is_loaded(self) -> bool:
        return self._spec is not None

    @property
    def input_model(self) -> type[BaseModel]:
        return self.spec.input_model

    @property
    def output_model(self) -> type[BaseModel]:
        return self.spec.output_model

    @property
    def handler(self) -> Callable[[Any, Call], Awaitable[Any]]:
        return self.spec.handler

    @property
    def job(self) -> JobKind | None:
        return self.spec.job if self.job_name is not None else None

    def deadline_s(self, settings: Settings) -> float:
        return self.spec.deadline_s(settings)

    @property
    def deadline_setting(self) -> str:
        return self.spec.deadline_setting

    def __repr__(self) -> str:
        return f"LazyToolSpec({self.name!r}, loaded={self.is_loaded})"


# A tool as the server holds it: its ToolSpec, or the catalog's stand-in until its module is imported.
RegisteredSpec: TypeAlias = ToolSpec[Any] | LazyToolSpec


def catalog_entry(module: str, spec: ToolSpec[Any]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "annotations": spec.annotations.model_dump(mode="json", by_alias=True, exclude_none=True),
        "backends": sorted(spec.backends),
        "backend_hint": spec.backend_hint,
        "job": spec.job_name,
        "waits_on_jobs": spec.waits_on_jobs,
        "module": module,
        "toolset": spec.toolset or family_of(module),
        "opt_in": spec.opt_in,
    }


def family_of(module: str) -> str:
    """A tool module's family name: `gemini_mcp.tools.video` → `video`."""
    return module.rsplit(".", 1)[-1]


def tool_specs(cache: SchemaCache, discover: Callable[[], list[tuple[str, ToolSpec[Any]]]]) -> list[RegisteredSpec]:
    """Every tool: lazily from the cached catalog when there is one, else from `discover()` (the server passes
    `gemini_mcp.tools.specs_by_module`: the framework names no tool family), which imports the tool modules."""
    catalog = cache.entries.get(CATALOG_KEY) if cache.enabled else None
    if isinstance(catalog, list) and catalog:
        try:
            return [LazyToolSpec(entry) for entry in catalog]
        except (KeyError, TypeError, ValueError):
            pass  # a catalog from an incompatible layout: rebuild it below
    found = discover()
    entries = [catalog_entry(module, spec) for module, spec in found]
    if cache.enabled:
        cache.entries[CATALOG_KEY] = entries
        cache.dirty = True
    # Imported specs wear the catalog's face too: their toolset comes from the module that declares them, which a
    # ToolSpec alone does not know.
    return [LazyToolSpec(entry, spec) for entry, (_, spec) in zip(entries, found, strict=True)]
