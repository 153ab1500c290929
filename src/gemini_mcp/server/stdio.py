"""Serving MCP over stdio: every request gets an answer, reading is linear, shutdown delivers what it can.

We run our own stdio transport in front of the SDK's server loop instead of `mcp.server.stdio.stdio_server`,
because of what the SDK does with a line it cannot use: `stdio_server` validates each line with
`jsonrpc_message_adapter` and hands the exception to the dispatcher, which logs it at debug level and drops
it (`JSONRPCDispatcher._dispatch`). A request with a perfectly good id but `params: [1, 2]`, a byte-order
mark, an object nested deeper than the JSON parser's 200 levels, or an id of `1.5` (which then validates
as a *notification*) is never answered, and the client waits forever. Here each line is classified first
(`classify`): what the SDK would serve is handed to it unchanged, a request it would drop is answered
with the JSON-RPC error for it (-32700 / -32600 / -32602, with the id whenever it can be read safely),
and nothing with an id is dropped.

The transport also tracks which requests are unanswered, which is what graceful shutdown needs: on
SIGTERM/SIGINT or stdin EOF, new requests are refused, running ones may finish within the grace period and
their answers are written, and the rest are answered with an error before the SDK cancels them (the SDK
itself cancels everything the moment its read stream ends).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import selectors
import stat
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import pydantic_core
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.dispatcher import as_request_id, coerce_request_id
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from gemini_mcp.framework.mcp_adapter import lowlevel_server
from gemini_mcp.server.shutdown import Shutdown

if sys.platform != "win32":
    import fcntl

logger = logging.getLogger("gemini_mcp.stdio")

MB = 1024 * 1024
LINE_CAP_VARIABLE = "GEMINI_MCP_STDIO_MAX_LINE_MB"
SHUTTING_DOWN = -32000  # implementation-defined band of JSON-RPC server errors
BOM = b"\xef\xbb\xbf"
READ_CHUNK = 1024 * 1024
PIPE_BYTES = 1024 * 1024  # the default largest pipe an unprivileged process may ask for
HEAD_BYTES = 64 * 1024  # of a refused over-long line, kept to read its id from
FINAL_WRITE_S = 5.0  # once shutdown is under way, a client that stops reading cannot hold the process
TEARDOWN_S = 10.0  # for the server's lifespan to close sessions and clients after the last request


# Reading lines -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Oversized:
    """A line longer than the cap: its size and beginning (the rest was discarded unread into memory)."""

    size: int
    head: bytes


def _pollable(fd: int, events: int) -> bool:
    """Whether the event loop can wait on `fd` (epoll refuses regular files and /dev/null)."""
    with selectors.DefaultSelector() as probe:
        try:
            probe.register(fd, events)
        except (OSError, ValueError):
            return False
    return True


class LineReader:
    """Lines of a file descriptor, read without a blocking thread when it is a pipe, socket or terminal.

    Linear in the line size: bytes are appended to one buffer and only the new ones are searched for the
    newline. A line longer than `max_bytes` is not buffered: the rest of it is read and discarded.
    """

    def __init__(self, fd: int, max_bytes: int) -> None:
        self.fd = fd
        self.max_bytes = max_bytes
        self.received_any = False
        mode = os.fstat(fd).st_mode
        # Our own end of a pipe or socket can be made non-blocking; a terminal's flag is shared with the
        # shell (and with stderr), so there we only wait for readiness.
        self.nonblocking = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        self.pollable = _pollable(fd, selectors.EVENT_READ)
        if self.nonblocking and self.pollable:
            os.set_blocking(fd, False)
        resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        if stat.S_ISFIFO(mode) and resize is not None:
            with suppress(OSError):  # a larger pipe: fewer wake-ups while a large message streams in
                fcntl.fcntl(fd, resize, PIPE_BYTES)
        self._buffer = bytearray()
        self._scanned = 0
        self._chunk = bytearray(READ_CHUNK)
        self._view = memoryview(self._chunk)  # the chunk is never resized, so one view serves every read
        self._eof = False

    def close(self) -> None:
        if self.nonblocking and self.pollable:
            os.set_blocking(self.fd, True)

    async def _read(self) -> int:
        """Read into `self._chunk`; 0 at end of input."""
        try:
            if not self.pollable:  # a regular file (or /dev/null): reading it never waits for a peer
                return await anyio.to_thread.run_sync(os.readv, self.fd, [self._view], abandon_on_cancel=True)
            if not self.nonblocking:
                await anyio.wait_readable(self.fd)
            while True:
                try:
                    count = os.readv(self.fd, [self._view])
                except BlockingIOError:
                    await anyio.wait_readable(self.fd)
                    continue
                await anyio.lowlevel.checkpoint()  # a client streaming a huge line must not starve the loop
                return count
        except OSError as error:  # a terminal hung up, a socket reset: the client is gone
            logger.info("stdin: %s; treating it as closed", error.strerror or error)
            return 0

    async def readline(self) -> bytes | Oversized | None:
        """The next line without its newline, an `Oversized` marker, or None at end of input."""
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", self._scanned)
            if end >= 0:
                self._scanned = 0
                if end > self.max_bytes:
                    refused = Oversized(end, bytes(buffer[:HEAD_BYTES]))
                    del buffer[: end + 1]
                    return refused
                with memoryview(buffer) as view, view[:end] as part:
                    line = bytes(part)  # one copy; the JSON parser takes bytes faster than a bytearray
                del buffer[: end + 1]  # CPython drops a bytearray's head in O(1)
                if buffer.__alloc__() > 4 * READ_CHUNK and len(buffer) < READ_CHUNK:
                    self._buffer = buffer = bytearray(buffer)  # give a huge line's memory back
                return line
            self._scanned = len(buffer)
            if len(buffer) > self.max_bytes:
                return await self._discard_rest()
            if self._eof:
                return None
            count = await self._read()
            if not count:
                self._eof = True
                if not buffer:
                    return None
                self._buffer = bytearray()
                return bytes(buffer)  # a last line without its newline
            self.received_any = True
            buffer += self._view[:count]

    async def _discard_rest(self) -> Oversized:
        head, size = bytes(self._buffer[:HEAD_BYTES]), len(self._buffer)
        self._buffer, self._scanned = bytearray(), 0
        while True:
            count = await self._read()
            if not count:
                self._eof = True
                return Oversized(size, head)
            end = self._chunk.find(b"\n", 0, count)
            if end >= 0:
                self._buffer += self._view[end + 1 : count]
                return Oversized(size + end, head)
            size += count


# Writing lines -------------------------------------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class LineWriter:
    """Whole lines to a file descriptor; a line once started is finished even if the caller is cancelled."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        mode = os.fstat(fd).st_mode
        # Only our own end of a pipe or socket goes non-blocking: a terminal or file is shared with others.
        self.nonblocking = (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) and _pollable(fd, selectors.EVENT_WRITE)
        if self.nonblocking:
            os.set_blocking(fd, False)
        self.broken = False
        self._deadline = math.inf
        self._scope: anyio.CancelScope | None = None

    def close(self) -> None:
        if self.nonblocking:
            os.set_blocking(self.fd, True)

    def abandon(self, after_s: float) -> None:
        """Give up on writes (the current one included) that are still blocked `after_s` from now."""
        self._deadline = min(self._deadline, anyio.current_time() + after_s)
        if self._scope is not None:
            self._scope.deadline = self._deadline

    async def write_line(self, data: bytes) -> bool:
        if self.broken:
            return False
        with anyio.CancelScope(shield=True, deadline=self._deadline) as scope:
            self._scope = scope
            try:
                if len(data) < MB:
                    await self._write(data + b"\n")
                else:  # not worth copying a large payload to append one byte
                    await self._write(data)
                    await self._write(b"\n")
            except OSError as error:
                self.broken = True
                logger.info("stdout: %s; the client is gone", error.strerror or error)
            finally:
                self._scope = None
        if scope.cancelled_caught:
            self.broken = True
            logger.warning("stdout: the client stopped reading; giving up on the remaining answers")
        return not self.broken

    async def _write(self, data: bytes) -> None:
        if not self.nonblocking:
            await anyio.to_thread.run_sync(_write_all, self.fd, data, abandon_on_cancel=True)
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                await anyio.wait_writable(self.fd)
                continue
            view = view[written:]


