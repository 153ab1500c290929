"""Audio conversions shared by speech and live tools: Gemini's raw PCM in a WAV container, and back.

Gemini returns speech as headerless 16-bit little-endian PCM (`audio/L16;codec=pcm;rate=24000` or
`audio/pcm;rate=24000`); agents and players need a WAV header, built from the MIME parameters.
"""

from __future__ import annotations

import io
import re
import struct
import wave
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_RATE = 24000


@dataclass(frozen=True)
class PcmFormat:
    rate: int = DEFAULT_RATE
    channels: int = 1
    sample_width: int = 2  # bytes: 16-bit


def pcm_format(mime_type: str | None) -> PcmFormat:
    """Read rate/channels from a MIME type such as 'audio/L16;codec=pcm;rate=24000'."""
    if not mime_type:
        return PcmFormat()
    params = dict(re.findall(r";\s*([a-zA-Z]+)\s*=\s*([^;\s]+)", mime_type))
    rate = int(params.get("rate", DEFAULT_RATE))
    channels = int(params.get("channels", 1))
    return PcmFormat(rate=rate, channels=channels)


def is_raw_pcm(mime_type: str | None) -> bool:
    base = (mime_type or "").split(";")[0].strip().lower()
    return base in {"audio/l16", "audio/pcm", "audio/x-pcm", "audio/raw"}


