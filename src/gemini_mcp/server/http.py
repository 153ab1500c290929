"""Serving MCP over Streamable HTTP with uvicorn, bound to loopback by default."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gemini_mcp.server.settings import Settings


async def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    import uvicorn

    app = server.streamable_http_app(streamable_http_path="/mcp")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),  # in-flight calls get this long after SIGTERM
    )
    await uvicorn.Server(config).serve()
