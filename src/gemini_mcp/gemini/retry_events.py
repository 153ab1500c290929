"""Who hears about retries: the tool framework sets a listener for the length of one tool call, and the
transport tells it about each retryable answer or broken body (which would otherwise look like a hang
while the backoff waits). Kept apart from the transport so that setting it loads no HTTP code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

retry_listener: ContextVar[Callable[[str], Awaitable[None]] | None] = ContextVar("retry_listener", default=None)


async def tell(message: str) -> None:
    listener = retry_listener.get()
    if listener is not None:
        await listener(message)


@dataclass
class Attempts:
    """How many times each request of one tool call went out without a final answer yet.

    Error messages quote the count of the request that failed last, so they are true whoever retried it
    (the SDK, the transport, or nobody: a streamed answer and a paid create are sent once).
    """

    _open: dict[str, int] = field(default_factory=dict)
    _last_failed: str | None = None

    def sent(self, request: str) -> int:
        self._open[request] = self._open.get(request, 0) + 1
        return self._open[request]

    def failed(self, request: str) -> None:
        self._last_failed = request

    def answered(self, request: str) -> None:
        self._open.pop(request, None)

    @property
    def of_last_failure(self) -> int:
        """Sends of the request that failed last (1 when nothing was counted)."""
        return self._open.get(self._last_failed or "", 1)


call_attempts: ContextVar[Attempts | None] = ContextVar("call_attempts", default=None)
