"""Nothing CPU-heavy on the event loop: a long audio clip is converted in a worker thread while the server keeps
answering, and the conversion gives what the model should hear (benchmarks/loop_stall.py, run by the performance
guard, measures the stalls).

No timing: a logging handler holds the worker thread at the start of the conversion (it logs from there), so
"the conversion is still running" is a fact the test controls, not a race it hopes to win.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import pytest
from mcp import Client

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.tls import TlsFiles, make_tls_files
from gemini_mcp.media import cpu
from gemini_mcp.media.audio import AudioDecodeError, PcmFormat, pcm_to_wav, to_pcm16_mono
from gemini_mcp.server.app import build_server
from tests import media_samples
from tests.conftest import FAKE_KEY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def live_emulator(tls: TlsFiles) -> Iterator[Emulator]:
    with Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as emulator:
        yield emulator


class HoldConversion(logging.Handler):
    """Holds the worker thread that logs the start of `to_pcm16_mono` until the test releases it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.started = anyio.Event()
        self.resume = threading.Event()  # not `release`: logging.Handler has one
        self.threads: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "to_pcm16_mono" not in record.getMessage():
            return
        self.threads.append(threading.get_ident())
        anyio.from_thread.run_sync(self.started.set)
        self.resume.wait(timeout=60)  # only a guard: the test releases it as soon as it has pinged


@pytest.fixture
def hold() -> Iterator[HoldConversion]:
    handler = HoldConversion()
    cpu_logger = logging.getLogger("gemini_mcp.cpu")
    level = cpu_logger.level
    cpu_logger.addHandler(handler)
    cpu_logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        handler.resume.set()
        cpu_logger.removeHandler(handler)
        cpu_logger.setLevel(level)


def audio_sent(emulator: Emulator) -> int:
    """Bytes of audio the emulator's Live API has received."""
    return sum(
        r["message"]["realtime_input"]["audio"]["bytes"]
        for r in emulator.requests()
        if r.get("live") == "message" and "audio" in r["message"].get("realtime_input", {})
    )


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:ping is removed")
async def test_a_ping_is_answered_while_a_long_clip_is_converted(
    live_emulator: Emulator, tls: TlsFiles, tmp_path: Path, hold: HoldConversion
) -> None:
    live_emulator.clear()
    live_emulator.configure(stream_chunk_delay_s=0)
    clip = tmp_path / "long.wav"
    clip.write_bytes(media_samples.wav(4.0, rate=44100, channels=2))  # 0.7 MB: well past the thread threshold
    env = {
        "GEMINI_API_KEY": FAKE_KEY,
        "GOOGLE_GEMINI_BASE_URL": live_emulator.base_url,
        "GEMINI_MCP_CA_FILE": tls.ca_file,
        "GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "media"),
        "GEMINI_MCP_ALLOWED_DIRS": str(tmp_path),
    }
    results: list[Any] = []

    async def converse(client: Client) -> None:
        try:
            results.append(await client.call_tool("live_converse", {"audio": {"path": str(clip)}, "output": "link"}))
        finally:
            hold.started.set()  # if the clip never reached a worker thread, stop waiting for it

    # Legacy mode: ping is a 2025-11-25 request.
    server = build_server(Settings.from_env(env))
    async with Client(server, mode="legacy") as client, anyio.create_task_group() as group:
        try:
            group.start_soon(converse, client)
            await hold.started.wait()
            assert not results, "the clip was converted without going through a worker thread"
            await client.send_ping()  # answered while the conversion is held
            sent_while_held = audio_sent(live_emulator)
        finally:
            hold.resume.set()
    assert sent_while_held == 0  # the ping came back before the converted audio existed
    (result,) = results
    assert not result.is_error, result.content
    assert "4.00 s of audio at 16000 Hz" in result.structured_content["input_transcript"]
    assert audio_sent(live_emulator) == 4 * 16000 * 2
    assert threading.get_ident() not in hold.threads


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_wait_for_its_worker_thread() -> None:
    entered, release, finished = anyio.Event(), threading.Event(), threading.Event()

    def busy() -> None:
        anyio.from_thread.run_sync(entered.set)
        release.wait(timeout=60)  # only a guard against a hung suite
        finished.set()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: cpu.off_loop(busy, size=cpu.SMALL_BYTES))
        await entered.wait()
        group.cancel_scope.cancel()
    still_running = not finished.is_set()
    release.set()
    assert still_running  # the task group ended while the thread was still busy


