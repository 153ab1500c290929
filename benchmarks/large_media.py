"""Large media: an 80 MB Veo video from the emulator through generate_video (Vertex mode, HTTP server), against
the plain SDK fetching the same finished operation. Reports the server's peak RSS growth against the file
size (target ≤ 1.3×) and the time against the plain SDK (target ≤ 1.5×).

    python benchmarks/large_media.py [--mb 80] [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    KEY,
    command_line,
    configure_emulator,
    emulator_process,
    http_server,
    peak_rss_mb,
    ratios,
    rss_mb,
    server_env,
    table,
)


async def run(megabytes: int) -> None:
    from google import genai
    from google.genai import types
    from mcp import Client

    size = megabytes * 1_000_000
    with emulator_process() as (base, _):
        configure_emulator(base, operation_duration_s=0, extra={"video_bytes": size})
        with tempfile.TemporaryDirectory() as media:
            env = server_env(
                base, media, GOOGLE_GENAI_USE_VERTEXAI="true", GOOGLE_API_KEY=KEY, GEMINI_MCP_VIDEO_POLL_SECONDS="0.05"
            )
            env.pop("GEMINI_API_KEY")
            with http_server(env) as (url, server):
                async with Client(url) as client:
                    await client.call_tool("generate_text", {"prompt": "warm up"})  # loads the SDK, makes the client
                    rss_before = rss_mb(server.pid)
                    started = time.perf_counter()
                    result = await client.call_tool("generate_video", {"prompt": "a long take"})
                    tool_s = time.perf_counter() - started
                    peak = peak_rss_mb(server.pid)
                saved = result.structured_content["videos"][0]["size_bytes"] if not result.is_error else 0
        sdk = genai.Client(vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=base))
        operation = await sdk.aio.models.generate_videos(
            model="veo-3.1-fast-generate-preview", source=types.GenerateVideosSource(prompt="x")
        )
        own_before = rss_mb()
        started = time.perf_counter()
        operation = await sdk.aio.operations.get(operation)
        data = operation.response.generated_videos[0].video.video_bytes  # type: ignore[union-attr,index]
        await anyio.Path(tempfile.gettempdir(), "bench-video.mp4").write_bytes(data or b"")
        plain_s = time.perf_counter() - started
        own_peak = peak_rss_mb()
    file_mb = size / 1_000_000
    table(
        f"{megabytes} MB video",
        ["path", "seconds", "peak RSS growth MB", "growth / file size"],
        [
            [
                "generate_video (server)",
                f"{tool_s:.2f}",
                f"{peak - rss_before:.0f}",
                f"{(peak - rss_before) / file_mb:.2f}",
            ],
            [
                "plain SDK operations.get",
                f"{plain_s:.2f}",
                f"{own_peak - own_before:.0f}",
                f"{(own_peak - own_before) / file_mb:.2f}",
            ],
        ],
    )
    print(f"saved {saved} bytes")
    ratios(rss_growth_over_file=(peak - rss_before) / file_mb, time_over_plain_sdk=tool_s / plain_s)


def main() -> None:
    command_line(__doc__, run, "mb", default=80, quick=2)


if __name__ == "__main__":
    main()
