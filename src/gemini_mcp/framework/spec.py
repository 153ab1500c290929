"""How a tool is declared: its input and output models, annotations, backends and handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from gemini_mcp.config.settings import Backend, Settings
from gemini_mcp.framework.call import Call

InputT = TypeVar("InputT", bound=BaseModel)


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown arguments are errors, not silently dropped."""

    # defer_build: a model's validator is built on its first call, not at start-up (schemas come from the cache).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class ToolOutput(BaseModel):
    """Base of every tool's structured output."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)


Handler = Callable[[Any, Call], Awaitable[CallToolResult]]


@dataclass(frozen=True)
class ToolSpec(Generic[InputT]):
    """Everything that describes one tool; the description is written for the agent that reads it."""

    name: str
    title: str
    description: str
    input_model: type[InputT]
    output_model: type[BaseModel]
    handler: Callable[[InputT, Call], Awaitable[CallToolResult]]
    annotations: ToolAnnotations
    backends: frozenset[Backend] = frozenset({"gemini", "vertex"})
    backend_hint: str = ""  # how to switch, when the current backend cannot serve the tool
    long_running: bool = False  # waits for Veo: bounded by GEMINI_MCP_VIDEO_DEADLINE, not the call deadline

    @property
    def is_loaded(self) -> bool:
        """False for a LazyToolSpec whose module is not imported yet (framework/catalog.py)."""
        return True

    def deadline_s(self, settings: Settings) -> float:
        """How long one call may take in all; a video call also downloads and saves the result."""
        return settings.video_deadline_s + settings.request_timeout_s if self.long_running else settings.call_deadline_s