# Classifying lines ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forward:
    """A message the SDK serves as it is."""

    message: JSONRPCMessage


@dataclass(frozen=True)
class Refuse:
    """A request the SDK would drop: answered here, one error per id (None: the id is unknown)."""

    ids: tuple[RequestId | None, ...]
    error: ErrorData


@dataclass(frozen=True)
class Ignore:
    """Nothing to answer (a blank line, a malformed notification or response)."""

    reason: str


Inbound = Forward | Refuse | Ignore

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_PLAIN = re.compile(r'[^"\[\]{},]*')
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)(?![0-9.eE])")


def _skip_value(text: str, pos: int) -> int | None:
    """Where the JSON value at `pos` ends (at the `,` or `}` after it), without recursing into it."""
    depth = 0
    while True:
        pos = _PLAIN.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            return None
        char = text[pos]
        if char == '"':
            string = _STRING.match(text, pos)
            if string is None:
                return None
            pos = string.end()
        elif char in "[{":
            depth += 1
            pos += 1
        elif depth == 0:
            return pos
        else:
            if char != ",":
                depth -= 1
            pos += 1


def recover_id(text: str) -> RequestId | None:
    """The top-level "id" of a message that does not parse as a whole, when it can be read unambiguously:
    it comes before the point of failure, is complete (a `,` or `}` follows it) and is the only one."""
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    if not text.startswith("{", pos):
        return None
    pos += 1
    found: list[RequestId] = []
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        key = _STRING.match(text, pos)
        if key is None:
            break
        pos = _WS.match(text, key.end()).end()  # type: ignore[union-attr]
        if not text.startswith(":", pos):
            break
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if key.group() == '"id"':
            value = _INTEGER.match(text, pos) or _STRING.match(text, pos)
            if value is None:
                return None
            pos = _WS.match(text, value.end()).end()  # type: ignore[union-attr]
            if not text.startswith((",", "}"), pos):
                return None
            try:
                found.append(json.loads(value.group()))
            except ValueError:
                return None
        else:
            end = _skip_value(text, pos)
            if end is None:
                break
            pos = _WS.match(text, end).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            break
        pos += 1
    return found[0] if len(found) == 1 else None


