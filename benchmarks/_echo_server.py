"""The floor for benchmarks: a bare `mcp` MCPServer with one echo tool (stdio, or HTTP with --port).

With `--with-sdk` it also has `generate`: the plain google-genai SDK's generateContent on the prompt, against
GOOGLE_GEMINI_BASE_URL (the emulator), its text returned; the floor plus the SDK, as one server."""

from __future__ import annotations

import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


_sdk: list[Any] = []


async def generate(prompt: str) -> str:
    """Gemini's answer to the prompt, through the plain SDK."""
    if not _sdk:
        import logging

        import httpx2
        from google import genai
        from google.genai import types

        no_delay = [(6, 1, 1)]  # IPPROTO_TCP, TCP_NODELAY, on: as the server's transport sets it
        transport = httpx2.AsyncHTTPTransport(socket_options=no_delay, limits=httpx2.Limits(max_connections=200))
        options = types.HttpOptions(
            base_url=os.environ["GOOGLE_GEMINI_BASE_URL"], async_client_args={"transport": transport}
        )
        # MCPServer sets the root logger to INFO, where httpx2 logs every request: not the SDK's own cost.
        for name in ("httpx", "httpx2", "httpcore", "httpcore2", "google_genai"):
            logging.getLogger(name).setLevel(logging.WARNING)
        _sdk.append(genai.Client(api_key=os.environ.get("GEMINI_API_KEY", "bench"), http_options=options))
    response = await _sdk[0].aio.models.generate_content(model="gemini-2.5-flash", contents=prompt)
    return response.text or ""


if __name__ == "__main__":
    if "--with-sdk" in sys.argv:
        server.add_tool(generate)
    if "--port" in sys.argv:
        import anyio
        import uvicorn

        app = server.streamable_http_app(streamable_http_path="/mcp")
        port = int(sys.argv[sys.argv.index("--port") + 1])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        anyio.run(uvicorn.Server(config).serve)
    else:
        server.run()
