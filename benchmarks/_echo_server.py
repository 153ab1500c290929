"""The floor for benchmarks: a bare `mcp` MCPServer with one echo tool (stdio, or HTTP with --port)."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--port":
        import anyio
        import uvicorn

        app = server.streamable_http_app(streamable_http_path="/mcp")
        config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
        anyio.run(uvicorn.Server(config).serve)
    else:
        server.run()