def _valid_id(value: Any) -> bool:
    return as_request_id(value) is not None


def _refuse(request_id: RequestId | None, code: int, message: str) -> Refuse:
    return Refuse((request_id,), ErrorData(code=code, message=message))


def _classify_value(value: Any) -> Inbound:
    """The verdict on a parsed line that the SDK's validation did not accept as it is."""
    if isinstance(value, list):
        ids = tuple(dict.fromkeys(item["id"] for item in value if isinstance(item, dict) and _valid_id(item.get("id"))))
        message = "Invalid Request: JSON-RPC batches are not supported by MCP; send one message per line"
        return Refuse(ids or (None,), ErrorData(code=INVALID_REQUEST, message=message))
    if not isinstance(value, dict):
        return _refuse(None, INVALID_REQUEST, "Invalid Request: a JSON-RPC message is a JSON object")
    if "id" not in value or ("method" not in value and ("result" in value or "error" in value)):
        try:
            return Forward(jsonrpc_message_adapter.validate_python(value, by_name=False))
        except ValidationError:
            kind = "response" if "id" in value else "notification"
            return Ignore(f"a malformed {kind} (nothing to answer)")
    request_id = value["id"]
    if not _valid_id(request_id):
        return _refuse(None, INVALID_REQUEST, 'Invalid Request: "id" must be a string or an integer')
    if value.get("jsonrpc") != "2.0":
        return _refuse(request_id, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')
    if "method" not in value:
        return _refuse(request_id, INVALID_REQUEST, 'Invalid Request: "method" is missing')
    if not isinstance(value["method"], str):
        return _refuse(request_id, INVALID_REQUEST, 'Invalid Request: "method" must be a string')
    params = value.get("params")
    if params is not None and not isinstance(params, dict):  # JSON-RPC allows arrays; MCP names its params
        return _refuse(
            request_id,
            INVALID_PARAMS,
            f'Invalid params: "params" must be an object of named parameters, not {type(params).__name__}',
        )
    try:
        request = jsonrpc_message_adapter.validate_python(value, by_name=False)
    except ValidationError:
        request = None
    if not isinstance(request, JSONRPCRequest):
        return _refuse(request_id, INVALID_REQUEST, "Invalid Request: not a valid JSON-RPC request")
    return Forward(request)


def _diagnose(data: bytes | bytearray) -> Inbound:
    # Invalid UTF-8 is replaced, as the SDK's reader does: such a request is served, not refused.
    text = data.decode("utf-8", errors="replace")
    try:
        value = pydantic_core.from_json(text)
    except ValueError as error:
        if "recursion limit" in str(error):
            message = "Invalid params: the message nests arrays/objects deeper than 200 levels; flatten it"
            return _refuse(recover_id(text), INVALID_PARAMS, message)
        return _refuse(recover_id(text), PARSE_ERROR, f"Parse error: not valid JSON ({error})")
    return _classify_value(value)


def classify(line: bytes | bytearray) -> Inbound:
    """What to do with one line from the client."""
    start = 0
    while line.startswith(BOM, start):  # Windows tools prepend one; it is not JSON
        start += len(BOM)
    data = line[start:] if start else line
    if not data or data.isspace():
        return Ignore("")  # blank lines between messages are harmless
    try:
        message = jsonrpc_message_adapter.validate_json(data, by_name=False)
    except ValidationError:
        return _diagnose(data)
    if isinstance(message, JSONRPCNotification):
        # The SDK's union takes {"id": 1.5, "method": ...} for a notification (the bad id is ignored as an
        # extra field): it has an id, so it must be answered.
        parsed = pydantic_core.from_json(data)
        if isinstance(parsed, dict) and "id" in parsed:
            return _classify_value(parsed)
    return Forward(message)


def oversized(line: Oversized, max_bytes: int) -> Refuse:
    size_mb, cap_mb = line.size / MB, max_bytes / MB
    message = (
        f"Invalid Request: the message is {size_mb:.1f} MB, above the {cap_mb:g} MB limit for one stdio message "
        f"({LINE_CAP_VARIABLE}); pass large media as a file path or URL, or raise the limit"
    )
    return _refuse(recover_id(line.head.decode("utf-8", errors="replace")), INVALID_REQUEST, message)


# The transport -------------------------------------------------------------------------------------------


def _encode(message: JSONRPCMessage) -> bytes:
    return message.__pydantic_serializer__.to_json(message, by_alias=True, exclude_unset=True)


async def _first(*waits: Callable[[], Awaitable[object]]) -> None:
    async with anyio.create_task_group() as group:

        async def one(wait: Callable[[], Awaitable[object]]) -> None:
            await wait()
            group.cancel_scope.cancel()

        for wait in waits:
            group.start_soon(one, wait)


ServeStreams = Callable[
    [MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]], Awaitable[None]
]


