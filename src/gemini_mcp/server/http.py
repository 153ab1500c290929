"""Streamable HTTP for remote agents, safe by default.

- `/mcp`: the `mcp` SDK's Streamable HTTP app (sessions, or stateless with `--stateless`), behind the
  SDK's bearer/OAuth check when auth is configured, with DNS-rebinding protection (Host and Origin
  checks) and a request-body cap (413).
- `/healthz` (alive) and `/readyz` (the configured Gemini endpoint or emulator answers), without auth.
- `/sse` + `/messages/`: the legacy SSE transport, only with `--legacy-sse`.
- A per-client rate limit (429 with `Retry-After`), keyed by bearer token or client address.

Binding a non-loopback address without auth is refused at start-up.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gemini_mcp import __version__
from gemini_mcp.gemini.endpoint import reachable
from gemini_mcp.server.settings import Settings
from gemini_mcp.server.sockets import listening_socket

logger = logging.getLogger("gemini_mcp.http")

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class StartupRefused(SystemExit):
    """The HTTP server will not start with this configuration; the message says why and how to fix it."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_startup(settings: Settings) -> None:
    if not is_loopback(settings.host) and not settings.auth_configured:
        raise StartupRefused(
            f"Refusing to serve MCP on {settings.host} without authentication: anyone who can reach this address "
            "could spend your Gemini quota. Set GEMINI_MCP_AUTH_TOKEN (a long random secret) or OAuth "
            "(GEMINI_MCP_OAUTH_ISSUER + GEMINI_MCP_OAUTH_JWKS_URL), or bind 127.0.0.1"
        )


def transport_security(settings: Settings) -> TransportSecuritySettings | None:
    """Host/Origin validation: explicit lists when given; the SDK's loopback defaults otherwise."""
    if settings.allowed_hosts or settings.allowed_origins:
        hosts = list(settings.allowed_hosts) or [f"{settings.host}:{settings.port}", f"localhost:{settings.port}"]
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=hosts,
            allowed_origins=list(settings.allowed_origins),
        )
    if is_loopback(settings.host):
        port = "*"
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "localhost"],
            allowed_origins=[f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"],
        )
    # Behind a load balancer with auth: hosts vary; browsers are still kept out unless origins are listed.
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


class RateLimit:
    """Token bucket per client: `per_minute` requests, bursts up to the same number."""

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app = app
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.buckets: dict[str, tuple[float, float]] = {}

    def _client(self, scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return "token:" + hashlib.sha256(value).hexdigest()[:16]
        client = scope.get("client")
        return f"addr:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or scope.get("path") in ("/healthz", "/readyz"):
            await self.app(scope, receive, send)
            return
        key = self._client(scope)
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1:
            retry = max(1, int((1 - tokens) / self.rate) + 1)
            response = JSONResponse(
                {"error": "rate limit exceeded", "retry_after_s": retry},
                status_code=429,
                headers={"Retry-After": str(retry)},
            )
            await response(scope, receive, send)
            return
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > 10_000:  # forget idle clients
            self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 120}
        await self.app(scope, receive, send)


class Router:
    """Sends legacy SSE paths to the SSE app and everything else (lifespan included) to the main app."""

    def __init__(self, main: ASGIApp, sse: ASGIApp | None) -> None:
        self.main = main
        self.sse = sse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.sse is not None and scope["type"] == "http" and (path == "/sse" or path.startswith("/messages/")):
            await self.sse(scope, receive, send)
        else:
            await self.main(scope, receive, send)


def build_http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    security = transport_security(settings)

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(_: Request) -> Response:
        ready, detail = await reachable(settings)
        return JSONResponse({"ready": ready, "upstream": detail}, status_code=200 if ready else 503)

    main = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=settings.stateless,
        max_request_body_size=int(settings.http_max_body_mb * 1024 * 1024),
        transport_security=security,
        host=settings.host,
    )
    sse = None
    if settings.legacy_sse:
        sse = server.sse_app(
            max_request_body_size=int(settings.http_max_body_mb * 1024 * 1024),
            transport_security=security,
            host=settings.host,
        )
    app: ASGIApp = Router(main, sse)
    if settings.rate_limit_per_minute:
        app = RateLimit(app, settings.rate_limit_per_minute)
    return app


async def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    import uvicorn

    check_startup(settings)
    app = build_http_app(server, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),  # in-flight calls get this long after SIGTERM
        server_header=False,
    )
    mode = "stateless" if settings.stateless else "sessions"
    auth = "OAuth" if settings.oauth_issuer else "bearer token" if settings.auth_token else "no auth (loopback only)"
    logger.info("serving MCP at http://%s:%d/mcp (%s, %s)", settings.host, settings.port, mode, auth)
    await uvicorn.Server(config).serve(sockets=[listening_socket(settings.host, settings.port)])
