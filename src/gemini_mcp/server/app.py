"""Building the MCP server: one function that registers every tool family and the shared resources."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.server.request_state import RequestStateSecurity
from mcp_types import InputRequiredResult
from pydantic import AnyUrl

from gemini_mcp import __version__
from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.call import Services
from gemini_mcp.framework.capabilities import CAPABILITIES_URI, describe
from gemini_mcp.framework.catalog import tool_specs
from gemini_mcp.framework.client_logging import register_client_logging
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.tasks import VideoTasks
from gemini_mcp.framework.toolkit import build_tools
from gemini_mcp.gemini.client import GeminiClient
from gemini_mcp.media.links import signer_for
from gemini_mcp.media.store import MEDIA_URI_PREFIX, MediaStore, RetentionPolicy
from gemini_mcp.server.auth import build_auth
from gemini_mcp.server.media_route import register_media_route
from gemini_mcp.server.prompts import register_prompts
from gemini_mcp.tools import specs_by_module

INSTRUCTIONS = """\
Tools for Google's Gemini API. Text: generate_text (answers, summaries, code; media inputs too), \
generate_json (data matching a schema), count_tokens, plan_function_calls, search_web (Google Search \
grounding with sources), chat_start/chat_send for multi-turn chats, embed_text. Understanding: \
analyze_media (describe images, summarise PDFs, transcribe audio, question videos). Media: generate_image, \
edit_image, generate_speech (one or two speakers), generate_video / extend_video / get_video_operation \
(Veo, long-running: progress is reported, or start with wait=false and collect later). Live: live_converse \
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


class GeminiServer(MCPServer[Services]):
    """MCPServer whose `gemini://media/<id>` resources carry each file's own MIME type."""

    services: Services

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


def build_services(settings: Settings, cache: SchemaCache | None = None) -> Services:
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
    services.specs = tool_specs(cache or SchemaCache(), specs_by_module)
    return services


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Shared sealing keys let any replica open request state another one sealed (stateless mode)."""
    if not settings.state_keys:
        return None
    return RequestStateSecurity(keys=[key.get_secret_value() for key in settings.state_keys], audience="gemini")


def build_server(settings: Settings | None = None) -> GeminiServer:
    """The MCP server with every tool family registered; nothing touches the network until a tool runs."""
    settings = settings or Settings.from_env()
    cache = SchemaCache()
    services = build_services(settings, cache)
    auth, token_verifier = build_auth(settings)

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

    server = GeminiServer(
        "gemini",
        title="Gemini",
        description="Every capability of Google's Gemini API as MCP tools.",
        instructions=(DEMO_INSTRUCTIONS + INSTRUCTIONS) if settings.demo else INSTRUCTIONS,
        version=__version__,
        tools=build_tools(services.specs, services, cache),
        lifespan=lifespan,
        log_level=settings.log_level,
        extensions=[VideoTasks(services)],
        auth=auth,
        token_verifier=token_verifier,
        request_state_security=request_state_security(settings),
    )
    server.services = services

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