class StdioTransport:
    """Between the wire and the SDK's streams: classifies what comes in, tracks what is unanswered."""

    def __init__(self, reader: LineReader, writer: LineWriter, shutdown: Shutdown) -> None:
        self.reader, self.writer, self.shutdown = reader, writer, shutdown
        self._to_sdk, self._sdk_reads = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        self._sdk_writes, self._from_sdk = anyio.create_memory_object_stream[SessionMessage](0)
        # Requests handed to the SDK and not answered yet, by the SDK's correlation key ("7" and 7 are one).
        self._pending: dict[RequestId, list[RequestId]] = {}
        self._idle = anyio.Event()
        self._idle.set()
        self._settled: set[RequestId] = set()  # answered here at shutdown: the SDK's late answer is dropped
        self._awaiting_client: dict[RequestId, RequestId] = {}  # our requests to the client (roots, ...)
        self._stdin_closed = False
        self._stdout_gone = anyio.Event()
        self._lock = anyio.Lock()  # one decision-and-write at a time, so each id is answered once
        self._group: anyio.abc.TaskGroup | None = None

    async def serve(self, serve_streams: ServeStreams) -> None:
        server_done = anyio.Event()
        writer_done = anyio.Event()
        async with anyio.create_task_group() as group:
            self._group = group

            async def server() -> None:
                try:
                    await serve_streams(self._sdk_reads, self._sdk_writes)
                finally:
                    server_done.set()

            async def write_loop() -> None:
                try:
                    await self._write_loop()
                finally:
                    writer_done.set()

            group.start_soon(write_loop)
            group.start_soon(server)
            async with anyio.create_task_group() as reading:
                reading.start_soon(self._read_loop)
                await _first(self.shutdown.requested.wait, server_done.wait, self._stdout_gone.wait)
                if not server_done.is_set() and not self._stdout_gone.is_set():
                    await self._drain()
                reading.cancel_scope.cancel()
            self._to_sdk.close()  # the SDK's end of input: it cancels what is left, which is answered already
            with anyio.move_on_after(TEARDOWN_S) as teardown:
                await server_done.wait()
            if teardown.cancelled_caught:
                logger.warning("the server took over %g s to close; stopping it", TEARDOWN_S)
            self.writer.abandon(FINAL_WRITE_S)
            with anyio.move_on_after(FINAL_WRITE_S):
                await writer_done.wait()
            group.cancel_scope.cancel()

    # Incoming ------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while (line := await self.reader.readline()) is not None:
            await self._receive(line)
        self._stdin_closed = True
        # Calls waiting for the client (roots, elicitation) would otherwise wait out the grace period.
        for request_id in list(self._awaiting_client.values()):
            await self._client_cannot_answer(request_id)
        self.shutdown.request("stdin closed", escalate=False)

    async def _receive(self, line: bytes | Oversized) -> None:
        inbound = oversized(line, self.reader.max_bytes) if isinstance(line, Oversized) else classify(line)
        if isinstance(inbound, Refuse):
            for request_id in inbound.ids:
                await self._answer(request_id, inbound.error)
            return
        if isinstance(inbound, Ignore):
            if inbound.reason:
                logger.info("stdin: ignored %s", inbound.reason)
            return
        message = inbound.message
        if isinstance(message, JSONRPCRequest):
            if self.shutdown.requested.is_set():
                await self._answer(message.id, ErrorData(code=SHUTTING_DOWN, message=self.shutdown.refused_message()))
                return
            self._track(message.id)
        elif isinstance(message, JSONRPCNotification):
            if message.method == "notifications/cancelled":  # the SDK never answers a cancelled request
                cancelled = as_request_id((message.params or {}).get("requestId"))
                if cancelled is not None:
                    self._settle(coerce_request_id(cancelled))
        elif message.id is not None:
            self._awaiting_client.pop(coerce_request_id(message.id), None)
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):  # the server stopped on its own
            await self._to_sdk.send(SessionMessage(message))

    async def _client_cannot_answer(self, request_id: RequestId) -> None:
        self._awaiting_client.pop(coerce_request_id(request_id), None)
        error = ErrorData(code=SHUTTING_DOWN, message="the client closed stdin, so it cannot answer")
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):  # the SDK already stopped
            await self._to_sdk.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id, error=error)))

    # Bookkeeping ---------------------------------------------------------------------------------------

    def _track(self, request_id: RequestId) -> None:
        if not self._pending:
            self._idle = anyio.Event()
        self._pending.setdefault(coerce_request_id(request_id), []).append(request_id)

    def _settle(self, key: RequestId) -> None:
        waiting = self._pending.get(key)
        if not waiting:
            return
        waiting.pop(0)
        if not waiting:
            del self._pending[key]
            if not self._pending:
                self._idle.set()

    async def _wait_idle(self) -> None:
        while self._pending:
            await self._idle.wait()

    async def _drain(self) -> None:
        count = sum(len(ids) for ids in self._pending.values())
        if not count:
            # A host closing stdin is the normal way to stop: only a signal is worth a line on stderr.
            logger.log(logging.DEBUG if self._stdin_closed else logging.INFO, "%s: stopping", self.shutdown.reason)
            return
        grace = self.shutdown.grace_s
        logger.info("%s: letting %d request(s) in flight finish (up to %g s)", self.shutdown.reason, count, grace)
        if await self.shutdown.drain(self._wait_idle):
            return
        self.writer.abandon(FINAL_WRITE_S)
        error = ErrorData(code=SHUTTING_DOWN, message=self.shutdown.cancelled_message())
        async with self._lock:
            unanswered = [request_id for ids in self._pending.values() for request_id in ids]
            self._settled.update(self._pending)
            self._pending.clear()
            self._idle.set()
            logger.info("cancelling %d request(s) still running", len(unanswered))
            for request_id in unanswered:
                await self._write(JSONRPCError(jsonrpc="2.0", id=request_id, error=error))

    # Outgoing ------------------------------------------------------------------------------------------

    async def _write(self, message: JSONRPCMessage) -> None:
        if not await self.writer.write_line(_encode(message)) and not self._stdout_gone.is_set():
            self._stdout_gone.set()
            self.shutdown.request("stdout closed")  # nothing can be delivered: a drain under way ends too

    async def _answer(self, request_id: RequestId | None, error: ErrorData) -> None:
        async with self._lock:
            await self._write(JSONRPCError(jsonrpc="2.0", id=request_id, error=error))

    async def _write_loop(self) -> None:
        async with self._from_sdk:
            async for item in self._from_sdk:
                message = item.message
                if isinstance(message, JSONRPCRequest):
                    if self._stdin_closed and self._group is not None:
                        self._group.start_soon(self._client_cannot_answer, message.id)
                        continue
                    self._awaiting_client[coerce_request_id(message.id)] = message.id
                async with self._lock:
                    if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
                        key = coerce_request_id(message.id)
                        if key in self._settled:
                            continue
                        await self._write(message)
                        self._settle(key)
                    else:
                        await self._write(message)


