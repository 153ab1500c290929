"""CPU-heavy work on media-sized data runs in a worker thread, so one large input never stalls other clients.

A worker thread frees the event loop only if the work hands the GIL back often. Pure-Python loops do (every
`sys.getswitchinterval()`, 5 ms); one long C call does not: `base64.b64decode` of 20 MB holds the GIL for
its whole ~70 ms, in a thread or not. So what is sent here works in blocks of short C calls: the base64
helpers below, `audio.to_pcm16_mono`. A plain copy (`bytes(...)`, a join) is a single memcpy, ~1 ms for 10 MB:
a thread would not shorten its hold on the GIL, so copies stay where they are.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio

logger = logging.getLogger("gemini_mcp.cpu")

SMALL_BYTES = 256 * 1024  # below this the hop to a thread (~0.1 ms) costs more than the work it moves
BLOCK = 1024 * 1024  # base64 characters per C call (a multiple of 4): ~3 ms with the GIL held

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


async def off_loop(func: Callable[[*Ts], T], *args: *Ts, size: int) -> T:
    """`func(*args)`, in a worker thread unless `size` (the bytes it works through) is small.

    Cancelling the caller returns at once; the thread runs to its end on its own and its result is dropped.
    """
    if size < SMALL_BYTES:
        return func(*args)
    return await anyio.to_thread.run_sync(_logged, func, args, size, abandon_on_cancel=True)


def _logged(func: Callable[[*Ts], T], args: tuple[*Ts], size: int) -> T:
    logger.debug("%s: %d bytes, in a worker thread", func.__qualname__, size)
    return func(*args)


def b64decode(text: str) -> bytes:
    """Strict base64 (as `b64decode(validate=True)`), decoded a block at a time."""
    if len(text) <= BLOCK:
        return base64.b64decode(text, validate=True)
    parts = []
    for start in range(0, len(text), BLOCK):
        block = text[start : start + BLOCK]
        part = base64.b64decode(block, validate=True)
        if len(part) != len(block) // 4 * 3 and start + BLOCK < len(text):
            raise binascii.Error("Excess data after padding")  # as the whole string would have been refused
        parts.append(part)
    return b"".join(parts)


def b64encode(data: bytes) -> str:
    """`base64.b64encode(data).decode()`, a block at a time."""
    step = BLOCK // 4 * 3
    view = memoryview(data)
    return b"".join(base64.b64encode(view[start : start + step]) for start in range(0, len(view), step)).decode()
