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
from collections.abc import Callable
from typing import Any

from mcp_types import ToolAnnotations

from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.spec import ToolSpec

CATALOG_KEY = "catalog"


class LazyToolSpec(ToolSpec[Any]):
    """A ToolSpec known from the catalog; its models and handler load from its module when first used."""

    def __init__(self, entry: dict[str, Any]) -> None:  # not the dataclass __init__: no models to pass yet
        values = {
            "name": entry["name"],
            "title": entry["title"],
            "description": entry["description"],
            "annotations": ToolAnnotations.model_validate(entry["annotations"]),
            "backends": frozenset(entry["backends"]),
            "backend_hint": entry["backend_hint"],
            "long_running": entry["long_running"],
            "module": entry["module"],
            "_loaded": None,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _load(self) -> ToolSpec[Any]:
        loaded: ToolSpec[Any] | None = self.__dict__["_loaded"]
        if loaded is None:
            module = importlib.import_module(self.__dict__["module"])
            loaded = next(spec for spec in module.TOOLS if spec.name == self.name)
            object.__setattr__(self, "_loaded", loaded)
        return loaded

    @property
    def is_loaded(self) -> bool:
        return self.__dict__["_loaded"] is not None

    @property  # type: ignore[override]
    def input_model(self) -> Any:
        return self._load().input_model

    @property  # type: ignore[override]
    def output_model(self) -> Any:
        return self._load().output_model

    @property  # type: ignore[override]
    def handler(self) -> Any:
        return self._load().handler

    # The dataclass versions would read the lazy fields (and import the module) to compare or print.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"LazyToolSpec({self.name!r}, loaded={self.is_loaded})"


def catalog_entry(module: str, spec: ToolSpec[Any]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "annotations": spec.annotations.model_dump(mode="json", by_alias=True, exclude_none=True),
        "backends": sorted(spec.backends),
        "backend_hint": spec.backend_hint,
        "long_running": spec.long_running,
        "module": module,
    }


def tool_specs(cache: SchemaCache, discover: Callable[[], list[tuple[str, ToolSpec[Any]]]]) -> list[ToolSpec[Any]]:
    """Every tool: lazily from the cached catalog when there is one, else from `discover()` (the server passes
    `gemini_mcp.tools.specs_by_module`: the framework names no tool family), which imports the tool modules."""
    catalog = cache.entries.get(CATALOG_KEY) if cache.enabled else None
    if isinstance(catalog, list) and catalog:
        try:
            return [LazyToolSpec(entry) for entry in catalog]
        except (KeyError, TypeError, ValueError):
            pass  # a catalog from an incompatible layout: rebuild it below
    found = discover()
    if cache.enabled:
        cache.entries[CATALOG_KEY] = [catalog_entry(module, spec) for module, spec in found]
        cache.dirty = True
    return [spec for _, spec in found]
