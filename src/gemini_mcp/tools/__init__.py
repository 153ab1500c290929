"""Tool families, one module each; `all_tool_specs` is what the server registers.

Every module in this package that defines `TOOLS` is registered, in the order of `FAMILIES` (modules
not listed there come after, alphabetically), so adding a family means adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from gemini_mcp.framework.spec import ToolSpec

FAMILIES = (
    "text",
    "understanding",
    "functions",
    "search",
    "chats",
    "embeddings",
    "images",
    "speech",
    "video",
    "live",
    "models",
)


def specs_by_module() -> list[tuple[str, ToolSpec[Any]]]:
    """Every tool with the module that registers it (where a lazily registered tool is loaded from)."""
    found = {info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")}
    ordered = [name for name in FAMILIES if name in found] + sorted(found - set(FAMILIES))
    specs: list[tuple[str, ToolSpec[Any]]] = []
    for name in ordered:
        module = importlib.import_module(f"{__name__}.{name}")
        specs.extend((module.__name__, spec) for spec in getattr(module, "TOOLS", []))
    return specs


def all_tool_specs() -> list[ToolSpec[Any]]:
    return [spec for _, spec in specs_by_module()]
