"""Large uploads: a 30 MB local file through analyze_media (HTTP server, a `path` input above the upload
threshold, so it goes through the Files API) against the plain SDK uploading the same file by path. Reports
each process's peak RSS growth over the file size (target ≤ 0.1 ×) and the time against the plain SDK.

Then the inline-versus-upload sweep behind GEMINI_MCP_UPLOAD_ABOVE_MB: analyze_media on 1/5/10/15 MB images
and PDFs by path, through two servers that differ only in the threshold (one sends everything inline, the
other uploads everything), taking turns call by call: wall time, the server's CPU, and the prompt tokens
the emulator counts for each form. The emulator answers instantly on loopback, where bandwidth is free and a
round trip costs nothing; `--latency-ms` adds a delay before every emulator answer (an upload makes 2-5
requests, inline 1) to show what distance to Google does to the comparison.

    python benchmarks/large_upload.py [--mb 30] [--reps 3] [--latency-ms 0 100] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    KEY,
    configure_emulator,
    cpu_seconds,
    emulator_process,
    http_server,
    peak_rss_mb,
    ratios,
    rss_mb,
    server_env,
    table,
)

MB = 1_000_000
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF_HEAD = b"%PDF-1.7\n"

# The plain SDK in a fresh interpreter, so its peak RSS is its own: warm up (imports, the pooled client, one
# small upload), reset the peak, upload the file by path (the SDK reads it 8 MiB at a time).
PLAIN_SDK = """
import json, os, sys, time, anyio
from pathlib import Path
from google import genai
from google.genai import types

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

async def main(base, path, small):
    client = genai.Client(api_key=sys.argv[4], http_options=types.HttpOptions(base_url=base))
    config = types.UploadFileConfig(mime_type="application/pdf")
    await client.aio.files.upload(file=small, config=config)
    reset = reset_peak()
    before = status("VmRSS")
    started = time.perf_counter()
    await client.aio.files.upload(file=path, config=config)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "growth_mb": status("VmHWM") - before, "reset": reset}))

def reset_peak():
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False

anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3])
"""


def write_file(path: Path, head: bytes, size: int) -> Path:
    """`size` bytes starting with a format's signature, then incompressible filler, written a block at a time."""
    with path.open("wb") as out:
        out.write(head)
        left = size - len(head)
        while left > 0:
            block = min(left, 4 * 1024 * 1024)
            out.write(os.urandom(block))
            left -= block
    return path


