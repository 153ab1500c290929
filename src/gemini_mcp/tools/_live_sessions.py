"""Live API sessions kept open across tool calls (`live_session_start` / `live_send` / `live_session_end`).

A Live session is a WebSocket the SDK opens in an `async with` block, which must be entered and left by one
task. So each session gets a keeper task in the server's background task group: it opens the connection,
waits until the session is ended, expires or the server shuts down, then closes it cleanly. Tool calls use
the open session in between, one turn at a time.

Bounds: at most `GEMINI_MCP_LIVE_MAX_SESSIONS` open at once, each closed after `GEMINI_MCP_LIVE_IDLE_SECONDS`
unused, and at the API's own limit of 15 minutes. A turn cancelled half-way leaves the connection with an
unread reply, so the session is closed rather than reused.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from gemini_mcp.errors import ServerBug, UserInputError
from gemini_mcp.gemini.functions import Declared, Returned
from gemini_mcp.gemini.live import SESSION_LIMIT_S, LiveReply, Modality, connect, connect_config, run_turn

if TYPE_CHECKING:
    from gemini_mcp.framework.call import Call
    from gemini_mcp.gemini.live import AsyncSession

logger = logging.getLogger("gemini_mcp.live")


@dataclass
class LiveSession:
    id: str
    model: str
    modality: Modality
    voice: str | None
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    turns: int = 0
    sdk: AsyncSession | None = None
    error: BaseException | None = None
    opened: anyio.Event = field(default_factory=anyio.Event)
    ending: anyio.Event = field(default_factory=anyio.Event)
    ended: anyio.Event = field(default_factory=anyio.Event)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    end_reason: str = ""
    pending: dict[str, str] = field(default_factory=dict)  # function calls the model waits on: id → name

    def end(self, reason: str) -> None:
        if not self.ending.is_set():
            self.end_reason = reason
            self.ending.set()


class LiveSessions:
    def __init__(self, max_sessions: int, idle_s: float) -> None:
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self.sessions: dict[str, LiveSession] = {}

    async def open(
        self,
        call: Call,
        model: str,
        modality: Modality,
        voice: str | None,
        system: str | None,
        functions: Sequence[Declared] = (),
    ) -> LiveSession:
        background = call.services.background  # the server's lifespan task group: keepers outlive this call
        if background is None:  # assembled without its lifespan, or already past it: not the caller's doing
            raise ServerBug(
                "live sessions need the server's background tasks, which are not running (the server is shutting "
                "down, or was started without its lifespan); use live_converse for a single turn"
            )
        if len(self.sessions) >= self.max_sessions:
            raise UserInputError(
                f"{len(self.sessions)} live sessions are open, the most allowed (GEMINI_MCP_LIVE_MAX_SESSIONS): "
                "end one with live_session_end, or use live_converse for a single turn"
            )
        client = await call.client()
        session = LiveSession(id="live-" + secrets.token_hex(6), model=model, modality=modality, voice=voice)
        config = connect_config(modality, voice, system, functions)
        background.start_soon(self._keep, client, session, config, name=f"live session {session.id}")
        await session.opened.wait()
        if session.error is not None:
            raise session.error
        self.sessions[session.id] = session
        return session

    async def _keep(self, client: Any, session: LiveSession, config: Any) -> None:
        try:
            async with connect(client, session.model, config) as sdk:
                session.sdk = sdk
                session.opened.set()
                while not session.ending.is_set():
                    now = time.monotonic()
                    deadline = min(session.last_used + self.idle_s, session.created + SESSION_LIMIT_S)
                    if now >= deadline and not session.lock.locked():
                        idle = now - session.last_used >= self.idle_s
                        session.end("idle for too long" if idle else "the API's 15-minute session limit")
                        break
                    with anyio.move_on_after(max(0.05, deadline - now)):
                        await session.ending.wait()
        except Exception as exc:  # refused at connect, or the connection failed later
            session.error = exc
            session.opened.set()
        finally:
            self.sessions.pop(session.id, None)
            session.sdk = None
            session.ended.set()
            logger.info("live session %s closed (%s)", session.id, session.end_reason or "connection ended")

    def get(self, session_id: str) -> LiveSession:
        session = self.sessions.get(session_id)
        if session is None or session.ending.is_set():
            raise UserInputError(
                f"session_id: no open live session {session_id!r} (it was ended, expired after "
                f"{self.idle_s:g} s idle (GEMINI_MCP_LIVE_IDLE_SECONDS), or the server restarted); "
                "start a new one with live_session_start"
            )
        return session

    async def send(
        self,
        call: Call,
        session: LiveSession,
        text: str | None,
        pcm16k: bytes | None,
        tool_responses: Sequence[Returned] = (),
    ) -> LiveReply:
        async with session.lock:
            if session.sdk is None or session.ending.is_set():
                raise UserInputError(f"session_id: live session {session.id} has just closed; start a new one")
            session.last_used = time.monotonic()
            try:
                reply = await run_turn(session.sdk, call, text, pcm16k, tool_responses)
            except BaseException:
                session.end("a turn was cancelled or failed half-way")
                raise
            session.turns += 1
            session.pending = {c.id or "": c.name for c in reply.tool_calls}
            session.last_used = time.monotonic()
            return reply

    async def close(self, session: LiveSession, reason: str = "ended by the client") -> None:
        session.end(reason)
        with anyio.move_on_after(10):
            await session.ended.wait()

    async def close_all(self) -> None:
        for session in list(self.sessions.values()):
            session.end("the server is shutting down")
        with anyio.move_on_after(10):
            for session in list(self.sessions.values()):
                await session.ended.wait()
