"""Tiny deterministic PNG and JPEG encoders (stdlib only) for emulated images and video frames."""

from __future__ import annotations

import hashlib
import struct
import zlib

ASPECT_SIZES = {"1:1": (96, 96), "3:4": (72, 96), "4:3": (96, 72), "9:16": (54, 96), "16:9": (96, 54)}


def colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def png(width: int, height: int, seed: str) -> bytes:
    """A vertical gradient between two colours derived from `seed`."""
    top, bottom = colour(seed), colour(seed + "/bottom")
    rows = []
    for y in range(height):
        t = y / max(1, height - 1)
        pixel = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\x00" + pixel * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


# Baseline JPEG of one solid colour: every 8x8 block has only a DC coefficient, so the entropy-coded data
# is a DC difference (0 after the first block) and an end-of-block code per block.
_DC_BITS = {0: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 1: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]}
_DC_VALUES = list(range(12))


def _codes(bits: list[int], values: list[int]) -> dict[int, tuple[int, int]]:
    codes, code, k = {}, 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc, self.n = 0, 0

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)
        return bytes(self.out)


def jpeg(width: int, height: int, seed: str) -> bytes:
    r, g, b = colour(seed)
    ycc = (
        0.299 * r + 0.587 * g + 0.114 * b,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    )
    dcs = [round(8 * (v - 128)) for v in ycc]  # DC of a constant block with a quantiser of 1
    dc_codes = {table: _codes(_DC_BITS[table], _DC_VALUES) for table in (0, 1)}
    bits = _Bits()
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    for index in range(blocks):
        for component, dc in enumerate(dcs):
            diff = dc if index == 0 else 0
            size = abs(diff).bit_length()
            code, length = dc_codes[0 if component == 0 else 1][size]
            bits.put(code, length)
            if size:
                bits.put(diff if diff > 0 else diff + (1 << size) - 1, size)
            bits.put(0, 1)  # end of block: the only AC symbol, code "0"
    scan = bits.flush()

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">HH", 0xFF00 | marker, len(body) + 2) + body

    quant = b"".join(bytes([table]) + bytes([1] * 64) for table in (0, 1))
    frame = struct.pack(">BHHB", 8, height, width, 3) + bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])
    huffman = b""
    for table in (0, 1):
        huffman += bytes([0x00 | table]) + bytes(_DC_BITS[table]) + bytes(_DC_VALUES)
        huffman += bytes([0x10 | table]) + bytes([1] + [0] * 15) + b"\x00"
    start = bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, app0)
        + segment(0xDB, quant)
        + segment(0xC0, frame)
        + segment(0xC4, huffman)
        + segment(0xDA, start)
        + scan
        + b"\xff\xd9"
    )


def image(mime_type: str, aspect_ratio: str, seed: str) -> bytes:
    width, height = ASPECT_SIZES.get(aspect_ratio, ASPECT_SIZES["1:1"])
    return jpeg(width, height, seed) if mime_type == "image/jpeg" else png(width, height, seed)
