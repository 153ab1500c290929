"""The HTTP transport under the google-genai client: a cap on requests in flight, and `Retry-After`.

The SDK's own retry options (configured in `gemini/client.py`) decide *whether* to retry and back off
exponentially with jitter, but tenacity ignores a server's `Retry-After`, and the SDK does not retry an
answer whose body breaks off mid-way. This transport:

- holds back a 429/503 answer that carries `Retry-After` until that time has passed (capped), so the
  SDK's next attempt never comes earlier than the server asked;
- reads non-streaming answers whole and, when the connection breaks off mid-body, asks again (the same
  number of attempts as the SDK's retries); server-sent-event streams are passed through untouched;
- streams large operation answers through `gemini/offload.py`, so an inline video goes to disk, not memory;
- bounds concurrent upstream requests: a burst of agent calls queues here instead of tripping rate limits;
- sets TCP_NODELAY: a POST's headers and body leave in separate segments, and Nagle's algorithm would
  hold the body back until the server's delayed ACK (40 ms on Linux), on every request.
"""

from __future__ import annotations

import email.utils
import socket
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2

from gemini_mcp.gemini.errors import TRANSIENT_CODES
from gemini_mcp.gemini.offload import OFFLOAD_ABOVE_BYTES, InlineMediaOffloader
from gemini_mcp.gemini.retry_events import tell

RETRY_AFTER_STATUSES = {429, 503}
MAX_RETRY_AFTER_S = 60.0


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
BROKEN_BODY = (httpx2.RemoteProtocolError, httpx2.ReadError)


def may_carry_media(request: httpx2.Request, response: httpx2.Response) -> bool:
    """A successful, large (or unsized) answer about a long-running operation: where Veo videos come back."""
    path = request.url.path
    if response.status_code != 200 or not (path.endswith(":fetchPredictOperation") or "/operations/" in path):
        return False
    length = response.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > OFFLOAD_ABOVE_BYTES


def is_stream(request: httpx2.Request) -> bool:
    return request.url.params.get("alt") == "sse" or ":stream" in request.url.path


class ResilientTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self,
        max_concurrency: int,
        attempts: int = 1,
        backoff_s: float = 0.5,
        offload_dir: Path | None = None,
        **transport_args: Any,
    ) -> None:
        transport_args.setdefault("socket_options", NO_DELAY)
        # The pool must not be the bottleneck below our own limit (httpx2's default is 100 connections).
        transport_args.setdefault(
            "limits", httpx2.Limits(max_connections=max(100, max_concurrency), max_keepalive_connections=64)
        )
        self._inner = httpx2.AsyncHTTPTransport(**transport_args)
        self._limit = anyio.CapacityLimiter(max_concurrency)
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.waiting = 0  # requests queued for a slot (for diagnostics)
        self.offload_dir = offload_dir

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._send(request)
            except BROKEN_BODY:
                if attempt == self.attempts:
                    raise
                await tell("The connection to Gemini broke off mid-answer; asking again")
                await anyio.sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            break
        if response.status_code in TRANSIENT_CODES:
            await tell(f"Gemini answered {response.status_code} {response.reason_phrase}".strip())
        if response.status_code in RETRY_AFTER_STATUSES:
            delay = retry_after_seconds(response.headers.get("retry-after"))
            if delay:
                await anyio.sleep(min(delay, MAX_RETRY_AFTER_S))
        return response

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
        try:
            # The fast path skips acquire()'s two scheduling checkpoints, measurable per call (benchmarks/).
            self._limit.acquire_nowait()
        except anyio.WouldBlock:
            self.waiting += 1
            try:
                await self._limit.acquire()
            finally:
                self.waiting -= 1
        try:
            response = await self._inner.handle_async_request(request)
            if is_stream(request):
                return response
            headers: Any = response.headers
            try:
                if self.offload_dir is not None and may_carry_media(request, response):
                    body = await self._offloaded(response, self.offload_dir)
                    # The body is now decoded and shorter: its encoding and length headers no longer apply.
                    drop = ("content-encoding", "content-length")
                    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
                else:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        finally:
            self._limit.release()
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            content=body,
            extensions=response.extensions,
            request=request,
        )

    async def _offloaded(self, response: httpx2.Response, folder: Path) -> bytes:
        offloader = InlineMediaOffloader(folder)
        try:
            async for chunk in response.aiter_bytes():
                await offloader.feed(chunk)
            return await offloader.finish()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await offloader.discard()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()
