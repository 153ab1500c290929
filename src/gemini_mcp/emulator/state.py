"""What the emulator remembers: recorded requests, scripted faults, settings, files and extension handlers.

The state is shared between the server thread and the test thread, so every mutable collection sits
behind one lock and readers get copies.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from gemini_mcp.emulator.catalog import ModelSpec


@dataclass
class Fault:
    """A scripted misbehaviour for requests whose rpc equals, or whose path contains, `match`.

    Exactly what happens, in order: wait `delay_s`; then answer `response` (JSON, HTTP `response_status`),
    or an error envelope with `status`, or `page` (this HTML, `text/html`, HTTP `response_status`: a captive
    portal, a proxy's error page, a base URL pointing at a web site), or `malformed` (a stock HTML page, likewise),
    or `reset` (headers then a dropped connection: the request was received); with none of those the request
    is served normally. `truncate_after` cuts the body (scripted or real) after that many bytes and drops
    the connection. `times` is how many requests it applies to (None: all); `headers` are added to the
    response (e.g. `retry-after`).
    """

    match: str = ""
    response: dict[str, Any] | None = None
    response_status: int = 200
    status: int | None = None
    message: str | None = None
    delay_s: float = 0.0
    truncate_after: int | None = None
    malformed: bool = False
    page: str | None = None
    reset: bool = False
    times: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0

    def matches(self, rpc: str | None, path: str) -> bool:
        return not self.match or self.match == rpc or self.match in path


@dataclass
class Config:
    """Tunable behaviour; change it with `Emulator.configure(...)` or POST /_emulator/config."""

    latency_s: float = 0.0  # added before every API answer
    stream_chunk_delay_s: float = 0.0  # between server-sent events
    require_key: bool = True
    file_processing_s: float = 0.0  # how long uploaded video/audio files stay PROCESSING
    operation_duration_s: float = 2.0  # how long long-running operations (Veo) take
    extra: dict[str, Any] = field(default_factory=dict)  # for extension handlers


@dataclass
class RpcContext:
    """Everything a handler needs about one API call."""

    state: EmulatorState
    request: Request
    rpc: str
    model: str
    spec: ModelSpec
    backend: str  # gemini | vertex
    api_version: str
    body: dict[str, Any]
    base_url: str
    registry: Registry

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)


RpcHandler = Callable[[RpcContext], Awaitable["Response | dict[str, Any]"]]


@dataclass
class Registry:
    """Extension points: handlers for model rpcs, for response modalities, and extra routes."""

    rpcs: dict[tuple[str, str | None], RpcHandler] = field(default_factory=dict)
    modalities: dict[str, RpcHandler] = field(default_factory=dict)
    routes: list[BaseRoute] = field(default_factory=list)

    def rpc(self, name: str, handler: RpcHandler, kind: str | None = None) -> None:
        """Serve `name` (e.g. "predict") for models of `kind` (catalog kind), or for every model."""
        self.rpcs[(name, kind)] = handler

    def find(self, name: str, kind: str) -> RpcHandler | None:
        return self.rpcs.get((name, kind)) or self.rpcs.get((name, None))

    def modality(self, name: str, handler: RpcHandler) -> None:
        self.modalities[name.upper()] = handler

    def route(self, route: BaseRoute) -> None:
        self.routes.append(route)


class EmulatorState:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self.files: dict[str, dict[str, Any]] = {}  # id → {"meta": {...}, "data": bytes, "ready_at": float}
        self.uploads: dict[str, dict[str, Any]] = {}  # upload session → {"meta", "chunks", "size"}
        self.operations: dict[str, dict[str, Any]] = {}  # for long-running handlers
        self.blobs: dict[str, tuple[bytes, str]] = {}  # generated media served by URI: id → (data, mime)

    # Recorded requests --------------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # Faults -------------------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_fault(self, rpc: str | None, path: str) -> Fault | None:
        """The first pending fault for this request, counting the hit (and retiring it when used up)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(rpc, path):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Forget requests, faults, files and operations; keep the configuration's defaults."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self.files.clear()
            self.uploads.clear()
            self.operations.clear()
            self.blobs.clear()
            self.config = Config()
