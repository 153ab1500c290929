"""Audio conversions shared by speech and live tools: Gemini's raw PCM in a WAV container, and back.

Gemini returns speech as headerless 16-bit little-endian PCM (`audio/L16;codec=pcm;rate=24000` or
`audio/pcm;rate=24000`); agents and players need a WAV header, built from the MIME parameters.
"""

from __future__ import annotations

import io
import re
import wave
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
