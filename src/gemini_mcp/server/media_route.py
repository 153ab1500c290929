"""`/media/<id>` over HTTP: a saved file for a valid, unexpired signed link (media/links.py signs them)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from gemini_mcp.media.links import MediaUrlSigner
from gemini_mcp.media.store import MediaStore, mime_for


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