# --- the block conversion gives what the per-sample one gave --------------------------------------------------
def exact_16k_mono(samples: list[list[int]], rate: int) -> list[float]:
    """Linear interpolation in floating point of the channels' average: what the conversion approximates."""
    mono = [sum(frame) / len(frame) for frame in samples]
    count = len(mono) if rate == 16000 else max(1, len(mono) * 16000 // rate)
    out = []
    for i in range(count):
        position = i * rate / 16000
        left = min(int(position), len(mono) - 1)
        right = min(left + 1, len(mono) - 1)
        fraction = position - int(position)
        out.append(mono[left] * (1 - fraction) + mono[right] * fraction)
    return out


def encode(samples: list[list[int]], width: int) -> bytes:
    """16-bit values as `width`-byte PCM (8-bit is unsigned), padding wider samples with low bits."""
    if width == 1:
        return bytes((value >> 8) + 128 for frame in samples for value in frame)
    return b"".join(
        (value << (8 * width - 16)).to_bytes(width, "little", signed=True) for frame in samples for value in frame
    )


def tone(frames: int, channels: int) -> list[list[int]]:
    """A tone per channel plus a higher one: neighbouring samples differ, as in speech."""
    return [
        [int(20000 * math.sin(i / (7 + c)) + 3000 * math.sin(i / 2.3)) for c in range(channels)] for i in range(frames)
    ]


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize(("width", "channels"), [(1, 1), (2, 1), (2, 2), (3, 2), (4, 1), (2, 3)])
def test_the_conversion_matches_exact_interpolation(rate: int, width: int, channels: int) -> None:
    samples = tone(3001, channels)
    if width == 1:  # 8-bit keeps only the top byte of each sample
        samples = [[(value >> 8) << 8 for value in frame] for frame in samples]
    data = pcm_to_wav(encode(samples, width), PcmFormat(rate=rate, channels=channels, sample_width=width))
    converted = struct.unpack(f"<{len(to_pcm16_mono(data, 'audio/wav')) // 2}h", to_pcm16_mono(data, "audio/wav"))
    expected = exact_16k_mono(samples, rate)
    assert len(converted) == len(expected)
    assert max(abs(a - b) for a, b in zip(converted, expected, strict=True)) <= 3  # of 65 536 steps


def test_raw_pcm_and_odd_inputs() -> None:
    stereo = encode([[1000, -1000], [2000, 0]], 2)
    assert to_pcm16_mono(stereo, "audio/pcm;rate=16000;channels=2") == struct.pack("<2h", 0, 1000)
    assert to_pcm16_mono(stereo + b"\x01", "audio/pcm;rate=16000;channels=2") == struct.pack("<2h", 0, 1000)
    assert to_pcm16_mono(b"", "audio/pcm;rate=16000") == b""
    with pytest.raises(AudioDecodeError, match="rate or channels"):
        to_pcm16_mono(stereo, "audio/pcm;rate=fast")
    with pytest.raises(AudioDecodeError, match="0 channels"):
        to_pcm16_mono(stereo, "audio/pcm;rate=16000;channels=0")


def test_wav_extensible_headers_are_read_and_float_wavs_explained() -> None:
    frames = encode([[value] for value in range(-3000, 3000, 3)], 3)  # 2000 frames of 24-bit mono
    subformat_pcm = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 48000, 3, 24, 22, 24, 4) + subformat_pcm
    extensible = b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(frames)) + b"WAVE"
    extensible += b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    assert struct.unpack("<2000h", to_pcm16_mono(extensible, "audio/wav")) == tuple(range(-3000, 3000, 3))
    floats = bytearray(pcm_to_wav(bytes(8), PcmFormat(sample_width=4)))
    floats[20:22] = struct.pack("<H", 3)  # WAVE_FORMAT_IEEE_FLOAT
    with pytest.raises(AudioDecodeError, match="not integer PCM"):
        to_pcm16_mono(bytes(floats), "audio/wav")


@pytest.mark.parametrize("size", [0, 1, 1000, cpu.BLOCK // 4 * 3, cpu.BLOCK // 4 * 3 + 1, 3 * cpu.BLOCK + 7])
def test_base64_in_blocks_is_base64(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    text = base64.b64encode(data).decode()
    assert cpu.b64decode(text) == data
    assert cpu.b64encode(data) == text


def test_base64_in_blocks_refuses_what_base64_refuses() -> None:
    early_padding = base64.b64encode(b"x").decode() + "A" * (2 * cpu.BLOCK)
    padding_at_a_block_end = "A" * (cpu.BLOCK - 4) + base64.b64encode(b"x").decode() + "AAAA"
    for text in (early_padding, padding_at_a_block_end, "A" * (2 * cpu.BLOCK) + "!", "A" * (2 * cpu.BLOCK + 1)):
        with pytest.raises(binascii.Error):
            base64.b64decode(text, validate=True)
        with pytest.raises(binascii.Error):
            cpu.b64decode(text)
