"""Signed, expiring /media/<id> download links over HTTP: the signature is the only credential."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gemini_mcp.media.links import MediaUrlSigner
from tests.conftest import FAKE_KEY
from tests.http_server import http_server

pytestmark = pytest.mark.anyio
TOKEN = "media-links-token-0c4e7a"
SHARED_KEY = "state-key-for-every-replica-9b2d"


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("content-type", "")


async def test_generated_media_has_a_working_signed_link(make_env: Callable[..., dict[str, str]]) -> None:
    env = make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN, GEMINI_MCP_STATE_KEYS=SHARED_KEY)
    with http_server(env) as server:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            made = await client.call_tool("generate_image", {"prompt": "a kite", "output": "link"})
            other = await client.call_tool("generate_speech", {"text": "hello", "output": "link"})
        [image] = (made.structured_content or {})["images"]
        link = image["download_url"]
        assert link.startswith(f"{server.base}/media/{image['id']}?exp=") and "&sig=" in link
        assert TOKEN not in link and FAKE_KEY not in link

        status, body, kind = fetch(link)  # no Authorization header: the signature is enough
        assert status == 200 and body == Path(image["path"]).read_bytes() and kind == "image/png"

        audio = (other.structured_content or {})["audio"]
        forged = link.replace(image["id"], audio["id"])  # a valid signature, for another file
        assert fetch(forged)[0] == 403
        assert fetch(link.replace("sig=", "sig=x"))[0] == 403
        assert fetch(f"{server.base}/media/{image['id']}")[0] == 403
        # A link signed with the shared key (as another replica would) but already expired.
        replica = MediaUrlSigner(SHARED_KEY.encode(), server.base, ttl_s=-5)
        status, body, _ = fetch(replica.url(image["id"]))
        assert status == 410 and b"expired" in body
        assert fetch(MediaUrlSigner(SHARED_KEY.encode(), server.base, ttl_s=60).url(image["id"]))[0] == 200
    assert TOKEN not in server.stderr and FAKE_KEY not in server.stderr and SHARED_KEY not in server.stderr


async def test_no_links_over_stdio_or_in_memory(client: Client) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a kite", "output": "link"})
    assert "download_url" not in (made.structured_content or {})["images"][0]


def test_signatures_bind_the_id_and_the_expiry() -> None:
    signer = MediaUrlSigner(b"secret", "https://example.test/", ttl_s=60)
    url = signer.url("abc123def456")
    exp = url.split("exp=")[1].split("&")[0]
    sig = url.split("sig=")[1]
    assert url.startswith("https://example.test/media/abc123def456?")
    assert signer.check("abc123def456", exp, sig) == "ok"
    assert signer.check("abc123def457", exp, sig) == "bad"
    assert signer.check("abc123def456", str(int(exp) + 1), sig) == "bad"
    assert signer.check("abc123def456", "soon", sig) == "bad"
    assert MediaUrlSigner(b"other", "https://example.test", 60).check("abc123def456", exp, sig) == "bad"
    assert signer.check("abc123def456", "1", signer._signature("abc123def456", 1)) == "expired"
