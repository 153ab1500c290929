"""Running the emulator: in a background thread for tests and scripts, or in the foreground for the CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import anyio
import uvicorn

from gemini_mcp.emulator.app import create_app
from gemini_mcp.emulator.state import WAIT_S, Config, EmulatorState, Fault
from gemini_mcp.sockets import listening_socket

T = TypeVar("T")
Match = Callable[[dict[str, Any]], bool]  # picks recorded requests, e.g. lambda r: r.get("live") == "closed"


class Emulator:
    """The emulator on a free loopback port, served by uvicorn in a daemon thread.

    >>> with Emulator() as emu:
    ...     client = genai.Client(api_key="x", http_options=HttpOptions(base_url=emu.base_url))

    Tests drive it without sleeping: `configure(hold_operations=True)` keeps operations running until
    `finish_operation(name)` / `fail_operation(name, message)` / `finish_all()` (`set_progress` meanwhile);
    `add_fault(match, hold=True)` keeps matching requests in flight until `release_held()`; and
    `wait_for_requests` / `wait_for_operations` (blocking) or `await_requests` / `await_operations` (async,
    for a server on the test's own event loop) wait until the server got that far.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState()
        self.app = create_app(self.state)
        self._certfile = ssl_certfile
        self._keyfile = ssl_keyfile
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self._certfile else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> Emulator:
        if self._thread is not None:
            return self
        sock = listening_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="critical",
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
            ssl_certfile=self._certfile,
            ssl_keyfile=self._keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="gemini-emulator"
        )
        self._thread.start()
        started = threading.Event()
        for _ in range(400):
            if self._server.started:
                started.set()
                break
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.025)
        if not started.is_set():
            raise RuntimeError("the Gemini emulator did not start")
        return self

    def stop(self) -> None:
        self.state.release_held()  # held requests block worker threads that shutdown would wait for
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()

    # Inspection and scripting ---------------------------------------------------------------------------
    def requests(self, rpc: str | None = None, where: Match | None = None) -> list[dict[str, Any]]:
        """Every API request (for `rpc` and passing `where`, when given) since the last `clear()`, oldest first."""
        return self.state.requests(rpc, where)

    def clear(self) -> None:
        """Forget requests, faults, files and operations, release held requests, restore the default settings."""
        self.state.clear()

    def add_fault(self, match: str = "", **options: Any) -> Fault:
        """Script a misbehaviour for requests whose rpc equals, or whose path contains, `match` (see `Fault`)."""
        return self.state.add_fault(Fault(match=match, **options))

    def release_held(self, match: str | None = None) -> int:
        """Let the requests held by `hold=True` faults (with this `match`, when given) go on; retire those faults."""
        return self.state.release_held(match)

    # Long-running operations ------------------------------------------------------------------------------
    def operations(self) -> list[str]:
        """The names of the operations started since the last `clear()`, oldest first."""
        return self.state.operation_names()

    def finish_operation(self, name: str) -> str:
        """Finish an operation now with its normal outcome; `name` may be its full name or its id."""
        return self.state.finish_operation(name)

    def fail_operation(
        self, name: str, message: str = "Video generation failed: internal error.", code: int = 13
    ) -> str:
        """End a running operation with an error (google.rpc.Status `code` and `message`)."""
        return self.state.finish_operation(name, error={"code": code, "message": message})

    def finish_all(self) -> list[str]:
        """Finish every running operation; returns their names."""
        return self.state.finish_all()

    def set_progress(self, name: str, percent: int) -> str:
        """Report `percent` in the operation's `progressPercent` metadata from its next poll on."""
        return self.state.set_progress(name, percent)

    # Waiting for the code under test ------------------------------------------------------------------------
    def wait_for_requests(
        self, rpc: str | None = None, count: int = 1, timeout: float = WAIT_S, where: Match | None = None
    ) -> list[dict[str, Any]]:
        """Block until `count` requests for `rpc` (any, when None) passing `where` arrived; returns them. For
        tests whose server runs in another thread or process: one on this thread's event loop needs
        `await_requests`."""
        return self.state.wait_for_requests(rpc, count, timeout, where=where)

    def wait_for_operations(self, count: int = 1, timeout: float = WAIT_S) -> list[str]:
        """Block until `count` operations were started; returns every operation's name, oldest first."""
        return self.state.wait_for_operations(count, timeout)

    async def await_requests(
        self, rpc: str | None = None, count: int = 1, where: Match | None = None
    ) -> list[dict[str, Any]]:
        """`wait_for_requests` without blocking the event loop (the in-memory MCP server keeps running); it
        gives up after `WAIT_S`, or sooner inside `anyio.fail_after`."""
        return await self._await(lambda gone: self.state.wait_for_requests(rpc, count, WAIT_S, gone, where))

    async def await_operations(self, count: int = 1) -> list[str]:
        """`wait_for_operations` without blocking the event loop."""
        return await self._await(lambda gone: self.state.wait_for_operations(count, WAIT_S, gone))

    async def _await(self, wait: Callable[[threading.Event], T]) -> T:
        gone = threading.Event()
        try:
            return await anyio.to_thread.run_sync(wait, gone, abandon_on_cancel=True)
        finally:
            gone.set()  # a cancelled wait must not keep its worker thread until the timeout
            self.state.wake()

    def configure(self, **settings: Any) -> Config:
        for name, value in settings.items():
            if not hasattr(self.state.config, name):
                raise AttributeError(f"unknown emulator setting {name!r}")
            setattr(self.state.config, name, value)
        return self.state.config


async def serve(host: str = "127.0.0.1", port: int = 8765, log_level: str = "info") -> None:
    """Serve the emulator in the foreground until cancelled (the `gemini-mcp emulator` command)."""
    config = uvicorn.Config(
        create_app(), host=host, port=port, log_level=log_level, lifespan="off", ws="websockets-sansio"
    )
    await uvicorn.Server(config).serve()
