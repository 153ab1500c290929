"""Bulk embeddings: embed_text for N texts (default 10,000, 3072 dimensions: 100 batches) through the HTTP
server, against the plain google-genai SDK doing the same batches concurrently (as many in flight as the
server keeps per call), all against one emulator process. Each round runs the server, then the SDK keeping its
responses (what `gather` gives a caller), then the SDK saving each batch to a file as it arrives (the floor for
memory), each SDK run in a fresh process. Reports wall time, CPU time and peak RSS growth of the measured process
(the server's for embed_text), and RSS after each call against before: is memory returned?

Targets: time ≤ 1.2 × the SDK's, peak RSS growth ≤ 1.2 × the SDK's, RSS back after the call.

    python benchmarks/embed_bulk.py [--texts 10000] [--quick]
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (
    KEY,
    command_line,
    cpu_seconds,
    emulator_process,
    http_server,
    peak_rss_mb,
    ratios,
    rss_mb,
    server_env,
    table,
)

from gemini_mcp.gemini.embeddings import BATCH, IN_FLIGHT

MODEL = "gemini-embedding-001"
CHECKED_ROWS = 5
WARM_UP = 300  # texts: three batches, a file on the server's side
NAMES = {
    "server": "embed_text (server, HTTP)",
    "sdk_kept": "plain SDK, responses kept",
    "sdk_streamed": "plain SDK, each batch to a file",
}


def reset_peak(pid: int | None = None) -> None:
    """Start VmHWM afresh (Linux: "5" to clear_refs), so each call's peak is its own."""
    with contextlib.suppress(OSError):  # an older kernel or no permission: the peak covers earlier calls too
        Path(f"/proc/{pid or os.getpid()}/clear_refs").write_text("5")


def corpus(count: int) -> list[str]:
    return [
        f"document {i}: notes on topic {i % 97} with the words {i * 7919 % 10007} and {i % 13}" for i in range(count)
    ]


async def sdk_batches(sdk: Any, texts: list[str], keep: bool, out: Path) -> list[Any]:
    """The same batches as the server sends, IN_FLIGHT at a time; the responses kept, or each batch saved as
    float32 at its place in a file as it arrives (and let go)."""
    limiter = anyio.CapacityLimiter(IN_FLIGHT)
    responses: list[Any] = [None] * len(range(0, len(texts), BATCH))
    fd = os.open(out, os.O_CREAT | os.O_TRUNC | os.O_WRONLY)

    async def one(slot: int) -> None:
        async with limiter:
            batch = texts[slot * BATCH : (slot + 1) * BATCH]
            response = await sdk.aio.models.embed_content(model=MODEL, contents=batch)
        if keep:
            responses[slot] = response
            return
        vectors = [e.values or [] for e in response.embeddings or []]
        data = b"".join(struct.pack(f"<{len(v)}f", *v) for v in vectors)
        os.pwrite(fd, data, slot * BATCH * len(vectors[0]) * 4)

    try:
        async with anyio.create_task_group() as group:
            for slot in range(len(responses)):
                group.start_soon(one, slot)
    finally:
        os.close(fd)
    return responses


async def sdk_process(base: str, count: int, keep: bool, out: Path) -> dict[str, float]:
    """One SDK baseline in a fresh process (its RSS is then as clean as the server's), warmed up on the same path."""
    from google import genai
    from google.genai import types

    sdk = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base))
    await sdk_batches(sdk, corpus(WARM_UP), keep, out)
    texts = corpus(count)
    gc.collect()
    before, cpu = rss_mb(), cpu_seconds()
    reset_peak()
    started = time.perf_counter()
    responses = await sdk_batches(sdk, texts, keep, out)
    seconds, cpu, peak = time.perf_counter() - started, cpu_seconds() - cpu, peak_rss_mb() - before
    responses.clear()
    gc.collect()
    return {"s": seconds, "cpu": cpu, "peak": peak, "after": rss_mb() - before}