def reset_peak(pid: int) -> bool:
    """Reset a process's peak RSS (VmHWM) to its current RSS, so a peak measures only what follows."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def call_tool(client: Any, name: str, arguments: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = await client.call_tool(name, arguments)
    seconds = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"{name} failed: {result.content}")
    return seconds


async def large_file(base: str, folder: Path, megabytes: int, quick: bool) -> dict[str, float]:
    from mcp import Client

    size = megabytes * MB
    big = write_file(folder / "big.pdf", PDF_HEAD, size)
    small = write_file(folder / "small.pdf", PDF_HEAD, 200_000)
    extra = {"GEMINI_MCP_ALLOWED_DIRS": str(folder)}
    if quick:
        extra["GEMINI_MCP_UPLOAD_ABOVE_MB"] = "1"  # the quick run's small file still takes the upload path
    with tempfile.TemporaryDirectory() as media, http_server(server_env(base, media, **extra)) as (url, server):
        async with Client(url) as client:
            question = {"question": "Summarise"}
            await call_tool(client, "analyze_media", {**question, "media": [{"path": str(small)}]})
            await call_tool(client, "generate_text", {"prompt": "warm up"})
            reset = reset_peak(server.pid)
            before = rss_mb(server.pid)
            tool_s = await call_tool(client, "analyze_media", {**question, "media": [{"path": str(big)}]})
            server_growth = peak_rss_mb(server.pid) - before
    with anyio.fail_after(300):
        out = await anyio.run_process([sys.executable, "-c", PLAIN_SDK, base, str(big), str(small), KEY])
    plain = json.loads(out.stdout.decode().strip().splitlines()[-1])
    file_mb = size / MB
    table(
        f"{megabytes} MB PDF by path, uploaded through the Files API",
        ["path", "seconds", "peak RSS growth MB", "growth / file size"],
        [
            ["analyze_media (server)", f"{tool_s:.2f}", f"{server_growth:.1f}", f"{server_growth / file_mb:.2f}"],
            [
                "plain SDK files.upload(path)",
                f"{plain['seconds']:.2f}",
                f"{plain['growth_mb']:.1f}",
                f"{plain['growth_mb'] / file_mb:.2f}",
            ],
        ],
    )
    if not (reset and plain["reset"]):
        print("(could not reset a process's peak RSS: growth is measured from the earlier peak)")
    print("(the upload is analyze_media's: start, chunks, then generateContent; the SDK row is the upload alone)")
    return {
        "rss_growth_over_file": server_growth / file_mb,
        "sdk_rss_growth_over_file": plain["growth_mb"] / file_mb,
        "time_over_plain_sdk": tool_s / plain["seconds"],
    }


async def sweep(base: str, folder: Path, sizes: list[int], reps: int, latencies: list[int]) -> dict[str, float]:
    from google import genai
    from google.genai import types
    from mcp import Client

    kinds = {"image": (PNG_HEAD, "png", "image/png"), "PDF": (PDF_HEAD, "pdf", "application/pdf")}
    files = {
        (kind, mb): write_file(folder / f"{kind}-{mb}.{suffix}", head, mb * MB)
        for kind, (head, suffix, _) in kinds.items()
        for mb in sizes
    }
    sdk = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base))
    rows = []
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as media:
        shared = {"GEMINI_MCP_ALLOWED_DIRS": str(folder)}
        inline_env = server_env(base, media, GEMINI_MCP_UPLOAD_ABOVE_MB="1000", **shared)
        upload_env = server_env(base, media, GEMINI_MCP_UPLOAD_ABOVE_MB="0", **shared)
        with http_server(inline_env) as (inline_url, inline_server), http_server(upload_env) as (up_url, up_server):
            async with Client(inline_url) as inline, Client(up_url) as upload:
                for client in (inline, upload):
                    await call_tool(
                        client, "analyze_media", {"question": "x", "media": [{"path": str(files["image", sizes[0]])}]}
                    )
                for latency in latencies:
                    configure_emulator(base, latency_s=latency / 1000)
                    for (kind, mb), path in files.items():
                        arguments = {"question": "Describe", "media": [{"path": str(path)}]}
                        times: dict[str, list[float]] = {"inline": [], "upload": []}
                        cpu: dict[str, list[float]] = {"inline": [], "upload": []}
                        for _ in range(reps):
                            for form, client, pid in (
                                ("inline", inline, inline_server.pid),
                                ("upload", upload, up_server.pid),
                            ):
                                spent = cpu_seconds(pid)
                                times[form].append(await call_tool(client, "analyze_media", arguments))
                                cpu[form].append(cpu_seconds(pid) - spent)
                        tokens = (
                            await token_counts(sdk, types, path, kinds[kind][2])
                            if latency == latencies[0]
                            else ("", "")
                        )
                        inline_ms = statistics.median(times["inline"]) * 1000
                        upload_ms = statistics.median(times["upload"]) * 1000
                        rows.append(
                            [
                                latency,
                                kind,
                                mb,
                                f"{inline_ms:.0f}",
                                f"{upload_ms:.0f}",
                                f"{upload_ms / inline_ms:.2f}",
                                f"{statistics.median(cpu['inline']) * 1000:.0f}",
                                f"{statistics.median(cpu['upload']) * 1000:.0f}",
                                *tokens,
                            ]
                        )
                        found[f"upload_over_inline_{kind.lower()}_{mb}mb_{latency}ms"] = upload_ms / inline_ms
    configure_emulator(base, latency_s=0)
    table(
        f"analyze_media by path: inline vs Files API upload (median of {reps}; server CPU per call from /proc)",
        [
            "latency ms",
            "kind",
            "MB",
            "inline ms",
            "upload ms",
            "upload/inline",
            "server CPU inline ms",
            "server CPU upload ms",
            "tokens inline",
            "tokens upload",
        ],
        rows,
    )
    print("(latency: added by the emulator before each answer; the upload makes 3-5 requests to inline's 1)")
    return found


async def token_counts(sdk: Any, types: Any, path: Path, mime: str) -> tuple[str, str]:
    """The prompt tokens the emulator counts for the file inline and as an uploaded file."""
    data = await anyio.Path(path).read_bytes()
    model = "gemini-2.5-flash"
    inline = await sdk.aio.models.count_tokens(model=model, contents=[types.Part.from_bytes(data=data, mime_type=mime)])
    uploaded = await sdk.aio.files.upload(file=str(path), config=types.UploadFileConfig(mime_type=mime))
    by_uri = await sdk.aio.models.count_tokens(
        model=model, contents=[types.Part.from_uri(file_uri=uploaded.uri, mime_type=mime)]
    )
    return str(inline.total_tokens), str(by_uri.total_tokens)


async def run(megabytes: int, sizes: list[int], reps: int, latencies: list[int], quick: bool) -> None:
    with emulator_process() as (base, _), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        found = await large_file(base, folder, megabytes, quick)
        swept = await sweep(base, folder, sizes, reps, latencies)
    picked = {name: value for name, value in swept.items() if name.endswith(f"_{latencies[0]}ms")}
    ratios(**found, **picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=30, help="size of the large file (default 30)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 10, 15], help="sweep sizes, MB")
    parser.add_argument("--reps", type=int, default=3, help="calls per size and form (default 3)")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 100], help="emulator latencies to sweep")
    parser.add_argument("--quick", action="store_true", help="a 3 MB file and a 1 MB sweep: only checks the script")
    args = parser.parse_args()
    if args.quick:
        anyio.run(run, 3, [1], 1, [0], True)
    else:
        anyio.run(run, args.mb, args.sizes, args.reps, args.latency_ms, False)


if __name__ == "__main__":
    main()
