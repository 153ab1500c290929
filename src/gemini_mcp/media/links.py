"""Signed, expiring download links for saved media, for hosts that prefer a URL to `resources/read`.

Over HTTP, every saved item also gets `download_url`: `<public url>/media/<id>?exp=<unix time>&sig=<HMAC>`.
The signature (HMAC-SHA256 over id and expiry) is the only credential: no auth token ever goes in a URL.
The secret is the first of `GEMINI_MCP_STATE_KEYS` when set (so every replica accepts every link), else
a random one per process. Links last `GEMINI_MCP_MEDIA_URL_TTL` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from typing import Literal

from gemini_mcp.config.settings import Settings

Verdict = Literal["ok", "expired", "bad"]
_EXPIRY = re.compile(r"[0-9]{1,15}")


class MediaUrlSigner:
    def __init__(self, secret: bytes, base_url: str, ttl_s: float) -> None:
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s
        self._links: re.Pattern[str] | None = None

    def _signature(self, media_id: str, expires: int) -> str:
        digest = hmac.new(
            self._secret, f"{media_id}:{expires}".encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def url(self, media_id: str) -> str:
        expires = int(time.time() + self.ttl_s)
        return f"{self.base_url}/media/{media_id}?exp={expires}&sig={self._signature(media_id, expires)}"

    def check(self, media_id: str, expires: str, signature: str) -> Verdict:
        # ASCII digits only: str.isdigit() accepts '²' or '٣', which int() then refuses (a 500, not a 403); and
        # a bound on the length, since int() refuses more than 4300 digits.
        if not _EXPIRY.fullmatch(expires):
            return "bad"
        expected = self._signature(media_id, int(expires)).encode()
        # Bytes: compare_digest raises on str with non-ASCII characters (a `sig=%C3%A9` would be a 500).
        if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass")):
            return "bad"
        return "ok" if int(expires) >= time.time() else "expired"

    def split_links(self, text: str) -> list[tuple[str, bool]]:
        """`text` in pieces, each flagged True when it is a link this signer made and that is still valid."""
        if self._links is None:
            self._links = re.compile(
                re.escape(self.base_url) + r"/media/([0-9a-f]{8,32})\?exp=([0-9]{1,15})&sig=([A-Za-z0-9_\-]{20,64})"
            )
        pieces: list[tuple[str, bool]] = []
        start = 0
        for found in self._links.finditer(text):
            if self.check(*found.groups()) == "ok":
                pieces += [(text[start : found.start()], False), (found.group(0), True)]
                start = found.end()
        pieces.append((text[start:], False))
        return pieces


def signer_for(settings: Settings) -> MediaUrlSigner | None:
    """A signer when serving HTTP (links need an address to point at); None over stdio."""
    if settings.transport != "http":
        return None
    secret = settings.state_keys[0].get_secret_value().encode() if settings.state_keys else secrets.token_bytes(32)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = settings.public_url or f"http://{host}:{settings.port}"
    return MediaUrlSigner(secret, base, settings.media_url_ttl_s)
