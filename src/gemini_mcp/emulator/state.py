"""What the emulator remembers: recorded requests, scripted faults, settings, files, long-running operations
and extension handlers.

The state is shared between the server thread and the test thread, so every mutable collection sits
behind one lock and readers get copies. The lock's condition is notified on every change a test may wait
for (a request recorded, an operation started or changed, a held request released), so waiting is
`wait_until(predicate)`, never a sleep.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from gemini_mcp.emulator.catalog import ModelSpec

T = TypeVar("T")
WAIT_S = 30.0  # how long a test waits for the server to get somewhere before the wait fails


@dataclass
class Fault:
    """A scripted misbehaviour for requests whose rpc equals, or whose path contains, `match`.

    Exactly what happens, in order: with `hold`, wait until a test releases it (`release_held`, or any
    `clear`), so a call stays in flight exactly as long as the test needs; wait `delay_s`; then answer
    `response` (JSON, HTTP `response_status`), or an error envelope with `status`, or `page` (this HTML,
    `text/html`, HTTP `response_status`: a captive portal, a proxy's error page, a base URL pointing at a
    web site), or `malformed` (a stock HTML page, likewise), or `reset` (headers then a dropped connection:
    the request was received); with none of those the request is served normally. `truncate_after` cuts the
    body (scripted or real) after that many bytes and drops the connection. `times` is how many requests it
    applies to (None: all); `headers` are added to the response (e.g. `retry-after`).
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
    hold: bool = False
    hits: int = 0
    released: bool = False

    def matches(self, rpc: str | None, path: str) -> bool:
        return not self.match or self.match == rpc or self.match in path


