"""What a Gemini helper needs from the tool call it works for: a client, progress, notes, media loading.

The framework's `Call` satisfies this protocol; a test or a script can pass any small object that does.
Nothing here knows MCP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gemini_mcp.media.inputs import MediaSource

if TYPE_CHECKING:
    from google import genai


class GeminiCall(MediaSource, Protocol):
    notes: list[str]  # said in the result (an upload, a substituted model, ...)

    @property
    def wants_progress(self) -> bool:
        """Whether anyone listens to progress (streaming is chosen by this)."""
        ...

    async def client(self) -> genai.Client:
        """The shared google-genai client."""
        ...

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress; a no-op when nobody listens."""
        ...
