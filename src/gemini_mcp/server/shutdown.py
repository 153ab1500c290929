"""Graceful shutdown: when to stop, and how long the requests already running may take to finish.

The first SIGTERM/SIGINT (or, over stdio, the client closing stdin) starts a drain: no new requests are taken,
running ones get `GEMINI_MCP_SHUTDOWN_GRACE` seconds to finish and have their answers delivered, and those
still running after that are answered with an error before they are cancelled. A second signal ends the
drain at once. The transport does the answering (it knows which requests are unanswered); this module
owns the signals and the clock.

Cancellation reaches every tool (anyio), so half-written media are removed by the media store's writer
and live/chat sessions are closed by the server's lifespan.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

logger = logging.getLogger("gemini_mcp.shutdown")

DEFAULT_GRACE_S = 10.0
GRACE_VARIABLE = "GEMINI_MCP_SHUTDOWN_GRACE"

T = TypeVar("T")


class Shutdown:
    """The server's stop request: `requested` starts the drain, `urgent` (a second signal, or SIGTERM after
    stdin closed) ends it."""

    def __init__(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        self.grace_s = grace_s
        self.requested = anyio.Event()
        self.urgent = anyio.Event()
        self.reason = ""
        self.urgent_reason = ""

    def request(self, reason: str, *, escalate: bool = True) -> None:
        """Start the drain; when one is under way already, `escalate` ends it (a second signal does)."""
        if not self.requested.is_set():
            self.reason = reason
            self.requested.set()
        elif escalate and not self.urgent.is_set():
            logger.info("%s during shutdown: stopping now", reason)
            self.urgent_reason = reason
            self.urgent.set()

    async def drain(self, idle: Callable[[], Awaitable[None]]) -> bool:
        """Wait for `idle()` for at most the grace period; False when it had to be cut short."""
        finished = False
        with anyio.move_on_after(self.grace_s):
            async with anyio.create_task_group() as waiting:

                async def cut_short() -> None:
                    await self.urgent.wait()
                    waiting.cancel_scope.cancel()

                waiting.start_soon(cut_short)
                await idle()
                finished = True
                waiting.cancel_scope.cancel()
        return finished

    def cancelled_message(self) -> str:
        """What a request still running at the end of the drain is answered."""
        why = f" ({self.reason})" if self.reason else ""
        if self.urgent.is_set():
            return (
                f"server shutting down{why}: the call was cancelled by {self.urgent_reason} during shutdown, "
                f"before the {self.grace_s:g} s grace ({GRACE_VARIABLE}) ended"
            )
        return (
            f"server shutting down{why}: the call was cancelled after the {self.grace_s:g} s grace ({GRACE_VARIABLE})"
        )

    def refused_message(self) -> str:
        """What a request arriving during the drain is answered."""
        why = f" ({self.reason})" if self.reason else ""
        return f"server shutting down{why}: no new requests are taken; start a new server to continue"

    async def watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for received in signals:
                self.request(signal.Signals(received).name)


async def serve_until_signalled(serve: Callable[[Shutdown], Awaitable[T]], grace_s: float = DEFAULT_GRACE_S) -> T:
    """Run `serve(shutdown)` with SIGTERM/SIGINT feeding `shutdown`; `serve` decides how to drain."""
    shutdown = Shutdown(grace_s)
    async with anyio.create_task_group() as group:
        group.start_soon(shutdown.watch_signals)
        result = await serve(shutdown)
        group.cancel_scope.cancel()
    return result
