"""Tool families, one module each; `all_tool_specs` is what the server registers."""

from __future__ import annotations

from typing import Any

from gemini_mcp.server.toolkit import ToolSpec


def all_tool_specs() -> list[ToolSpec[Any]]:
    from gemini_mcp.tools import models, text

    return [*text.TOOLS, *models.TOOLS]
