"""Running the emulator: in a background thread for tests and scripts, or in the foreground for the CLI."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import uvicorn

from gemini_mcp.emulator.app import create_app
from gemini_mcp.emulator.state import Config, EmulatorState, Fault
from gemini_mcp.server.sockets import listening_socket


class Emulator:
    """The emulator on a free loopback port, served by uvicorn in a daemon thread.

    >>> with Emulator() as emu:
    ...     client = genai.Client(api_key="x", http_options=HttpOptions(base_url=emu.base_url))
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
    def requests(self) -> list[dict[str, Any]]:
        """Every API request received since the last `clear()`, oldest first."""
        return self.state.requests()

    def clear(self) -> None:
        """Forget requests, faults, files and operations, and restore the default configuration."""
        self.state.clear()

    def add_fault(self, match: str = "", **options: Any) -> Fault:
        """Script a misbehaviour for requests whose rpc equals, or whose path contains, `match` (see `Fault`)."""
        return self.state.add_fault(Fault(match=match, **options))

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