@dataclass
class Config:
    """Tunable behaviour; change it with `Emulator.configure(...)` or POST /_emulator/config."""

    latency_s: float = 0.0  # added before every API answer
    stream_chunk_delay_s: float = 0.0  # between server-sent events
    require_key: bool = True
    file_processing_s: float = 0.0  # how long uploaded video/audio files stay PROCESSING
    operation_duration_s: float = 2.0  # how long long-running operations (Veo) take; 0: done at the first poll
    hold_operations: bool = False  # operations started from now on run until a test finishes them
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
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._holds: list[Fault] = []  # hold faults not yet released, including used-up ones still holding
        self.files: dict[str, dict[str, Any]] = {}  # id → {"meta": {...}, "data": bytes, "ready_at": float}
        self.uploads: dict[str, dict[str, Any]] = {}  # upload session → {"meta", "chunks", "size"}
        # name → the handler's job, plus the lifecycle kept here: started, finishes_at (None: held until
        # finished on command), done, error ({"code", "message"} or None), progress (percent or None).
        self.operations: dict[str, dict[str, Any]] = {}
        self.blobs: dict[str, tuple[bytes, str]] = {}  # generated media served by URI: id → (data, mime)
        self.interactions: dict[str, dict[str, Any]] = {}  # Interactions API: id → the stored interaction
        # Named API resources by full name ("cachedContents/…", "fileSearchStores/…/documents/…", "batches/…"):
        # the wire form, plus the handler's private keys, which start with "_" and never reach the wire.
        self.resources: dict[str, dict[str, Any]] = {}

    # Waiting ------------------------------------------------------------------------------------------
    def wait_until(
        self,
        predicate: Callable[[], T],
        timeout: float = WAIT_S,
        what: str = "the emulator",
        abandoned: threading.Event | None = None,
    ) -> T:
        """Block until `predicate()` (called under the lock, so it may read the state's internals) is truthy,
        and return its value; `TimeoutError` after `timeout` s. Setting `abandoned` (then `wake()`) gives up."""
        with self._changed:
            gone = abandoned or threading.Event()
            result = self._changed.wait_for(lambda: predicate() or gone.is_set(), timeout)
            if gone.is_set():
                raise TimeoutError(f"gave up waiting for {what}")
            if not result:
                raise TimeoutError(f"{what} did not happen within {timeout:g} s")
            return predicate()

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # Recorded requests --------------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        with self._changed:
            self._requests.append(entry)
            self._changed.notify_all()

    def requests(
        self, rpc: str | None = None, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Copies of the recorded requests, oldest first; only those for `rpc` and passing `where`, if given."""
        with self._lock:
            return copy.deepcopy(self._matching(rpc, where))

    def _matching(self, rpc: str | None, where: Callable[[dict[str, Any]], bool] | None) -> list[dict[str, Any]]:
        return [r for r in self._requests if (rpc is None or r.get("rpc") == rpc) and (where is None or where(r))]

    def wait_for_requests(
        self,
        rpc: str | None = None,
        count: int = 1,
        timeout: float = WAIT_S,
        abandoned: threading.Event | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Block until at least `count` requests (for `rpc` and passing `where`, when given) were recorded;
        return them all."""
        what = f"{count} {rpc or 'API'} request(s)"
        try:
            self.wait_until(lambda: len(self._matching(rpc, where)) >= count, timeout, what, abandoned)
        except TimeoutError as exc:
            seen = [r.get("rpc") or r.get("path") for r in self.requests()]
            raise TimeoutError(f"emulator: {exc}; received so far: {seen}") from None
        return self.requests(rpc, where)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # Faults -------------------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
            if fault.hold:
                self._holds.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.release_held()

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

    def wait_released(self, fault: Fault) -> None:
        """Block (in a worker thread of the emulator) until `fault`'s held requests are released."""
        with self._changed:
            self._changed.wait_for(lambda: fault.released)

    def release_held(self, match: str | None = None) -> int:
        """Let every request held by a `hold` fault (whose `match` equals `match`, when given) go on, and retire
        those faults so later requests are not held; returns how many faults were released. A release that
        comes before the request reaches its hold still counts: the request then does not stop."""
        with self._changed:
            released = [f for f in self._holds if match is None or f.match == match]
            for fault in released:
                fault.released = True
                self._holds.remove(fault)
                if fault in self._faults:
                    self._faults.remove(fault)
            self._changed.notify_all()
        return len(released)

    # Long-running operations -------------------------------------------------------------------------
    def add_operation(self, name: str, job: dict[str, Any]) -> None:
        """Start an operation: it finishes `config.operation_duration_s` from now, or only on command when
        `config.hold_operations` is set."""
        now = time.monotonic()
        finishes_at = None if self.config.hold_operations else now + max(0.0, self.config.operation_duration_s)
        with self._changed:
            lifecycle = {"started": now, "finishes_at": finishes_at, "done": False, "error": None, "progress": None}
            self.operations[name] = {**job, **lifecycle}
            self._changed.notify_all()

    def operation(self, name: str) -> dict[str, Any] | None:
        """A snapshot of the operation as a poll sees it now (timer applied, progress filled in), or None."""
        with self._lock:
            job = self.operations.get(name)
            if job is None:
                return None
            snapshot = dict(job)
        finishes_at = snapshot["finishes_at"]
        if finishes_at is None or snapshot["done"]:
            return snapshot
        now = time.monotonic()
        if now >= finishes_at:
            snapshot["done"] = True
        elif snapshot["progress"] is None:
            snapshot["progress"] = int(100 * (now - snapshot["started"]) / (finishes_at - snapshot["started"]))
        return snapshot

    def operation_names(self) -> list[str]:
        with self._lock:
            return list(self.operations)

    def wait_for_operations(
        self, count: int = 1, timeout: float = WAIT_S, abandoned: threading.Event | None = None
    ) -> list[str]:
        """Block until at least `count` operations were started; return all their names, oldest first."""
        self.wait_until(lambda: len(self.operations) >= count, timeout, f"{count} operation(s) to start", abandoned)
        return self.operation_names()

    def resolve_operation(self, ref: str) -> str:
        """The full name of the operation `ref` names: its full name or its last path segment (the id)."""
        with self._lock:
            if ref in self.operations:
                return ref
            found = [name for name in self.operations if name.rsplit("/", 1)[-1] == ref]
            if len(found) == 1:
                return found[0]
            known = [name.rsplit("/", 1)[-1] for name in self.operations]
        raise KeyError(f"no emulated operation {ref!r}; operations: {known or 'none started'}")

    def finish_operation(self, ref: str, error: dict[str, Any] | None = None) -> str:
        """End the operation now: with its normal outcome, or with `error` ({"code", "message"}). Finishing a
        finished operation again changes nothing; failing one raises ValueError."""
        name = self.resolve_operation(ref)
        with self._changed:
            job = self.operations[name]
            if error is not None and _over(job):
                raise ValueError(f"operation {name} has already finished")
            if not job["done"]:
                job.update(done=True, error=error)
            self._changed.notify_all()
        return name

    def finish_all(self) -> list[str]:
        """Finish every running operation; returns their names."""
        with self._lock:
            running = [name for name, job in self.operations.items() if not _over(job)]
            for name in running:
                self.finish_operation(name)
        return running

    def set_progress(self, ref: str, percent: int) -> str:
        """Report `percent` (0-100) in the operation's metadata from its next poll on."""
        if not 0 <= percent <= 100:
            raise ValueError(f"progress must be between 0 and 100, got {percent}")
        name = self.resolve_operation(ref)
        with self._changed:
            self.operations[name]["progress"] = int(percent)
            self._changed.notify_all()
        return name

    def clear(self) -> None:
        """Forget requests, faults, files and operations, release held requests; restore the default settings."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self.files.clear()
            self.uploads.clear()
            self.operations.clear()
            self.blobs.clear()
            self.interactions.clear()
            self.resources.clear()
            self.config = Config()
        self.release_held()


def _over(job: dict[str, Any]) -> bool:
    return bool(job["done"]) or (job["finishes_at"] is not None and time.monotonic() >= job["finishes_at"])
