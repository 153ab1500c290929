"""Tool families, one module each; `all_tool_specs` is what the server registers.

Every module in this package that defines `TOOLS` is registered, in the order of `FAMILIES` (modules
not listed there come after, alphabetically), so adding a family means adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from gemini_mcp.server.toolkit import ToolSpec

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


def all_tool_specs() -> list[ToolSpec[Any]]:
    found = {info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")}
    ordered = [name for name in FAMILIES if name in found] + sorted(found - set(FAMILIES))
    specs: list[ToolSpec[Any]] = []
    for name in ordered:
        module = importlib.import_module(f"{__name__}.{name}")
        specs.extend(getattr(module, "TOOLS", []))
    return specs
