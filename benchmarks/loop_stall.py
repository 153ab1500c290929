"""Event-loop stalls: a 60 s 44.1 kHz stereo WAV through live_converse (server in memory, the emulator's Live
API) while a concurrent task pings the same server every 10 ms. Reports the longest stall (the longest gap
between ping answers, beyond the 10 ms pause) against the time the conversion to 16 kHz mono takes: before
(the old per-sample conversion, kept below, run on the loop as live_converse used to) and after (the block
conversion, in a worker thread, then the whole live_converse call). Target: stall ≪ conversion time.

    python benchmarks/loop_stall.py [--seconds 60] [--quick]
"""

from __future__ import annotations

import base64
import io
import math
import sys
import tempfile
import time
import warnings
import wave
from array import array
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import KEY, command_line, ratios, table

warnings.filterwarnings("ignore", message="ping is removed", module=__name__)

PING_EVERY_S = 0.01
RATE = 44100


def stereo_wav(seconds: int) -> bytes:
    """A 330 Hz tone (a whole number of periods a second), 44.1 kHz stereo, built a second at a time."""
    from gemini_mcp.media.audio import PcmFormat, pcm_to_wav

    second = array("h", (int(8000 * math.sin(2 * math.pi * 330 * i / RATE)) for i in range(RATE)))
    both = array("h", bytes(4 * RATE))
    both[0::2] = second
    both[1::2] = second
    return pcm_to_wav(both.tobytes() * seconds, PcmFormat(rate=RATE, channels=2))


def old_to_pcm16_mono(data: bytes, rate: int = 16000) -> bytes:
    """The conversion as it was before the block version (16-bit WAV only): per-sample Python."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        channels, source = wav.getnchannels(), wav.getframerate()
        samples = array("h")
        samples.frombytes(wav.readframes(wav.getnframes()))
    if channels > 1:
        frames = len(samples) // channels
        samples = array("h", (sum(samples[f * channels : (f + 1) * channels]) // channels for f in range(frames)))
    count = max(1, int(len(samples) * rate / source))
    step, last = source / rate, len(samples) - 1
    out = array("h")
    for i in range(count):
        position = i * step
        left = int(position)
        right = min(left + 1, last)
        fraction = position - left
        out.append(int(samples[min(left, last)] * (1 - fraction) + samples[right] * fraction))
    return out.tobytes()


async def while_pinging(client: Any, work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(seconds `work` took, the longest gap between two ping answers beyond the pause between pings)."""
    gaps: list[float] = []
    finished = anyio.Event()

    async def ping() -> None:
        last = time.perf_counter()
        while not finished.is_set():
            await anyio.sleep(PING_EVERY_S)
            await client.send_ping()
            now = time.perf_counter()
            gaps.append(now - last - PING_EVERY_S)
            last = now

    async with anyio.create_task_group() as group:
        group.start_soon(ping)
        await anyio.sleep(5 * PING_EVERY_S)  # the pinger is in its stride before the work starts
        started = time.perf_counter()
        await work()
        took = time.perf_counter() - started
        finished.set()
    return took, max(gaps)


async def run(seconds: int) -> None:
    from mcp import Client

    from gemini_mcp.config.settings import Settings
    from gemini_mcp.emulator import Emulator
    from gemini_mcp.emulator.tls import make_tls_files
    from gemini_mcp.media.audio import to_pcm16_mono
    from gemini_mcp.media.cpu import off_loop
    from gemini_mcp.server.app import build_server

    clip = stereo_wav(seconds)
    with tempfile.TemporaryDirectory() as folder:
        clip_path = Path(folder, "clip.wav")
        await anyio.Path(clip_path).write_bytes(clip)
        tls = make_tls_files(Path(folder, "tls"))
        # Live is wss:// only, so the emulator runs in this process (a thread) with a throwaway CA.
        with Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as emulator:
            emulator.configure(stream_chunk_delay_s=0)
            env = {
                "GEMINI_API_KEY": KEY,
                "GOOGLE_GEMINI_BASE_URL": emulator.base_url,
                "GEMINI_MCP_CA_FILE": tls.ca_file,
                "GEMINI_MCP_OUTPUT_DIR": str(Path(folder, "media")),
                "GEMINI_MCP_ALLOWED_DIRS": folder,
                "GEMINI_MCP_RATE_LIMIT": "0",
            }
            # mode="legacy": ping is a 2025-11-25 request (2026-07-28 dropped it), and the cheapest one there is.
            async with Client(build_server(Settings.from_env(env)), mode="legacy") as client:
                await client.call_tool("live_converse", {"text": "warm up", "output": "link"})

                async def idle() -> None:
                    await anyio.sleep(0.5)

                async def old_on_loop() -> None:
                    old_to_pcm16_mono(clip)

                async def new_on_loop() -> None:
                    to_pcm16_mono(clip, "audio/wav")

                async def new_off_loop() -> None:
                    await off_loop(to_pcm16_mono, clip, "audio/wav", size=len(clip))

                def converse(audio: dict[str, str]) -> Callable[[], Awaitable[None]]:
                    async def call() -> None:
                        result = await client.call_tool("live_converse", {"audio": audio, "output": "link"})
                        assert not result.is_error, result.content

                    return call

                _, idle_stall = await while_pinging(client, idle)
                old_s, old_stall = await while_pinging(client, old_on_loop)
                new_s, new_stall = await while_pinging(client, new_on_loop)
                thread_s, thread_stall = await while_pinging(client, new_off_loop)
                path_s, path_stall = await while_pinging(client, converse({"path": str(clip_path)}))
                encoded = base64.b64encode(clip).decode()
                data_s, data_stall = await while_pinging(client, converse({"data": encoded}))

    def row(what: str, conversion_s: float, call_s: float | None, stall_s: float) -> list[str]:
        call = f"{call_s * 1000:.0f}" if call_s is not None else ""
        return [what, f"{conversion_s * 1000:.0f}", call, f"{stall_s * 1000:.1f}", f"{stall_s / conversion_s:.2f}"]

    table(
        f"{seconds} s of 44.1 kHz stereo WAV ({len(clip) / 1e6:.1f} MB) to 16 kHz mono, pinging every "
        f"{PING_EVERY_S * 1000:.0f} ms (nothing running: longest stall {idle_stall * 1000:.1f} ms)",
        ["path", "conversion ms", "tool call ms", "longest stall ms", "stall / conversion"],
        [
            row("before: per-sample conversion on the loop", old_s, None, old_stall),
            row("block conversion on the loop", new_s, None, new_stall),
            row("after: block conversion in a worker thread", thread_s, None, thread_stall),
            row("after: live_converse, WAV by path", new_s, path_s, path_stall),
            row("after: live_converse, WAV as base64", new_s, data_s, data_stall),
        ],
    )
    ratios(
        stall_over_conversion_before=old_stall / old_s,
        stall_over_conversion_after=thread_stall / thread_s,
        tool_stall_after_over_before=path_stall / old_stall,
        conversion_speedup=old_s / new_s,
    )


def main() -> None:
    command_line(__doc__, run, "seconds", default=60, quick=3)


if __name__ == "__main__":
    main()
