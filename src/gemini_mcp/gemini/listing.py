"""The models the configured credentials can use, as the API lists them (`models.list`, every page), merged with
what the model catalog knows of each (stage, retirement date, successor).

The list is cached for `GEMINI_MCP_MODELS_TTL` seconds per backend and endpoint: `list_models` asks again once
it is stale, and the `gemini://capabilities` resource (which makes no call of its own) shows the availability
the last listing found. The catalog's word is merged in when the list is read, so an overlay edited since
shows at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gemini_mcp.gemini.catalog import Entry, current, strip_prefix

if TYPE_CHECKING:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.gemini.context import GeminiCall


@dataclass(frozen=True)
class ListedModel:
    id: str  # without the `models/` or `publishers/google/models/` prefix: what `model` fields take
    display_name: str | None
    description: str | None
    input_token_limit: int | None
    output_token_limit: int | None
    supported_actions: list[str] | None
    stage: str | None = None  # the catalog's stage on this backend (None: the catalog does not know it)
    retires: str | None = None  # a deprecated model's retirement date, per the catalog
    successor: str | None = None


@dataclass(frozen=True)
class Listing:
    models: tuple[ListedModel, ...]
    fetched_at: float  # time.monotonic()

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(m.id.lower() for m in self.models)


_listings: dict[tuple[str, str | None], Listing] = {}


def forget_listings() -> None:
    """Drop every cached listing (the cache is per process, shared by every server built in it)."""
    _listings.clear()


def _key(settings: Settings) -> tuple[str, str | None]:
    return settings.backend, settings.base_url


def cached_listing(settings: Settings) -> Listing | None:
    """The last listing for these settings' backend and endpoint while it is fresh, else None."""
    found = _listings.get(_key(settings))
    if found is None or time.monotonic() - found.fetched_at > settings.models_ttl_s:
        return None
    return found


def _merged(settings: Settings, model_id: str, base: ListedModel) -> ListedModel:
    entry: Entry | None = current().get(model_id)
    if entry is None:
        return base
    served = entry.on(settings.backend)
    return ListedModel(
        **{
            **vars(base),
            "stage": served.stage if served else None,
            "retires": served.retires if served else None,
            "successor": entry.replacement(settings.backend),
        }
    )


async def fetch_listing(call: GeminiCall) -> Listing:
    """Every page of `models.list`, from the cache while it is fresh (`GEMINI_MCP_MODELS_TTL`)."""
    settings = call.settings
    cached = cached_listing(settings)
    if cached is not None:
        return cached
    client = await call.client()
    found: list[ListedModel] = []
    async for model in await client.aio.models.list():  # the pager fetches the next pages as it goes
        model_id = strip_prefix(model.name or "")
        listed = ListedModel(
            id=model_id,
            display_name=model.display_name,
            description=model.description,
            input_token_limit=model.input_token_limit,
            output_token_limit=model.output_token_limit,
            supported_actions=model.supported_actions,
        )
        found.append(listed)
    listing = Listing(tuple(found), time.monotonic())
    _listings[_key(settings)] = listing
    return listing


async def list_models(call: GeminiCall, contains: str | None = None) -> list[ListedModel]:
    """The listed models whose id contains `contains` (any case), in the API's order, with the catalog's word
    on each."""
    listing = await fetch_listing(call)
    return [_merged(call.settings, m.id, m) for m in listing.models if not contains or contains.lower() in m.id.lower()]
