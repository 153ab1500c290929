"""A small MP4 a browser really plays (H.264 Baseline), made in code, for the viewer's video test.

The emulator's own MP4 (emulator/movies.py) is a container without a decodable track: enough for parsers, not
for a player. This one has real frames: one IDR picture of I_PCM macroblocks (raw samples, so no encoder is
needed) and P pictures that skip every macroblock, one per second, muxed into a plain (unfragmented) MP4.
"""

from __future__ import annotations

import struct

TIMESCALE = 1000


class _Bits:
    """An H.264 RBSP writer: fixed-width fields and Exp-Golomb codes."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, width: int, value: int) -> None:
        self.bits += [(value >> shift) & 1 for shift in range(width - 1, -1, -1)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() * 2 - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def raw(self, data: bytes) -> None:
        for byte in data:
            self.u(8, byte)

    def trailing(self) -> bytes:
        self.bits.append(1)
        self.align_zero()
        return bytes(
            int("".join(str(bit) for bit in self.bits[start : start + 8]), 2) for start in range(0, len(self.bits), 8)
        )


def _nal(ref_idc: int, kind: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header, then the payload with emulation prevention bytes."""
    out = bytearray([(ref_idc << 5) | kind])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps(mbs_wide: int, mbs_high: int) -> bytes:
    bits = _Bits()
    bits.u(8, 66)  # Baseline
    bits.u(8, 0b11000000)  # constraint_set0 and set1: plays in any decoder
    bits.u(8, 30)  # level 3.0
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(0)  # log2_max_frame_num_minus4: frame_num counts 0-15
    bits.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(mbs_wide - 1)
    bits.ue(mbs_high - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    bits.u(1, 0)  # frame_cropping_flag
    bits.u(1, 0)  # vui_parameters_present_flag
    return _nal(3, 7, bits.trailing())


def _pps() -> bytes:
    bits = _Bits()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(1, 0)  # weighted_pred_flag
    bits.u(2, 0)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 0)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(3, 8, bits.trailing())


def _idr(mbs_wide: int, mbs_high: int) -> bytes:
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7)  # slice_type: I (every slice of the picture)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(4, 0)  # frame_num
    bits.ue(0)  # idr_pic_id
    bits.u(1, 0)  # no_output_of_prior_pics_flag
    bits.u(1, 0)  # long_term_reference_flag
    bits.se(0)  # slice_qp_delta
    for row in range(mbs_high):
        for column in range(mbs_wide):
            bits.ue(25)  # mb_type I_PCM
            bits.align_zero()
            luma = 40 + (200 * (row * mbs_wide + column)) // (mbs_wide * mbs_high)  # a gradient, never 0-3
            bits.raw(bytes([luma]) * 256 + bytes([160]) * 64 + bytes([100]) * 64)  # Y, Cb, Cr: blue-green
    return _nal(3, 5, bits.trailing())


def _skipped(frame_num: int, mbs: int) -> bytes:
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(5)  # slice_type: P
    bits.ue(0)  # pic_parameter_set_id
    bits.u(4, frame_num % 16)
    bits.u(1, 0)  # num_ref_idx_active_override_flag
    bits.u(1, 0)  # ref_pic_list_modification_flag_l0
    bits.u(1, 0)  # adaptive_ref_pic_marking_mode_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(mbs)  # mb_skip_run: the whole picture repeats the last one
    return _nal(2, 1, bits.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version_flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def playable_mp4(seconds: int = 4, width: int = 160, height: int = 96) -> bytes:
    """`seconds` of video at one frame per second (`width` and `height` multiples of 16)."""
    wide, high = width // 16, height // 16
    sps, pps = _sps(wide, high), _pps()
    frames = [_idr(wide, high)] + [_skipped(index, wide * high) for index in range(1, seconds)]
    samples = [struct.pack(">I", len(frame)) + frame for frame in frames]
    duration = seconds * TIMESCALE
    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),  # version, profile, constraints, level, 4-byte lengths, 1 SPS
        struct.pack(">H", len(sps)),
        sps,
        bytes([1]),
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )

    def moov(chunk_offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _full(b"stsd", 0, struct.pack(">I", 1), avc1),
            _full(b"stts", 0, struct.pack(">III", 1, len(samples), TIMESCALE)),
            _full(b"stss", 0, struct.pack(">II", 1, 1)),
            _full(b"stsc", 0, struct.pack(">IIII", 1, 1, len(samples), 1)),
            _full(b"stsz", 0, struct.pack(">II", 0, len(samples)), *(struct.pack(">I", len(s)) for s in samples)),
            _full(b"stco", 0, struct.pack(">II", 1, chunk_offset)),
        )
        minf = _box(
            b"minf",
            _full(b"vmhd", 1, bytes(8)),
            _box(b"dinf", _full(b"dref", 0, struct.pack(">I", 1), _full(b"url ", 1))),
            stbl,
        )
        mdia = _box(
            b"mdia",
            _full(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, duration, 0x55C4, 0)),
            _full(b"hdlr", 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00"),
            minf,
        )
        tkhd = _full(
            b"tkhd",
            3,
            struct.pack(">IIIII", 0, 0, 1, 0, duration),
            bytes(8),
            struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", width << 16, height << 16),
        )
        mvhd = _full(
            b"mvhd",
            0,
            struct.pack(">IIII", 0, 0, TIMESCALE, duration),
            struct.pack(">IH", 0x10000, 0x100),
            bytes(10),
            _MATRIX,
            bytes(24),
            struct.pack(">I", 2),
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    head = len(ftyp) + len(moov(0)) + 8  # the samples start after the mdat header
    return ftyp + moov(head) + _box(b"mdat", *samples)
