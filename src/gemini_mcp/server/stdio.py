"""Serving MCP over stdio with a stdin reader that can be cancelled.

The `mcp` SDK reads stdin in a worker thread, which cannot be interrupted: a server asked to stop (SIGTERM)
would hang until the host writes again or closes the pipe. When stdin is a pipe or a terminal we read it
non-blocking on the event loop instead, so shutdown is immediate; other stdins (a regular file) keep the
SDK's reader.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server


class PipeLines:
    """Async iteration over the lines of a pipe, readable without a thread."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        os.set_blocking(fd, False)

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        while b"\n" not in self.buffer:
            await anyio.wait_readable(self.fd)
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                if self.buffer:
                    line, self.buffer = self.buffer, b""
                    return line.decode("utf-8", errors="replace")
                raise StopAsyncIteration
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", errors="replace") + "\n"


def _cancellable_stdin() -> PipeLines | None:
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode):
        return PipeLines(os.dup(fd))
    return None


async def run_stdio(server: MCPServer[Any]) -> None:
    stdin = _cancellable_stdin()
    if stdin is None:
        await server.run_stdio_async()
        return
    lowlevel = server._lowlevel_server  # the same call MCPServer.run_stdio_async makes, with our stdin
    try:
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):  # type: ignore[arg-type]
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    finally:
        os.set_blocking(stdin.fd, True)  # the flag is shared with the terminal or pipe we were given
        os.close(stdin.fd)
