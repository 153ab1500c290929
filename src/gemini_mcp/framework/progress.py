"""Progress for long waits: rising values and rotating, reassuring messages with the elapsed time.

`Heartbeat.beat()` is called by a polling loop (or on a timer); it sends a progress notification only
when the client asked for progress, and never lets the value go backwards.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from gemini_mcp.framework.call import Call

MAX_SILENCE_S = 10.0  # hosts show a stalled spinner as broken: never stay silent longer than this


def elapsed_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


class Heartbeat:
    def __init__(self, call: Call, messages: Sequence[str], *, expected_s: float = 90.0, total: float = 100.0) -> None:
        self.call = call
        self.messages = list(messages)
        self.expected_s = expected_s
        self.total = total
        self.started = time.monotonic()
        self.value = 0.0
        self.count = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def estimate(self, percent: float | None = None) -> float:
        """Reported percentage when known, else an estimate that rises quickly, then slowly, below 95."""
        if percent is not None:
            return max(0.0, min(self.total * 0.99, self.total * percent / 100))
        return self.total * 0.95 * (1 - math.exp(-self.elapsed / self.expected_s))

    async def beat(self, percent: float | None = None, message: str | None = None) -> None:
        self.value = max(self.value + 1e-3, self.estimate(percent))
        text = message or self.messages[self.count % len(self.messages)]
        self.count += 1
        await self.call.progress(round(self.value, 3), self.total, f"{text} ({elapsed_text(self.elapsed)} elapsed)")

    async def done(self, message: str) -> None:
        await self.call.progress(self.total, self.total, f"{message} ({elapsed_text(self.elapsed)})")


@asynccontextmanager
async def reporting(
    call: Call, messages: Sequence[str], *, expected_s: float, done: str, every_s: float = 3.0
) -> AsyncIterator[Heartbeat]:
    """Beat at once and then every `every_s` seconds while the body runs (one Gemini call that cannot
    report progress itself, e.g. an image or a speech clip), then report `done` at 100 % when the body
    succeeded; nothing is sent when no progress was asked for."""
    heartbeat = Heartbeat(call, messages, expected_s=expected_s)
    if not call.wants_progress:
        yield heartbeat
        return

    async def keep_beating() -> None:
        while True:
            await heartbeat.beat()
            await anyio.sleep(every_s)

    async with anyio.create_task_group() as group:
        group.start_soon(keep_beating)
        try:
            yield heartbeat
        finally:
            group.cancel_scope.cancel()
    await heartbeat.done(done)  # after the beats stopped, so 100 % is the last value sent
