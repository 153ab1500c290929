"""Graceful shutdown over HTTP: on SIGTERM/SIGINT, stop taking new calls, let running ones finish within
`GEMINI_MCP_SHUTDOWN_GRACE` and deliver their results over their open response streams, answer whatever is
still running after that with a JSON-RPC error, and only then let uvicorn close.

Why we take the signals from uvicorn: uvicorn's own handler starts its shutdown at once, and sse-starlette
patches that handler (`AppStatus.handle_exit`) and also polls `Server.should_exit` through the installed
SIGTERM handler, ending every open SSE stream — each response of a call still in flight — the moment a
signal arrives; the calls then have nowhere to write their answers. So `serve_until_signalled` runs
`uvicorn.Server` without its signal capture and listens itself: sse-starlette never sees a signal, and
uvicorn's `should_exit` is set only when the drain is over, by which time every response has ended.

`Drain` is the outermost ASGI middleware. It remembers each open exchange (and, for POSTs, the body chunks
the app read, to find the JSON-RPC id should it have to answer for the app); while draining it refuses what
would start work (new sessions, tool calls, new streams) with 503 and a JSON-RPC error; when the grace ends
it writes an error into each response still open (as an SSE event when the response is a stream) and ends
it cleanly, so no client sees a cut stream. The legacy SSE transport answers on its GET stream, so there a
call outlasting the grace sees its stream end cleanly and the client reports the connection closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from mcp_types import CONNECTION_CLOSED
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    import uvicorn

    from gemini_mcp.framework.call import Services

logger = logging.getLogger("gemini_mcp.shutdown")

ALWAYS_SERVED = ("/healthz", "/readyz")  # probes keep answering while draining (/readyz says it is not ready)
LEGACY_SSE_PATH = "/sse"
LEGACY_FLUSH_S = 0.2  # legacy SSE answers travel on the GET stream, whose writes we cannot see complete
CLOSE_TIMEOUT_S = 2.0  # writing the final error to a client that does not read must not hold up the exit
REFUSED_WHILE_DRAINING = frozenset({"initialize", "tools/call"})  # what starts work; other requests are quick
PEEK_LIMIT = 1024 * 1024  # while draining, the largest body read to tell a new request from a notification


@dataclass(eq=False)
class Exchange:
    """One HTTP request/response in flight, as the drain needs to see it."""

    method: str
    path: str
    send: Send
    body: list[bytes] = field(default_factory=list)
    body_read: bool = False
    started: bool = False
    streaming: bool = False  # the response is text/event-stream
    complete: bool = False
    closed: bool = False  # ended by the drain: whatever the app sends later is dropped
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    _request: tuple[bool, Any, str | None] | None = None

    def jsonrpc_request(self) -> tuple[bool, Any, str | None]:
        """(is a JSON-RPC request, its id, its method), from the body the app has read so far."""
        if self._request is not None:
            return self._request
        found = _request_of(b"".join(self.body)) if self.method == "POST" else (False, None, None)
        if self.body_read or self.method != "POST":
            self._request = found
        return found

    @property
    def is_call(self) -> bool:
        """A request the drain waits for: a POST carrying a JSON-RPC request that ends (not a subscription)."""
        if self.complete or self.method != "POST":
            return False
        if not self.body_read:
            return True  # still arriving: it may well be a call, admitted before the drain began
        is_request, _, method = self.jsonrpc_request()
        return is_request and method != "subscriptions/listen"


def _request_of(body: bytes) -> tuple[bool, Any, str | None]:
    try:
        message = json.loads(body)
    except ValueError:
        return False, None, None
    if isinstance(message, dict) and "id" in message and isinstance(message.get("method"), str):
        return True, message["id"], message["method"]
    return False, None, None


def _error_body(request_id: Any, message: str) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": CONNECTION_CLOSED, "message": message}}
    return json.dumps(body).encode()


async def _send_error(send: Send, status: int, body: bytes, retry_after: str | None = None) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if retry_after:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _replayed(body: bytes, receive: Receive) -> Receive:
    """`receive` for an app, with the body already read off the wire handed over first."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Drain:
    """ASGI middleware that can stop taking requests and wind down the open ones (see the module doc)."""

    def __init__(self, app: ASGIApp, services: Services | None) -> None:
        self.app = app
        self.services = services
        self.draining = False
        self.reason = "shutdown"
        self.open: set[Exchange] = set()
        self._changed: anyio.Event | None = None

    # ASGI ---------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.draining and scope.get("path", "") not in ALWAYS_SERVED:
            admitted = await self._refuse_or_replay(scope, receive, send)
            if admitted is None:
                return
            receive = admitted
        exchange = Exchange(method=scope.get("method", "GET"), path=scope.get("path", ""), send=send)
        self.open.add(exchange)
        try:
            await self.app(scope, self._recording(exchange, receive), self._guarded(exchange))
        finally:
            self.open.discard(exchange)
            self._notify()

    def _recording(self, exchange: Exchange, receive: Receive) -> Receive:
        if exchange.method != "POST":
            return receive

        async def recording() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                if message.get("body"):
                    exchange.body.append(message["body"])  # a reference, not a copy
                exchange.body_read = not message.get("more_body", False)
            return message

        return recording

    def _guarded(self, exchange: Exchange) -> Send:
        async def guarded(message: Message) -> None:
            async with exchange.lock:
                if exchange.closed:
                    return
                if message["type"] == "http.response.start":
                    exchange.started = True
                    content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                    exchange.streaming = content_type.startswith(b"text/event-stream")
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    exchange.complete = True
                await exchange.send(message)
            if exchange.complete:
                self._notify()

        return guarded

    async def _refuse_or_replay(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """While draining: refuse what would start work (503 with a JSON-RPC error): new sessions, tool
        calls, new streams, downloads. Let through what helps running calls finish and costs nothing: other
        requests of a session (a client lists the tools to check a result), notifications, answers to the
        server's own requests, session ends. Returns the `receive` to serve the request with, or None."""
        method = scope.get("method", "GET")
        if method == "DELETE":
            return receive
        request_id: Any = None
        if method == "POST":
            chunks: list[bytes] = []
            size, more = 0, True
            while more and size <= PEEK_LIMIT:
                received = await receive()
                if received["type"] != "http.request":
                    return None  # the client left
                chunks.append(received.get("body", b""))
                size += len(chunks[-1])
                more = received.get("more_body", False)
            body = b"".join(chunks)
            is_request, request_id, rpc = _request_of(body)
            if not more and rpc not in REFUSED_WHILE_DRAINING and (is_request or body.lstrip()[:1] == b"{"):
                return _replayed(body, receive)
        refusal = (
            f"gemini-mcp is shutting down ({self.reason}) and takes no new calls; calls already running are "
            "finishing. Retry in a moment: another replica, or this server once it has restarted, will answer."
        )
        await _send_error(send, 503, _error_body(request_id, refusal), retry_after="5")
        return None

    # Draining -----------------------------------------------------------------------------------------
    def begin(self, reason: str) -> None:
        self.draining = True
        self.reason = reason
        if self.services is not None:
            self.services.stopping = True

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def calls_running(self) -> int:
        """Calls still to finish: open POSTs carrying a request, or tool calls counted by the services."""
        posts = sum(1 for exchange in self.open if exchange.is_call)
        return max(posts, self.services.inflight if self.services is not None else 0)

    async def wait_idle(self) -> None:
        """Return once every running call has finished and its answer has been sent."""
        while True:
            changed = self._changed = anyio.Event()
            if self.services is not None and self.services.inflight:
                await self.services.wait_idle()
                continue
            if not any(exchange.is_call for exchange in self.open):
                break
            await changed.wait()
        self._changed = None
        if any(exchange.path == LEGACY_SSE_PATH for exchange in self.open):
            await anyio.sleep(LEGACY_FLUSH_S)

    async def finish(self, message: str) -> int:
        """End every response still open: the JSON-RPC error `message` for requests, a clean end for streams.

        Returns how many requests were answered with the error."""
        answered = 0

        async def close(exchange: Exchange) -> None:
            nonlocal answered
            with anyio.move_on_after(CLOSE_TIMEOUT_S):
                if await self._close(exchange, message):
                    answered += 1

        async with anyio.create_task_group() as group:
            for exchange in list(self.open):
                group.start_soon(close, exchange)
        return answered

    async def _close(self, exchange: Exchange, message: str) -> bool:
        async with exchange.lock:
            if exchange.complete or exchange.closed:
                return False
            exchange.closed = True
            is_request, request_id, _ = exchange.jsonrpc_request()
            if not exchange.started:
                await _send_error(exchange.send, 503, _error_body(request_id, message))
                return is_request
            if exchange.streaming and is_request:
                event = b"event: message\r\ndata: " + _error_body(request_id, message) + b"\r\n\r\n"
                await exchange.send({"type": "http.response.body", "body": event, "more_body": True})
            await exchange.send({"type": "http.response.body", "body": b"", "more_body": False})
            return is_request and exchange.streaming


def _unwrapped(group: BaseExceptionGroup[BaseException]) -> BaseException:
    return group.exceptions[0] if len(group.exceptions) == 1 else group


async def serve_until_signalled(
    config: uvicorn.Config, drain: Drain, sockets: list[socket.socket], grace_s: float
) -> None:
    """Run uvicorn until SIGTERM/SIGINT, then drain (see the module doc) and let uvicorn close."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the signals are ours (serve_until_signalled), so sse-starlette never sees them

    if threading.current_thread() is not threading.main_thread() or sys.platform == "win32":
        # No signals to take here (they reach the main thread only; asyncio has no handlers on Windows).
        await uvicorn.Server(config).serve(sockets=sockets)
        return
    server = Server(config)
    try:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as group:
                group.start_soon(_drain_on_signal, signals, drain, server, grace_s)
                await server.serve(sockets=sockets)
                group.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # uvicorn's SystemExit on a failed start, as it would be without us
        raise _unwrapped(group) from None


def _unfinished_message(reason: str, grace_s: float, cut_short: bool) -> str:
    ended = "a second signal ended the shutdown grace period" if cut_short else "the shutdown grace period ran out"
    return (
        f"gemini-mcp shut down ({reason}) before this request finished: it was still running when {ended} "
        f"(GEMINI_MCP_SHUTDOWN_GRACE={grace_s:g} s), so it was stopped and no result will come. Retry it once "
        "the server is back, or on another replica."
    )


async def _drain_on_signal(signals: AsyncIterator[int], drain: Drain, server: uvicorn.Server, grace_s: float) -> None:
    async for received in signals:
        name = signal.Signals(received).name
        drain.begin(name)
        running = drain.calls_running()
        cut_short = False
        if running:
            logger.info("%s: taking no new calls; waiting up to %g s for %d call(s) in flight", name, grace_s, running)
            with anyio.move_on_after(grace_s):
                async with anyio.create_task_group() as waiting:

                    async def second_signal() -> None:
                        nonlocal cut_short
                        async for _ in signals:
                            logger.info("second signal: stopping now")
                            cut_short = True
                            waiting.cancel_scope.cancel()

                    waiting.start_soon(second_signal)
                    await drain.wait_idle()
                    waiting.cancel_scope.cancel()
        else:
            logger.info("%s: no calls in flight, stopping", name)
        answered = await drain.finish(_unfinished_message(name, grace_s, cut_short))
        if answered:
            logger.info("answered %d call(s) still running with a shutdown error", answered)
        server.should_exit = True  # every response has ended: uvicorn may close now
        break
    async for _ in signals:
        server.force_exit = True  # a further signal: skip waiting for connections to close