def sdk_worker(base: str, count: int, keep: bool, out: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--sdk", "kept" if keep else "streamed", base, str(count), str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def run(count: int) -> None:
    from google import genai
    from google.genai import types
    from mcp import Client

    rounds = 3 if count >= 1000 else 1
    texts = corpus(count)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in NAMES}
    with emulator_process() as (base, _), tempfile.TemporaryDirectory() as media:
        with http_server(server_env(base, media)) as (url, server):
            async with Client(url) as client:
                # Loads the SDK, makes the client, and goes through the file path once, as the SDK runs do.
                await client.call_tool("embed_text", {"texts": corpus(WARM_UP)})
                server_start = rss_mb(server.pid)
                for _ in range(rounds):
                    before, cpu = rss_mb(server.pid), cpu_seconds(server.pid)
                    reset_peak(server.pid)
                    started = time.perf_counter()
                    result = await client.call_tool("embed_text", {"texts": texts})
                    seconds, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu
                    peak = peak_rss_mb(server.pid) - before
                    after = rss_mb(server.pid) - before
                    rows["server"].append({"s": seconds, "cpu": cpu, "peak": peak, "after": after})
                    if result.is_error:
                        raise SystemExit(f"embed_text failed: {result.content}")
                    saved = result.structured_content["file"]
                    for keep, name in ((True, "sdk_kept"), (False, "sdk_streamed")):
                        rows[name].append(sdk_worker(base, count, keep, Path(media, "sdk.f32")))
                server_end = rss_mb(server.pid)
        sdk = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base))
        await check(sdk, Path(saved["path"]), texts)
    dims = result.structured_content["dimensions"]
    med = {name: {k: statistics.median(r[k] for r in row) for k in row[0]} for name, row in rows.items()}
    table(
        f"{count} texts x {dims} dimensions, {len(range(0, count, BATCH))} batches, {IN_FLIGHT} in flight; "
        f"medians of {rounds} rounds, each process warmed up on its own path ({WARM_UP} texts)",
        ["path", "seconds", "CPU s", "peak RSS growth MB", "RSS after - before MB", "seconds per round"],
        [
            [
                NAMES[n],
                f"{m['s']:.2f}",
                f"{m['cpu']:.2f}",
                f"{m['peak']:.0f}",
                f"{m['after']:.0f}",
                " ".join(f"{r['s']:.2f}" for r in rows[n]),
            ]
            for n, m in med.items()
        ],
    )
    print(f"saved {saved['size_bytes']} bytes ({saved['name']}); {CHECKED_ROWS} rows match single-text SDK calls")
    peaks = ", ".join(f"{r['peak']:.0f}" for r in rows["server"])
    print(
        f"server RSS: {server_start:.0f} MB after warm-up, {server_end:.0f} MB after {rounds} bulk calls "
        f"(peak growth per call: {peaks} MB)"
    )
    ours, kept, streamed = med["server"], med["sdk_kept"], med["sdk_streamed"]
    ratios(
        time_over_sdk=ours["s"] / kept["s"],
        rss_growth_over_sdk=ours["peak"] / max(kept["peak"], 1.0),
        cpu_over_sdk=ours["cpu"] / kept["cpu"],
        time_over_streaming_sdk=ours["s"] / streamed["s"],
        rss_growth_over_streaming_sdk=ours["peak"] / max(streamed["peak"], 1.0),
        server_rss_after_over_before=server_end / server_start,
    )


async def check(sdk: Any, path: Path, texts: list[str]) -> None:
    """The saved file is in the order of the texts: a few rows against single-text SDK calls."""
    data = await anyio.Path(path).read_bytes()
    count = len(texts)
    picked = sorted({0, count // 3, count // 2, count - 2, count - 1})[:CHECKED_ROWS]
    for row in picked:
        response = await sdk.aio.models.embed_content(model=MODEL, contents=[texts[row]])
        expected = response.embeddings[0].values
        dims = len(expected)
        if len(data) != count * dims * 4:
            raise SystemExit(f"the saved file has {len(data)} bytes, expected {count * dims * 4}")
        got = struct.unpack_from(f"<{dims}f", data, row * dims * 4)
        if max(abs(a - b) for a, b in zip(got, expected, strict=True)) > 1e-5:
            raise SystemExit(f"row {row} of the saved file differs from the SDK's vector for texts[{row}]")


def main() -> None:
    if sys.argv[1:2] == ["--sdk"]:  # one SDK baseline run, in its own process (see sdk_worker)
        mode, base, count, out = sys.argv[2:6]
        print(json.dumps(anyio.run(sdk_process, base, int(count), mode == "kept", Path(out))))
        return
    command_line(__doc__, run, "texts", default=10_000, quick=250)


if __name__ == "__main__":
    main()
