"""A tiny, deterministic MP4 (ftyp, moov with mvhd + one video trak/tkhd, mdat) for emulated Veo videos.

Not playable frames, but a well-formed container whose duration and size any MP4 parser reads, with a
payload of the requested size so benchmarks can ask for large videos.
"""

from __future__ import annotations

import hashlib
import struct

_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4(width: int, height: int, duration_s: float, seed: str, payload_bytes: int = 48_000) -> bytes:
    timescale = 1000
    length = int(duration_s * timescale)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, length)
        + struct.pack(">IH10x", 0x10000, 0x100)
        + _MATRIX
        + bytes(24)
        + struct.pack(">I", 2),
    )
    tkhd = _box(
        b"tkhd",
        struct.pack(">B3s", 0, b"\x00\x00\x03")
        + struct.pack(">IIII", 0, 0, 1, 0)
        + struct.pack(">I", length)
        + bytes(8)
        + struct.pack(">hhh2x", 0, 0, 0)
        + _MATRIX
        + struct.pack(">II", width << 16, height << 16),
    )
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    block = hashlib.sha256(seed.encode()).digest()
    payload = (block * (payload_bytes // len(block) + 1))[:payload_bytes]
    return ftyp + moov + _box(b"mdat", payload)


RESOLUTIONS = {
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
}
