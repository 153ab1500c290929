"""Reading an MP4's duration and frame size from its `moov` box (mvhd, tkhd), without a media library."""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Mp4Info:
    duration_s: float | None
    width: int | None
    height: int | None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    boxes = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1 and i + 16 <= end:
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            break
        boxes.append((kind, i + header, i + size))
        i += size
    return boxes


def probe(data: bytes) -> Mp4Info:
    """Duration and the first video track's size; None for whatever cannot be read."""
    duration = width = height = None
    for kind, body, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for inner, ibody, iend in _boxes(data, body, end):
            if inner == b"mvhd":
                version = data[ibody]
                if version == 1:
                    timescale, length = struct.unpack(">IQ", data[ibody + 20 : ibody + 32])
                else:
                    timescale, length = struct.unpack(">II", data[ibody + 12 : ibody + 20])
                duration = length / timescale if timescale else None
            elif inner == b"trak" and width is None:
                for leaf, lbody, _ in _boxes(data, ibody, iend):
                    if leaf == b"tkhd":
                        offset = lbody + (88 if data[lbody] == 1 else 76)
                        w, h = struct.unpack(">II", data[offset : offset + 8])
                        if w or h:
                            width, height = w >> 16, h >> 16
    return Mp4Info(duration, width, height)


def probe_file(path: str) -> Mp4Info:
    """As `probe`, reading only the box headers and the `moov` box of a file (videos can be large)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        end = handle.tell()
        position = 0
        while position + 8 <= end:
            handle.seek(position)
            header = handle.read(16)
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) == 16:
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:
                size = end - position
            if size < 8:
                break
            if kind == b"moov":
                handle.seek(position)
                return probe(handle.read(min(size, end - position)))
            position += size
    return Mp4Info(None, None, None)


def aspect_ratio(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    return "16:9" if width > height else "9:16" if height > width else "1:1"


def resolution(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    return f"{min(width, height)}p"
