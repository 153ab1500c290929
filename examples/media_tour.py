"""Generate an image, a two-voice speech clip and a video through gemini-mcp, printing progress as it comes.

    python examples/media_tour.py --demo                     # offline: the built-in emulator answers
    GEMINI_API_KEY=... python examples/media_tour.py         # the Gemini Developer API (video: Gemini Omni)
    GOOGLE_GENAI_USE_VERTEXAI=true GOOGLE_API_KEY=... python examples/media_tour.py   # Vertex AI (video: Veo)
    python examples/media_tour.py --url http://127.0.0.1:8000/mcp --token "$GEMINI_MCP_AUTH_TOKEN"

It starts `gemini-mcp` over stdio (as an MCP host does) unless given --url, then calls the tools with a
progress callback. Files are saved by the server; their paths and gemini://media URIs are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, TextContent

STEPS: list[tuple[str, dict[str, Any]]] = [
    ("generate_image", {"prompt": "A watercolour lighthouse on a cliff at dawn", "output": "link"}),
    (
        "generate_speech",
        {
            "text": "Ada: Did you see the lighthouse?\nBen: I did, and the sea was glowing.",
            "speakers": [{"speaker": "Ada", "voice": "Kore"}, {"speaker": "Ben", "voice": "Puck"}],
            "output": "link",
        },
    ),
    ("generate_video", {"prompt": "Slow aerial shot circling a lighthouse at dawn, waves below", "output": "link"}),
]


async def show_progress(progress: float, total: float | None, message: str | None) -> None:
    share = f"{progress / total:4.0%}" if total else f"{progress:g}"
    print(f"    [{share}] {message or ''}", flush=True)


def saved(result: CallToolResult) -> list[str]:
    """The saved files of a media tool's result: 'path (uri)' for each item."""
    data = result.structured_content or {}
    items = data.get("images") or data.get("videos") or ([data["audio"]] if data.get("audio") else [])
    return [f"{item['path']}  ({item['uri']})" for item in items]


async def available_tools(client: Client) -> set[str]:
    """Tools the server's backend can serve (list_models says which, without calling Gemini for them)."""
    listed = await client.call_tool("list_models", {})
    capabilities = (listed.structured_content or {}).get("capabilities", {})
    return {tool["name"] for tool in capabilities.get("tools", []) if tool["available"]}


async def tour(target: Any) -> int:
    failures = 0
    async with Client(target) as client:
        available = await available_tools(client)
        for tool, arguments in STEPS:
            print(f"\n{tool}: {arguments.get('prompt') or arguments.get('text')}", flush=True)
            if tool not in available:
                print("    skipped: this backend cannot serve it (video needs Vertex AI mode; try --demo)")
                continue
            result = await client.call_tool(tool, arguments, progress_callback=show_progress)
            if result.is_error:
                failures += 1
                print("    error: " + " ".join(b.text for b in result.content if isinstance(b, TextContent)))
                continue
            for line in saved(result):
                print(f"    saved {line}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the server with --demo (no key, no network)")
    parser.add_argument("--url", help="a running gemini-mcp over HTTP instead of starting one over stdio")
    parser.add_argument("--token", help="bearer token for --url")
    args = parser.parse_args()
    target: Any
    if args.url:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        target = streamable_http_client(args.url, http_client=httpx2.AsyncClient(headers=headers, timeout=900))
    else:
        extra = ["--demo"] if args.demo else []
        # The MCP stdio client passes only a minimal environment unless told otherwise: hand over ours (the key).
        target = StdioServerParameters(command=sys.executable, args=["-m", "gemini_mcp", *extra], env=dict(os.environ))
    sys.exit(1 if anyio.run(tour, target) else 0)


if __name__ == "__main__":
    main()
