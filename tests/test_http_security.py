"""HTTP security: auth (static token, OAuth JWT), Host/Origin checks, body limit, rate limit, safe binding."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client

from tests.conftest import FAKE_KEY
from tests.http_server import http_server

TOKEN = "test-bearer-token-5d1e9c0a7b3f4e28"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def post(url: str, body: bytes | None = None, **headers: str) -> tuple[int, dict[str, str], str]:
    data = body if body is not None else json.dumps(INIT).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("accept", "application/json, text/event-stream")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def test_static_token(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN)) as server:
        missing = post(server.url)
        wrong = post(server.url, authorization="Bearer nope")
        right = post(server.url, authorization=f"Bearer {TOKEN}")
        health = urllib.request.urlopen(f"{server.base}/healthz", timeout=5).status
    assert missing[0] == 401 and "Bearer" in missing[1].get("www-authenticate", missing[1].get("WWW-Authenticate", ""))
    assert wrong[0] == 401
    assert right[0] == 200
    assert health == 200
    for _, headers, body in (missing, wrong, right):
        assert TOKEN not in body and FAKE_KEY not in body and TOKEN not in json.dumps(headers)
    assert TOKEN not in server.stderr and FAKE_KEY not in server.stderr


@pytest.mark.anyio
async def test_mcp_client_with_a_token(make_env: Callable[..., dict[str, str]]) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    with http_server(make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN)) as server:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            result = await client.call_tool("generate_text", {"prompt": "authorised"})
    assert not result.is_error


def test_host_and_origin_checks(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env()) as server:
        foreign_origin = post(server.url, origin="https://evil.example")
        bad_host = post(server.url, host="evil.example")
        local_origin = post(server.url, origin=f"http://127.0.0.1:{server.port}")
    assert foreign_origin[0] == 403
    assert bad_host[0] == 421
    assert local_origin[0] == 200


def test_configured_origins(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env(), "--allow-origin", "https://app.example") as server:
        allowed = post(server.url, origin="https://app.example")
        other = post(server.url, origin="https://other.example")
    assert allowed[0] == 200 and other[0] == 403


def test_oversize_body_is_413(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env(GEMINI_MCP_HTTP_MAX_BODY_MB="0.01")) as server:
        status = post(
            server.url, body=b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * 20000 + b'"}}'
        )[0]
    assert status == 413


def test_rate_limit(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env(GEMINI_MCP_RATE_LIMIT="3")) as server:
        statuses = [post(server.url)[0] for _ in range(5)]
        limited = post(server.url)
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    assert limited[0] == 429 and int(limited[1].get("retry-after", limited[1].get("Retry-After", "0"))) >= 1


def test_non_loopback_bind_without_auth_refuses_to_start(make_env: Callable[..., dict[str, str]]) -> None:
    env = {k: v for k, v in make_env().items() if v is not None}
    process = subprocess.run(
        [sys.executable, "-m", "gemini_mcp", "--transport", "http", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert process.returncode == 2
    assert "without authentication" in process.stderr and "GEMINI_MCP_AUTH_TOKEN" in process.stderr


@pytest.fixture
def issuer() -> Iterator[dict[str, Any]]:
    """An OAuth issuer of our own: an RSA key and a JWKS endpoint on loopback."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    jwks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=jwks.serve_forever, daemon=True).start()
    yield {"key": key, "jwks_url": f"http://127.0.0.1:{jwks.server_port}/jwks.json", "issuer": "https://issuer.example"}
    jwks.shutdown()


def mint(issuer: dict[str, Any], audience: str, expires_in: float = 300, issuer_name: str | None = None) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer_name or issuer["issuer"],
        "aud": audience,
        "sub": "agent-1",
        "iat": now,
        "exp": now + int(expires_in),
    }
    return jwt.encode(claims, issuer["key"], algorithm="RS256", headers={"kid": "test-key"})


def test_oauth_resource_server(make_env: Callable[..., dict[str, str]], issuer: dict[str, Any]) -> None:
    audience = "https://mcp.example/mcp"
    env = make_env(
        GEMINI_MCP_OAUTH_ISSUER=issuer["issuer"],
        GEMINI_MCP_OAUTH_JWKS_URL=issuer["jwks_url"],
        GEMINI_MCP_OAUTH_AUDIENCE=audience,
    )
    with http_server(env) as server:
        valid = post(server.url, authorization=f"Bearer {mint(issuer, audience)}")
        expired = post(server.url, authorization=f"Bearer {mint(issuer, audience, expires_in=-3600)}")
        wrong_audience = post(server.url, authorization=f"Bearer {mint(issuer, 'https://other.example/mcp')}")
        wrong_issuer = post(server.url, authorization=f"Bearer {mint(issuer, audience, issuer_name='https://evil')}")
        missing = post(server.url)
        metadata = urllib.request.urlopen(f"{server.base}/.well-known/oauth-protected-resource/mcp", timeout=5)
        document = json.loads(metadata.read())
    assert valid[0] == 200
    assert expired[0] == wrong_audience[0] == wrong_issuer[0] == missing[0] == 401
    assert "resource_metadata" in missing[1].get("www-authenticate", missing[1].get("WWW-Authenticate", ""))
    assert document["resource"] == audience
    assert [url.rstrip("/") for url in document["authorization_servers"]] == [issuer["issuer"]]


@pytest.mark.anyio
async def test_token_never_in_tool_output(make_env: Callable[..., dict[str, str]]) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    with http_server(make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN, GEMINI_MCP_LOG_LEVEL="DEBUG")) as server:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            results = [
                await client.call_tool("list_models", {}),
                await client.call_tool("generate_text", {"prompt": "x", "model": "nope-model"}),
            ]
            capabilities = await client.read_resource("gemini://capabilities")
    dumps = "".join(r.model_dump_json() for r in results) + capabilities.model_dump_json()
    assert TOKEN not in dumps and FAKE_KEY not in dumps
    assert TOKEN not in server.stderr and FAKE_KEY not in server.stderr
