"""What the knowledge toolsets (files, caches, file_search, batch) share: backend, annotations, paging fields
and the answer of a deletion."""

from __future__ import annotations

from typing import Annotated

from mcp_types import ToolAnnotations
from pydantic import Field

from gemini_mcp.config.settings import Backend
from gemini_mcp.framework.spec import ToolInput, ToolOutput

GEMINI_ONLY: frozenset[Backend] = frozenset({"gemini"})
DEVELOPER_API_HINT = (
    "The Files API, caches, File Search and batches here are Gemini Developer API features: use a Gemini API key "
    "(GEMINI_API_KEY, without GOOGLE_GENAI_USE_VERTEXAI); on Vertex AI pass Cloud Storage gs:// URIs as file_uri"
)
PAGE_SIZE = "Items per page (max 100)."
PAGE_TOKEN = "next_page_token of the previous page."
NEXT_PAGE = "Pass as page_token for more."
READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CREATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
UPDATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
DELETES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


class PagedInput(ToolInput):
    """One page of a listing (the Files API and caches take up to 100 a page)."""

    page_size: Annotated[int, Field(ge=1, le=100, description=PAGE_SIZE)] = 20
    page_token: Annotated[str | None, Field(description=PAGE_TOKEN)] = None


def page_text(lines: list[str], token: str | None, empty: str) -> str:
    """A listing's text: a line per item (or `empty`), then how to get the next page."""
    more = f"\nMore: page_token={token}" if token else ""
    return ("\n".join(lines) or empty) + more


class Deleted(ToolOutput):
    deleted: Annotated[str, Field(description="The name of what was deleted.")]
