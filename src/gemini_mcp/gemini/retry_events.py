"""Who hears about retries: the tool framework sets a listener for the length of one tool call, and the
transport tells it about each retryable answer or broken body (which would otherwise look like a hang
while the backoff waits). Kept apart from the transport so that setting it loads no HTTP code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

retry_listener: ContextVar[Callable[[str], Awaitable[None]] | None] = ContextVar("retry_listener", default=None)


async def tell(message: str) -> None:
    listener = retry_listener.get()
    if listener is not None:
        await listener(message)
