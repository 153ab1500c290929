"""The common part of the fake model APIs: a recording HTTP server on loopback and the script it follows.

A fake model follows a `Script` the way the emulator's scripted turns do (src/gemini_mcp/emulator/scripted.py):
a request whose text contains the script's marker and that offers a tool for every scripted call gets the
next call the conversation has not made yet; once all were made, the answer, quoting the tool results it was
handed. Any other request (a host's title, summary or quota probes) gets a short plain answer.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

WAIT_S = 60.0


@dataclass(frozen=True)
class Call:
    name: str  # our tool's name; hosts prefix it (mcp__gemini__generate_text), the fake finds it by suffix
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Script:
    marker: str
    calls: tuple[Call, ...]
    answer: str

    def next_call(self, text: str, offered: list[str], made: list[str]) -> tuple[Call, str] | bool | None:
        """(the call, the host's name for the tool) to make next; True when every call was made (time to
        answer); None when this request is not the scripted conversation."""
        if self.marker not in text:
            return None
        names = [host_name(call.name, offered) for call in self.calls]
        if any(name is None for name in names):
            return None
        for call, name in zip(self.calls, names, strict=True):
            if name is not None and name not in made:
                return call, name
        return True


def host_name(tool: str, offered: list[str]) -> str | None:
    """The name a host gave our tool: the tool's own, or it with a prefix (mcp__gemini__generate_text)."""
    for name in offered:
        if name == tool or re.fullmatch(rf".*(?:_|__|\.|/){re.escape(tool)}", name):
            return name
    return None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(value).encode(), "application/json")


def sse_reply(events: list[tuple[str | None, dict[str, Any]]]) -> Reply:
    """Server-sent events, each `event: NAME` (when named) and `data: JSON`."""
    chunks = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        chunks.append(f"{head}data: {json.dumps(data)}\n\n")
    return Reply(200, "".join(chunks).encode(), "text/event-stream")


class RecordingServer:
    """An HTTP server on 127.0.0.1 (free port) that records each request and answers with `self.answer`."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_CONNECT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name=type(self).__name__)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self, where: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self._requests if where is None or where(r)]

    def wait_for(self, where: Callable[[dict[str, Any]], bool], count: int = 1) -> list[dict[str, Any]]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests(where)) >= count, WAIT_S):
                raise TimeoutError(f"{type(self).__name__}: {count} request(s) did not arrive; got {self.paths()}")
            return self.requests(where)

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.requests()]

    def answer(self, request: dict[str, Any]) -> Reply:
        raise NotImplementedError

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_bytes": len(raw)}
        headers = {k.lower(): v for k, v in handler.headers.items() if k.lower() not in ("authorization", "x-api-key")}
        entry = {"method": handler.command, "path": handler.path, "headers": headers, "body": body}
        with self._lock:
            self._requests.append(entry)
            self._lock.notify_all()
        try:
            reply = self.answer(entry)
        except Exception as exc:  # a bug in the fake must show in the host's output, not hang it
            reply = json_reply({"error": {"type": "fake_api_error", "message": repr(exc)}}, 500)
        handler.send_response(reply.status)
        handler.send_header("content-type", reply.content_type)
        handler.send_header("content-length", str(len(reply.body)))
        handler.send_header("connection", "close")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(reply.body)
        handler.close_connection = True


class Blackhole(RecordingServer):
    """An HTTP(S) proxy that forwards nothing: hosts get HTTPS_PROXY/HTTP_PROXY/ALL_PROXY pointing here, so
    any request of theirs that is not for loopback is refused, and recorded for the test to see."""

    def answer(self, request: dict[str, Any]) -> Reply:
        return Reply(403, b"blocked by the test: traffic stays on loopback", "text/plain")

    def targets(self) -> list[str]:
        return [r["path"] for r in self.requests()]


def walk(value: Any) -> Iterator[Any]:
    """Every dict and list inside `value`, itself included."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
