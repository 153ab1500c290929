"""Building the MCP server: one function that registers every tool family and the shared resources."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.request_state import RequestStateSecurity
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourcesListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, InputRequiredResult, ListResourcesResult, PaginatedRequestParams, Resource
from pydantic import AnyUrl

from gemini_mcp import __version__
from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.apps import MediaViewer, viewer_tools
from gemini_mcp.framework.call import Services
from gemini_mcp.framework.capabilities import CAPABILITIES_URI, describe
from gemini_mcp.framework.catalog import tool_specs
from gemini_mcp.framework.client_logging import register_client_logging
from gemini_mcp.framework.mcp_adapter import lowlevel_server
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.spec import ToolSpec
from gemini_mcp.framework.spend import SPEND_URI, spend_summary
from gemini_mcp.framework.tasks import JobTasks
from gemini_mcp.framework.toolkit import build_tools
from gemini_mcp.framework.toolsets import Selection, ToolsetGate, server_selection
from gemini_mcp.gemini.client import GeminiClient
from gemini_mcp.media.links import signer_for
from gemini_mcp.media.store import MEDIA_URI_PREFIX, MediaStore, RetentionPolicy, SavedMedia, StoredMedia
from gemini_mcp.server.auth import build_auth
from gemini_mcp.server.media_route import register_media_route
from gemini_mcp.server.prompts import register_prompts
from gemini_mcp.tools import specs_by_module

INSTRUCTIONS = """\
Tools for Google's Gemini API. Text: generate_text (answers, summaries, code; media inputs too), \
generate_json (data matching a schema), count_tokens, plan_function_calls, search_web (Google Search \
grounding with sources), chat_start/chat_send for multi-turn chats, embed_text. Understanding: \
analyze_media (describe images, summarise PDFs, transcribe audio, question videos). Media: generate_image, \
edit_image, generate_speech (one or two speakers), generate_video / extend_video (Veo). Long-running jobs \
report progress while you wait, or start with wait=false and collect later with get_job(job_id) \
(cancel_job stops one where the API can; get_video_operation is an alias for Veo). Live: live_converse \
(one spoken turn, WAV reply with transcripts), live_session_start/live_send/live_session_end (a conversation \
that remembers). list_models shows the \
models, the aliases every `model` field accepts ('flash', 'pro', 'nano banana', 'veo', ...) and which tools \
this server's backend can serve; the resource gemini://capabilities says the same as JSON. Generated media \
is saved by the server and readable as gemini://media/<id> resources; pass such a URI wherever a tool \
takes an image or video."""

DEMO_INSTRUCTIONS = (
    "DEMO MODE: every answer, image, clip and video comes from gemini-mcp's offline emulator, not from Google; "
    "say so when you show results. "
)


logger = logging.getLogger("gemini_mcp.server")
Discover = Callable[[], list[tuple[str, ToolSpec[Any]]]]

# Media entries per resources/list page: a folder of thousands of files is paged, never one huge answer.
MEDIA_PAGE_SIZE = 100
_CURSOR = re.compile(r"^media:(?P<mtime_ns>\d{1,20}):(?P<id>[0-9a-f]{8,32})$")


def _media_cursor(item: StoredMedia) -> str:
    """Where the next page starts: after this item in newest-first order, so files saved meanwhile (which
    sort first) never shift a page."""
    return f"media:{item.mtime_ns}:{item.id}"


def _media_resource(item: StoredMedia) -> Resource:
    return Resource(uri=MEDIA_URI_PREFIX + item.id, name=item.name, mime_type=item.mime_type, size=item.size_bytes)


class GeminiServer(MCPServer[Services]):
    """MCPServer whose `gemini://media/<id>` resources carry each file's own MIME type and are listed, newest
    first, a page at a time (`list_resource_page` replaces MCPServer's resources/list handler, which takes
    no cursor, through the low-level server's public add_request_handler)."""

    services: Services

    async def list_resource_page(
        self, ctx: ServerRequestContext[Services], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        cursor = params.cursor if params is not None else None
        items = await anyio.to_thread.run_sync(self.services.media.listing)
        resources: list[Resource] = []
        if cursor is None:
            resources = await self.list_resources()  # the fixed ones, on the first page only
        else:
            after = _CURSOR.match(cursor)
            if after is None:
                raise MCPError(
                    INVALID_PARAMS,
                    "Invalid cursor: pass the nextCursor of the previous resources/list answer unchanged "
                    "(or no cursor for the first page)",
                )
            start = (int(after["mtime_ns"]), after["id"])
            items = [item for item in items if (item.mtime_ns, item.id) < start]
        page = items[:MEDIA_PAGE_SIZE]
        more = len(items) > MEDIA_PAGE_SIZE
        return ListResourcesResult(
            resources=resources + [_media_resource(item) for item in page],
            next_cursor=_media_cursor(page[-1]) if more else None,
        )

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        uri_text = str(uri)
        if uri_text.startswith(MEDIA_URI_PREFIX):
            found = await self.services.media.read(uri_text[len(MEDIA_URI_PREFIX) :])
            if found is None:
                raise ResourceNotFoundError(
                    f"No media at {uri_text}: the id is unknown, or the file was removed by the output "
                    "directory's retention policy (GEMINI_MCP_OUTPUT_MAX_MB / _MAX_AGE_HOURS)"
                )
            data, mime_type = found
            return [ReadResourceContents(content=data, mime_type=mime_type)]
        return await super().read_resource(uri, context)


def build_services(settings: Settings, cache: SchemaCache | None = None, discover: Discover | None = None) -> Services:
    signer = signer_for(settings)
    media = MediaStore(
        settings.output_dir,
        inline_max_bytes=settings.inline_max_bytes,
        retention=RetentionPolicy(
            max_total_bytes=int(settings.output_max_mb * 1024 * 1024),
            max_age_s=settings.output_max_age_hours * 3600,
        ),
        link_for=signer.url if signer else None,
    )
    services = Services(settings=settings, gemini=GeminiClient(settings), media=media, media_urls=signer)
    services.specs = tool_specs(cache or SchemaCache(settings.schema_cache_dir), discover or specs_by_module)
    return services


def check_tool_selection(settings: Settings) -> Selection:
    """The tools the settings enable; SettingsError (one line per bad name) when they name an unknown toolset or
    tool. For the CLI, which reports bad values before it knows whether a client is there."""
    specs = tool_specs(SchemaCache(settings.schema_cache_dir), specs_by_module)
    return server_selection(settings, specs)


def _instructions(settings: Settings, selection: Selection) -> str:
    text = (DEMO_INSTRUCTIONS + INSTRUCTIONS) if settings.demo else INSTRUCTIONS
    every = list(selection.catalog.by_name)
    off = [name for name in every if not selection.allows(name)]
    if not off:
        return text
    if len(off) <= len(every) - len(off):  # name the shorter list: these words are paid for on every turn
        return text + f" Off on this server (its toolset settings): {', '.join(off)}."
    on = ", ".join(name for name in every if selection.allows(name)) or "none"
    return text + f" This server enables only: {on}; the other tools named above are off."


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Shared sealing keys let any replica open request state another one sealed (stateless mode)."""
    if not settings.state_keys:
        return None
    return RequestStateSecurity(keys=[key.get_secret_value() for key in settings.state_keys], audience="gemini")


def build_server(settings: Settings | None = None, discover: Discover | None = None) -> GeminiServer:
    """The MCP server with the tools its settings select registered; nothing touches the network until a tool runs.
    Settings that name an unknown toolset or tool raise SettingsError.
    `discover` replaces the tool package's families (tests add a throwaway one); their schemas stay in memory."""
    settings = settings or Settings.from_env()
    cache = SchemaCache(settings.schema_cache_dir if discover is None else None)
    services = build_services(settings, cache, discover)
    # The catalog keeps every tool (jobs of any kind stay collectable); only the selected ones are registered.
    selection = server_selection(settings, services.specs)
    auth, token_verifier = build_auth(settings)
    # Change events for subscriptions/listen streams (protocol 2026-07-28): a saved file changes the list.
    changes = InMemorySubscriptionBus()

    async def announce_saved(_: SavedMedia) -> None:
        try:
            await changes.publish(ResourcesListChanged())
        except Exception:  # the file is saved either way; a listener's failure must not fail the tool call
            logger.exception("could not announce a new media resource")

    services.media.on_saved = announce_saved

    @asynccontextmanager
    async def lifespan(_: MCPServer[Services]) -> AsyncIterator[Services]:
        await anyio.to_thread.run_sync(services.media.sweep_partials)
        try:
            async with anyio.create_task_group() as background:
                services.background = background
                try:
                    yield services
                finally:
                    await services.shut_down()
                    background.cancel_scope.cancel()
        finally:
            services.background = None
            await services.gemini.aclose()

    # MCP Apps: media results shown in the host, for clients that declare the extension (framework/apps.py).
    viewer = MediaViewer(viewer_tools([spec for spec in services.specs if selection.allows(spec.name)], cache))
    server = GeminiServer(
        "gemini",
        title="Gemini",
        description="Every capability of Google's Gemini API as MCP tools.",
        instructions=_instructions(settings, selection),
        version=__version__,
        tools=build_tools([spec for spec in services.specs if selection.allows(spec.name)], services, cache),
        lifespan=lifespan,
        log_level=settings.log_level,
        extensions=[JobTasks(services), viewer],
        auth=auth,
        token_verifier=token_verifier,
        request_state_security=request_state_security(settings),
        subscriptions=changes,
        middleware=[ToolsetGate(selection), viewer],  # a transport may narrow the gate per request (server/http.py)
    )
    server.services = services
    lowlevel_server(server).add_request_handler("resources/list", PaginatedRequestParams, server.list_resource_page)

    @server.resource(
        CAPABILITIES_URI,
        name="capabilities",
        title="Gemini backend capabilities",
        description="Which backend is configured, where credentials come from, and which tools it can serve.",
        mime_type="application/json",
    )
    def capabilities() -> str:
        return describe(settings, services.specs).model_dump_json(indent=2)

    @server.resource(
        SPEND_URI,
        name="spend",
        title="Spend of the paid tools",
        description="The ledger's last 30 days by day and by tool, and the budgets left (JSON).",
        mime_type="application/json",
    )
    async def spend() -> str:
        return await spend_summary(services)

    @server.resource(
        MEDIA_URI_PREFIX + "{media_id}",
        name="media",
        title="Generated media",
        description="An image, audio clip or video this server generated (served with its own MIME type).",
        mime_type="application/octet-stream",
    )
    async def media(media_id: str) -> bytes:  # reads are answered by GeminiServer.read_resource
        found = await services.media.read(media_id)
        if found is None:
            raise ResourceNotFoundError(f"No media with id {media_id}")
        return found[0]

    if services.media_urls is not None:
        register_media_route(server, services.media, services.media_urls)
    register_prompts(server, services.media)
    register_client_logging(server)
    return server