def pcm_to_wav(pcm: bytes | bytearray, fmt: PcmFormat | None = None) -> bytes:
    fmt = fmt or PcmFormat()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(fmt.channels)
        wav.setsampwidth(fmt.sample_width)
        wav.setframerate(fmt.rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def wav_duration_s(pcm_bytes: int, fmt: PcmFormat | None = None) -> float:
    fmt = fmt or PcmFormat()
    return pcm_bytes / (fmt.rate * fmt.channels * fmt.sample_width)


LIVE_INPUT_RATE = 16_000
LIVE_INPUT_MIME = f"audio/pcm;rate={LIVE_INPUT_RATE}"


class AudioDecodeError(ValueError):
    """Audio the server cannot turn into PCM; the message says which formats work."""


def to_pcm16_mono(data: bytes, mime_type: str | None, rate: int = LIVE_INPUT_RATE) -> bytes:
    """16-bit little-endian mono PCM at `rate` from a WAV file (8/16/24/32-bit integer PCM, any rate and
    channel count) or raw PCM described by its MIME type ('audio/pcm;rate=44100;channels=2').

    CPU-heavy for long clips (~50 ms a minute of 44.1 kHz stereo): call it through `cpu.off_loop`."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        frames, width, source_rate, channels = _read_wav(data)
    elif is_raw_pcm(mime_type):
        try:
            fmt = pcm_format(mime_type)
        except ValueError:
            raise AudioDecodeError(
                f"audio: unreadable rate or channels in {mime_type!r}; e.g. 'audio/pcm;rate=16000'"
            ) from None
        frames, width, source_rate, channels = memoryview(data), 2, fmt.rate, fmt.channels
    else:
        raise AudioDecodeError(
            f"audio: cannot decode {mime_type or 'this data'} here; give a WAV file (PCM) or raw 16-bit PCM "
            "('audio/pcm;rate=N'). Convert other formats first, e.g. 'ffmpeg -i in.mp3 -ar 16000 -ac 1 out.wav'"
        )
    if not 1 <= channels <= _MAX_CHANNELS or source_rate < 1000:
        raise AudioDecodeError(f"audio: {channels} channels at {source_rate} Hz is not usable audio")
    if width not in (1, 2, 3, 4):
        raise AudioDecodeError(f"audio: {8 * width}-bit samples are not supported; use 16-bit PCM")
    return _resample(frames, width, channels, source_rate, rate)


_PCM, _EXTENSIBLE = 1, 0xFFFE
_MAX_CHANNELS = 64  # more is no recording of speech, and each channel costs a pass over the clip


def _read_wav(data: bytes) -> tuple[memoryview, int, int, int]:
    """(sample frames, bytes per sample, rate, channels) of an integer-PCM WAV; the frames are a view, not a copy.

    Read by hand rather than with `wave`, which copies the frames and (before Python 3.12) refuses the
    WAVE_FORMAT_EXTENSIBLE header that 24-bit and multichannel files carry."""
    view = memoryview(data)
    fmt: tuple[int, ...] | None = None
    position = 12
    while position + 8 <= len(view):
        kind, size = struct.unpack_from("<4sI", view, position)
        body = view[position + 8 : position + 8 + size]  # a streamed file's last chunk may claim more than is there
        if kind == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, block_align, _ = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack_from("<H", body, 24)[0]  # the first two bytes of the sub-format GUID
            fmt = (tag, channels, rate, block_align // channels if channels else 0)
        elif kind == b"data" and fmt is not None:
            tag, channels, rate, width = fmt
            if tag != _PCM:
                raise AudioDecodeError(
                    f"audio: this WAV holds format {tag:#x}, not integer PCM (e.g. float or compressed); convert it, "
                    "e.g. 'ffmpeg -i in.wav -c:a pcm_s16le out.wav'"
                )
            return body, width, rate, channels
        position += 8 + size + (size & 1)
    raise AudioDecodeError("audio: not a PCM WAV file the server can read (no 'fmt ' chunk before the 'data' chunk)")


# Resampling by linear interpolation (plenty for speech sent to a model) in whole-block integer arithmetic, as
# per-sample Python took seconds a minute of audio. Output sample i lies at input position i * source/target;
# with that ratio as S/P, outputs i = k, k + P, k + 2P, ... ("phase" k) all have the same fractional position,
# so each phase is two strided slices of the input, each times one weight. The products are added up in one
# big int holding a 32-bit lane per sample: each sample's top 16 bits are made unsigned (offset by 32768) so
# nothing borrows across lanes, and the weights of a lane sum to at most 65536, so nothing carries out of one
# either; the answer is then the top two bytes of every lane. Every step is one C call on a block of samples,
# so a worker thread doing this hands the GIL back to the event loop between steps.

_MAX_PHASES = 1024  # rates sharing no large factor with the target (44 101 Hz) drift by a few ms an hour
_BLOCK = 65536  # samples per step: ~0.1 ms of C work each
_FLIP = bytes(range(128, 256)) + bytes(range(128))  # a translate table for byte ^ 0x80: signed <-> offset


def _resample(frames: memoryview, width: int, channels: int, source: int, target: int) -> bytes:
    frame = width * channels
    count = len(frames) // frame
    if count == 0:
        return b""
    if (width, channels, source) == (2, 1, target):
        return bytes(frames[: count * 2])
    out_count = count if source == target else max(1, count * target // source)
    ratio = Fraction(source, target).limit_denominator(_MAX_PHASES)
    step, phases = ratio.numerator, ratio.denominator
    # Copies of the last frame stand in for the neighbours past the end that the last outputs interpolate to.
    needed = (out_count - 1) * step // phases + 2
    tail = bytes(frames[(count - 1) * frame : count * frame]) * max(0, needed - count)
    samples = b"".join((frames[: count * frame], tail))
    out = bytearray(2 * out_count)
    for phase in range(min(phases, out_count)):
        first, remainder = divmod(phase * step, phases)
        right = (remainder << 16) // phases  # the right neighbour's weight, of 65536
        weights = (_shares(65536 - right, channels), _shares(right, channels))
        total = (out_count - phase + phases - 1) // phases
        for start in range(0, total, _BLOCK):
            n = min(_BLOCK, total - start)
            lanes = 0
            for neighbour, shares in enumerate(weights):
                at = (first + start * step + neighbour) * frame
                for channel, weight in enumerate(shares):
                    if weight:
                        lanes += weight * _lanes(samples, at + channel * width, step * frame, n, width)
            result = lanes.to_bytes(4 * n, "little")
            at = 2 * (phase + start * phases)
            stop = at + 2 * phases * (n - 1) + 1
            out[at : stop : 2 * phases] = result[2::4]
            out[at + 1 : stop + 1 : 2 * phases] = result[3::4].translate(_FLIP)
    return bytes(out)


def _shares(weight: int, channels: int) -> list[int]:
    """`weight` split across the channels with nothing lost to rounding: a lost unit would shift every offset
    sample down, a click of DC rather than noise."""
    share = weight // channels
    return [weight - share * (channels - 1)] + [share] * (channels - 1)


def _lanes(samples: bytes, at: int, stride: int, n: int, width: int) -> int:
    """`n` samples, the first at byte `at` and then every `stride` bytes, as 32-bit lanes of one int, each the
    sample's top 16 bits offset to unsigned."""
    lanes = bytearray(4 * n)
    stop = at + stride * (n - 1) + 1
    if width == 1:  # unsigned 8-bit: already offset, and becomes the high byte
        lanes[1::4] = samples[at:stop:stride]
    else:
        lanes[0::4] = samples[at + width - 2 : stop + width - 2 : stride]
        lanes[1::4] = samples[at + width - 1 : stop + width - 1 : stride].translate(_FLIP)
    return int.from_bytes(lanes, "little")


# MPEG audio frame headers: bit rates (kbps) by [MPEG-1?][layer], sample rates by version.
_MP3_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_info(data: bytes) -> tuple[float, int, int] | None:
    """(seconds, sample rate, channels) of an MP3 by walking its frame headers (exact for VBR too), or None when
    no frame is found. CPU work for long tracks: call it through `cpu.off_loop`."""
    position = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # an ID3v2 tag: its size is four 7-bit bytes
        position = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    samples, rate, channels, frames = 0, 0, 0, 0
    while position + 4 <= len(data):
        b1, b2, b3 = data[position + 1], data[position + 2], data[position + 3]
        version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
        if data[position] != 0xFF or (b1 & 0xE0) != 0xE0 or version == 1 or layer == 4:
            if frames:
                break  # trailing data (an ID3v1 tag): the frames are over
            position += 1  # junk before the first frame
            continue
        mpeg1 = version == 3
        bit_index, rate_index = b2 >> 4, (b2 >> 2) & 3
        if bit_index in (0, 15) or rate_index == 3:
            if frames:
                break
            position += 1
            continue
        kbps = _MP3_BITRATES[(mpeg1, layer if mpeg1 else min(layer, 2))][bit_index]
        rate = _MP3_RATES[version][rate_index]
        padding = (b2 >> 1) & 1
        if layer == 1:
            size, per_frame = (12 * kbps * 1000 // rate + padding) * 4, 384
        else:
            per_frame = 1152 if mpeg1 or layer == 2 else 576
            size = per_frame // 8 * kbps * 1000 // rate + padding
        channels = 1 if b3 >> 6 == 3 else 2
        samples += per_frame
        frames += 1
        position += max(size, 4)
    if not frames or not rate:
        return None
    return samples / rate, rate, channels
