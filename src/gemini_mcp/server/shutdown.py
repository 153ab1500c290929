"""Graceful shutdown: on SIGTERM/SIGINT, let in-flight tool calls finish within a grace period, then cancel.

Cancellation reaches every tool (anyio), so half-written media are removed by the media store's writer
and live/chat sessions are closed by the server's lifespan. A second signal cancels at once. In stdio
mode the server also ends when stdin closes (the host went away).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from gemini_mcp.server.toolkit import Services

logger = logging.getLogger("gemini_mcp.shutdown")

DEFAULT_GRACE_S = 10.0
FLUSH_S = 0.2


async def serve_until_signalled(
    main: Callable[[], Awaitable[None]], services: Services, grace_s: float = DEFAULT_GRACE_S
) -> None:
    async with anyio.create_task_group() as group:

        async def run_main() -> None:
            await main()
            group.cancel_scope.cancel()  # stdin closed or the server stopped by itself

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for received in signals:
                    name = signal.Signals(received).name
                    if services.inflight == 0:
                        logger.info("%s: no calls in flight, stopping", name)
                        break
                    logger.info("%s: waiting up to %.0f s for %d call(s) in flight", name, grace_s, services.inflight)
                    with anyio.move_on_after(grace_s):
                        async with anyio.create_task_group() as waiting:

                            async def second_signal() -> None:
                                async for _ in signals:
                                    logger.info("second signal: stopping now")
                                    waiting.cancel_scope.cancel()

                            waiting.start_soon(second_signal)
                            await services.wait_idle()
                            await anyio.sleep(FLUSH_S)  # let the last answers reach the client
                            waiting.cancel_scope.cancel()
                    break
            if services.inflight:
                logger.info("cancelling %d call(s) still in flight", services.inflight)
            group.cancel_scope.cancel()

        group.start_soon(run_main)
        group.start_soon(watch)