# Wiring --------------------------------------------------------------------------------------------------


def stdio_without_client() -> str | None:
    """Why stdio cannot have a client (stdin closed or empty, stdout closed), or None."""
    if sys.stdin is None:
        return "stdin is closed"
    try:
        found = os.fstat(0)
    except OSError:
        return "stdin is closed"
    if stat.S_ISCHR(found.st_mode) and os.path.samestat(found, os.stat(os.devnull)):
        return "stdin is /dev/null"
    if stat.S_ISREG(found.st_mode) and found.st_size == 0:
        return "stdin is an empty file"
    try:
        os.fstat(1)
    except OSError:
        return "stdout is closed"
    return None


@contextmanager
def _wire_descriptors() -> Iterator[tuple[int, int]]:
    """Private duplicates of fd 0 and 1 for the protocol. Meanwhile fd 0 reads /dev/null and fd 1 writes to
    stderr, so a stray print() or a child process can neither corrupt the wire nor steal the client's input."""
    if sys.stdout is not None:
        sys.stdout.flush()
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        try:
            os.dup2(2, 1)
        except OSError:  # no stderr either
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.close(null)
        yield wire_in, wire_out
    finally:
        if sys.stdout is not None:
            sys.stdout.flush()  # what was printed belongs to stderr, not after our last answer
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)
        os.close(wire_in)
        os.close(wire_out)


async def run_stdio(server: MCPServer[Any], shutdown: Shutdown, max_line_mb: float) -> bool:
    """Serve MCP over stdin/stdout until stdin closes or `shutdown` is requested; False if nothing came in."""
    if sys.platform == "win32":  # no epoll for pipes there: the SDK's thread-based reader
        await server.run_stdio_async()
        return True
    lowlevel = lowlevel_server(server)  # the call MCPServer.run_stdio_async makes, with our streams

    services = getattr(server, "services", None)

    async def serve_streams(
        read: MemoryObjectReceiveStream[SessionMessage | Exception], write: MemoryObjectSendStream[SessionMessage]
    ) -> None:
        async with anyio.create_task_group() as group:

            async def mark_stopping() -> None:
                await shutdown.requested.wait()
                if services is not None:
                    services.stopping = True

            group.start_soon(mark_stopping)
            await lowlevel.run(read, write, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()

    with _wire_descriptors() as (wire_in, wire_out):
        reader = LineReader(wire_in, max(1, int(max_line_mb * MB)))
        writer = LineWriter(wire_out)
        try:
            await StdioTransport(reader, writer, shutdown).serve(serve_streams)
        finally:
            reader.close()
            writer.close()
    return reader.received_any
