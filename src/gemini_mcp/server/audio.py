"""Audio conversions shared by speech and live tools: Gemini's raw PCM in a WAV container, and back.

Gemini returns speech as headerless 16-bit little-endian PCM (`audio/L16;codec=pcm;rate=24000` or
`audio/pcm;rate=24000`); agents and players need a WAV header, built from the MIME parameters.
"""

from __future__ import annotations

import io
import re
import sys
import wave
from array import array
from dataclasses import dataclass

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


def pcm_to_wav(pcm: bytes, fmt: PcmFormat | None = None) -> bytes:
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
    channel count) or raw PCM described by its MIME type ('audio/pcm;rate=44100;channels=2')."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        samples, source_rate, channels = _read_wav(data)
    elif is_raw_pcm(mime_type):
        fmt = pcm_format(mime_type)
        samples, source_rate, channels = _ints(data, 2), fmt.rate, fmt.channels
    else:
        raise AudioDecodeError(
            f"audio: cannot decode {mime_type or 'this data'} here; give a WAV file (PCM) or raw 16-bit PCM "
            "('audio/pcm;rate=N'). Convert other formats first, e.g. 'ffmpeg -i in.mp3 -ar 16000 -ac 1 out.wav'"
        )
    mono = _downmix(samples, channels)
    return _resample(mono, source_rate, rate).tobytes()


def _read_wav(data: bytes) -> tuple[array[int], int, int]:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioDecodeError(f"audio: not a PCM WAV file the server can read ({exc})") from None
    if channels < 1 or rate < 1000:
        raise AudioDecodeError(f"audio: a WAV with {channels} channels at {rate} Hz is not usable")
    return _ints(frames, width), rate, channels


def _ints(frames: bytes, width: int) -> array[int]:
    """Samples as 16-bit values, from 8-bit unsigned or 16/24/32-bit signed little-endian PCM."""
    if width == 2:
        samples = array("h")
        samples.frombytes(frames[: len(frames) // 2 * 2])
        if sys.byteorder == "big":
            samples.byteswap()
        return samples
    if width == 1:
        return array("h", ((b - 128) << 8 for b in frames))
    if width in (3, 4):
        count = len(frames) // width
        return array(
            "h",
            (
                int.from_bytes(frames[i * width : (i + 1) * width], "little", signed=True) >> (8 * width - 16)
                for i in range(count)
            ),
        )
    raise AudioDecodeError(f"audio: {8 * width}-bit samples are not supported; use 16-bit PCM")


def _downmix(samples: array[int], channels: int) -> array[int]:
    if channels == 1:
        return samples
    frames = len(samples) // channels
    return array("h", (sum(samples[f * channels : (f + 1) * channels]) // channels for f in range(frames)))


def _resample(samples: array[int], source: int, target: int) -> array[int]:
    """Linear interpolation: plenty for speech sent to a model, and no dependency."""
    if source == target or not samples:
        out = array("h", samples)
    else:
        count = max(1, int(len(samples) * target / source))
        step = source / target
        last = len(samples) - 1
        out = array("h")
        for i in range(count):
            position = i * step
            left = int(position)
            right = min(left + 1, last)
            fraction = position - left
            out.append(int(samples[min(left, last)] * (1 - fraction) + samples[right] * fraction))
    if sys.byteorder == "big":
        out.byteswap()
    return out
