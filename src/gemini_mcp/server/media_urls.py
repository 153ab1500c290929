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
import secrets
import time
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from gemini_mcp.server.media import MediaStore, mime_for
from gemini_mcp.server.settings import Settings

Verdict = Literal["ok", "expired", "bad"]


class MediaUrlSigner:
    def __init__(self, secret: bytes, base_url: str, ttl_s: float) -> None:
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s

    def _signature(self, media_id: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"{media_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def url(self, media_id: str) -> str:
        expires = int(time.time() + self.ttl_s)
        return f"{self.base_url}/media/{media_id}?exp={expires}&sig={self._signature(media_id, expires)}"

    def check(self, media_id: str, expires: str, signature: str) -> Verdict:
        if not expires.isdigit() or not hmac.compare_digest(self._signature(media_id, int(expires)), signature):
            return "bad"
        return "ok" if int(expires) >= time.time() else "expired"


def signer_for(settings: Settings) -> MediaUrlSigner | None:
    """A signer when serving HTTP (links need an address to point at); None over stdio."""
    if settings.transport != "http":
        return None
    secret = settings.state_keys[0].get_secret_value().encode() if settings.state_keys else secrets.token_bytes(32)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = settings.public_url or f"http://{host}:{settings.port}"
    return MediaUrlSigner(secret, base, settings.media_url_ttl_s)


def register_media_route(server: MCPServer[Any], media: MediaStore, signer: MediaUrlSigner) -> None:
    @server.custom_route("/media/{media_id}", methods=["GET"])
    async def download(request: Request) -> Response:
        media_id = request.path_params["media_id"]
        verdict = signer.check(media_id, request.query_params.get("exp", ""), request.query_params.get("sig", ""))
        if verdict == "bad":
            return JSONResponse({"error": "invalid signature"}, status_code=403)
        if verdict == "expired":
            return JSONResponse({"error": "link expired: read the resource again for a fresh one"}, status_code=410)
        path = media.path_of(media_id)
        if path is None:
            return JSONResponse({"error": "no such media (removed by retention?)"}, status_code=404)
        return FileResponse(path, media_type=mime_for(path), filename=path.name)
