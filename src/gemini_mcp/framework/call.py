"""What a tool handler is given: the server's shared services, and one call's view of its MCP request."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver import Context
from mcp.shared.message import ServerMessageMetadata
from mcp_types import ListRootsRequest, ListRootsResult

from gemini_mcp.config.settings import Settings
from gemini_mcp.errors import LocalEnvironmentError, redact
from gemini_mcp.framework.mcp_adapter import progress_requested
from gemini_mcp.gemini.client import GeminiClient
from gemini_mcp.media.store import MediaStore

if TYPE_CHECKING:
    from google import genai

    from gemini_mcp.framework.catalog import RegisteredSpec
    from gemini_mcp.media.links import MediaUrlSigner

logger = logging.getLogger("gemini_mcp.tools")
SharedT = TypeVar("SharedT")
ROOTS_TIMEOUT_S = 5.0


@dataclass
class Services:
    """What tools share for the life of a server (built once in `server.app.build_server`)."""

    settings: Settings
    gemini: GeminiClient
    media: MediaStore
    media_urls: MediaUrlSigner | None = None  # signs /media/<id> download links when serving HTTP
    specs: list[RegisteredSpec] = field(default_factory=list)  # every registered tool, for capabilities
    _shared: dict[str, Any] = field(default_factory=dict)
    # The server is shutting down (a signal, stdin closed): calls cut off now were not cancelled by their
    # client, so jobs they started are left running upstream, to be collected after the restart.
    stopping: bool = False
    inflight: int = 0  # tool calls running now (graceful shutdown waits for them)
    _idle: anyio.Event | None = None
    # Tasks that outlive a tool call (live sessions), run by the server's lifespan; None outside it.
    background: TaskGroup | None = None
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def shut_down(self) -> None:
        """Run what tool families registered for shutdown (closing live sessions cleanly)."""
        for hook in self.shutdown_hooks:
            with anyio.CancelScope(shield=True):
                await hook()

    def call_started(self) -> None:
        self.inflight += 1

    def call_finished(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self._idle is not None:
            self._idle.set()
            self._idle = None

    async def wait_idle(self) -> None:
        """Return once no tool call is running."""
        if self.inflight == 0:
            return
        if self._idle is None:
            self._idle = anyio.Event()
        await self._idle.wait()

    def shared(self, key: str, factory: Callable[[], SharedT]) -> SharedT:
        """A per-server object of a tool family, created on first use."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]  # type: ignore[no-any-return]

    def process_state(self, key: str, factory: Callable[[], SharedT], *, what: str, why: str, instead: str) -> SharedT:
        """State that lives in this process only (a chat store, open Live sessions): refused in stateless mode,
        where the next call may reach another replica. `what` is plural ("chats"), `why` says where it lives,
        `instead` names the stateless way to do the same."""
        if self.settings.stateless:
            raise LocalEnvironmentError(
                f"{what} are not available in stateless mode (GEMINI_MCP_STATELESS): {why}, and the next call may "
                f"reach another replica. {instead}"
            )
        return self.shared(key, factory)


@dataclass
class Call:
    """One tool call: the shared services plus the MCP request it belongs to."""

    services: Services
    mcp: Context[Any, Any] | None
    tool: str
    model: str | None = None  # the resolved model, for error messages
    notes: list[str] = field(default_factory=list)
    # Paid work this call started that outlives a failure of the call (how to collect it instead of paying
    # again); added to every error the call ends with from then on.
    resume_hint: str | None = None
    # Told the id of a job this call started, as soon as it exists (the spend ledger records it: framework/spend.py).
    on_job_started: Callable[[str], Awaitable[None]] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def media(self) -> MediaStore:
        return self.services.media

    async def client(self) -> genai.Client:
        return await self.services.gemini.get()

    @property
    def wants_progress(self) -> bool:
        """Whether the client asked for progress on this request (sent a progress token)."""
        if self.mcp is None:
            return False
        try:
            context = self.mcp.request_context
        except ValueError:  # a Context built outside a request (MCPServer.call_tool without one)
            return False
        return progress_requested(context)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress; a no-op when the client asked for none. Redacted like results: a streamed answer's
        text so far travels in the message."""
        if self.mcp is not None and self.wants_progress:
            if message:
                message = redact(message, self.settings.secrets())
            await self.mcp.report_progress(progress, total, message)

    async def client_root_uris(self) -> list[str] | None:
        """The root URIs the client declares (`roots/list`), or None when it declares none or cannot answer:
        media/inputs.py then keeps the configured folders, which roots may only narrow."""
        ctx = self.mcp
        if ctx is None:
            return None
        try:
            capabilities = ctx.client_capabilities
            if capabilities is None or capabilities.roots is None:
                return None
            # send_request rather than the deprecated ServerSession.list_roots: no warning to filter, and the
            # request rides this call's own stream.
            metadata = ServerMessageMetadata(related_request_id=ctx.request_context.request_id)
            with anyio.fail_after(ROOTS_TIMEOUT_S):
                result = await ctx.session.send_request(ListRootsRequest(), ListRootsResult, metadata=metadata)
        except Exception as exc:  # a client that cannot answer roots keeps the configured folders
            logger.debug("roots/list failed: %s", exc)
            return None
        return [str(root.uri) for root in result.roots]
