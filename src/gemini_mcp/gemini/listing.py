"""The models the configured credentials can use, as the API lists them (`models.list`, every page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gemini_mcp.gemini.context import GeminiCall


@dataclass(frozen=True)
class ListedModel:
    id: str  # without the `models/` or `publishers/google/models/` prefix: what `model` fields take
    display_name: str | None
    description: str | None
    input_token_limit: int | None
    output_token_limit: int | None
    supported_actions: list[str] | None


async def list_models(call: GeminiCall, contains: str | None = None) -> list[ListedModel]:
    """The listed models whose id contains `contains` (any case), in the API's order."""
    client = await call.client()
    found: list[ListedModel] = []
    async for model in await client.aio.models.list():
        model_id = (model.name or "").removeprefix("models/").removeprefix("publishers/google/models/")
        if contains and contains.lower() not in model_id.lower():
            continue
        found.append(
            ListedModel(
                id=model_id,
                display_name=model.display_name,
                description=model.description,
                input_token_limit=model.input_token_limit,
                output_token_limit=model.output_token_limit,
                supported_actions=model.supported_actions,
            )
        )
    return found
