"""Streamable HTTP for remote agents, safe by default.

- `/mcp`: the `mcp` SDK's Streamable HTTP app (sessions, or stateless with `--stateless`), behind the
  SDK's bearer/OAuth check when auth is configured, with DNS-rebinding protection (Host and Origin
  checks), a request-body cap (413) and a cap on open sessions (GEMINI_MCP_HTTP_MAX_SESSIONS; idle ones
  close after GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES), refused with an error that names both settings.
- `/healthz` (alive) and `/readyz` (the configured Gemini endpoint or emulator answers; the answer is kept
  for a few seconds, so a burst of probes makes one upstream request), without auth.
- `/sse` + `/messages/`: the legacy SSE transport, only with `--legacy-sse`.
- Rate limits (429 with `Retry-After`), per authenticated identity, else per client address
  (server/ratelimit.py).
- Per-request toolsets: `X-MCP-Toolsets`, `X-MCP-Tools`, `X-MCP-Exclude-Tools` and `X-MCP-Read-Only` (or
  GitHub's `X-MCP-Readonly`) narrow the tools one request sees and may call, within what the server's settings
  enable (framework/toolsets.py), so one deployment serves several agents differently.
- Graceful shutdown on SIGTERM/SIGINT: running calls finish and are answered (server/http_shutdown.py).
- uvicorn runs without a logging config of its own, so its access and error lines go through the
  redacting handler of server/logs.py (key, access_token and sig query values masked).

Binding a non-loopback address without auth is refused at start-up.
"""

from __future__ import annotations

import gc
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gemini_mcp import __version__
from gemini_mcp.config.settings import Settings
from gemini_mcp.framework.toolsets import Selection, Sources, ToolsetGate, UnknownNames, Wanted, gate_of
from gemini_mcp.gemini.endpoint import reachable
from gemini_mcp.server.http_shutdown import Drain, serve_until_signalled
from gemini_mcp.server.ratelimit import AddressLimit, IdentityLimit, TokenBuckets
from gemini_mcp.sockets import listening_socket

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


READY_CACHE_S = 5.0  # how long a /readyz answer is reused: probes come often, the answer rarely changes
UVICORN_CLOSE_S = 3  # after our drain every response has ended; this only bounds uvicorn's own wait
SESSION_HEADER = b"mcp-session-id"


class Readiness:
    """Whether the upstream answers, probed at most once per `ttl_s` however many ask at once."""

    def __init__(self, settings: Settings, ttl_s: float = READY_CACHE_S) -> None:
        self.settings = settings
        self.ttl_s = ttl_s
        self._answer: tuple[bool, str] | None = None
        self._at = 0.0
        self._lock: anyio.Lock | None = None

    def _fresh(self) -> tuple[bool, str] | None:
        if self._answer is not None and time.monotonic() - self._at < self.ttl_s:
            return self._answer
        return None

    async def check(self) -> tuple[bool, str]:
        if (answer := self._fresh()) is not None:
            return answer
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:  # the ones waiting here get the answer the first one fetched
            if (answer := self._fresh()) is not None:
                return answer
            answer = await reachable(self.settings)
            self._answer, self._at = answer, time.monotonic()
            return answer


def sessions_full_message(settings: Settings) -> str:
    return (
        f"This server is at its limit of {settings.http_max_sessions} open MCP session(s) "
        f"(GEMINI_MCP_HTTP_MAX_SESSIONS). Sessions with no requests close after "
        f"{settings.http_session_idle_minutes:g} minutes (GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES), freeing room: "
        "retry later, end sessions you no longer use (HTTP DELETE), or raise GEMINI_MCP_HTTP_MAX_SESSIONS."
    )


def _sessions_full(settings: Settings) -> Response:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": INTERNAL_ERROR, "message": sessions_full_message(settings)}}
    return Response(json.dumps(body), status_code=503, media_type="application/json")


class SessionLimitMessage:
    """Replaces the SDK's bare "Too many open sessions" 503 with one that says which settings govern it."""

    def __init__(self, app: ASGIApp, settings: Settings, path: str) -> None:
        self.app = app
        self.settings = settings
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opens_session = (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") == self.path
            and not any(name == SESSION_HEADER for name, _ in scope.get("headers", []))
        )
        if not opens_session:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def rewriting(message: Message) -> None:
            if not held and not (message["type"] == "http.response.start" and message["status"] == 503):
                await send(message)
                return
            held.append(message)  # a 503: hold it until its body shows whether it is the session limit
            if message["type"] != "http.response.body" or message.get("more_body", False):
                return
            if b"Too many open sessions" in b"".join(m.get("body", b"") for m in held[1:]):
                await _sessions_full(self.settings)(scope, receive, send)
            else:
                for kept in held:
                    await send(kept)

        await self.app(scope, receive, rewriting)


class Router:
    """Sends legacy SSE paths to the SSE app and everything else (lifespan included) to the main app.

    Each legacy `/sse` stream is a session of its own: they count against GEMINI_MCP_HTTP_MAX_SESSIONS too."""

    def __init__(self, main: ASGIApp, sse: ASGIApp | None, settings: Settings) -> None:
        self.main = main
        self.sse = sse
        self.settings = settings
        self.sse_open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.sse is None or scope["type"] != "http" or not (path == "/sse" or path.startswith("/messages/")):
            await self.main(scope, receive, send)
        elif path != "/sse":
            await self.sse(scope, receive, send)
        elif self.sse_open >= self.settings.http_max_sessions:
            await _sessions_full(self.settings)(scope, receive, send)
        else:
            self.sse_open += 1
            try:
                await self.sse(scope, receive, send)
            finally:
                self.sse_open -= 1


HEADER_SOURCES = Sources(
    toolsets="the X-MCP-Toolsets header",
    tools="the X-MCP-Tools header",
    exclude="the X-MCP-Exclude-Tools header",
    read_only="the X-MCP-Read-Only header",
)
READ_ONLY_HEADERS = ("x-mcp-read-only", "x-mcp-readonly")  # the second: GitHub's MCP server spells it so
_TRUE_WORDS = {"1", "true", "yes", "on", "t", "y"}
_FALSE_WORDS = {"0", "false", "no", "off", "f", "n"}


def _header_names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in (value or "").split(",") if name.strip())


def _header_flag(value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise MCPError(code=INVALID_PARAMS, message=f"X-MCP-Read-Only: expected true or false, got {value[:20]!r}")


def header_narrowing(gate: ToolsetGate) -> Callable[[ServerRequestContext[Any, Any]], Selection | None]:
    """What a request's X-MCP-* headers narrow the server's tools to (None: no such header); a name that is no
    toolset or tool is refused with INVALID_PARAMS naming the header and the valid names."""

    def narrowing(ctx: ServerRequestContext[Any, Any]) -> Selection | None:
        headers = getattr(ctx.request, "headers", None)  # a Starlette Request over HTTP; None in memory
        if headers is None:
            return None
        raw = getattr(headers, "raw", None)  # Starlette's (name, value) pairs, names lower-case
        if isinstance(raw, list) and not any(name.startswith(b"x-mcp-") for name, _ in raw):
            return None  # the usual request: one pass instead of six case-insensitive lookups
        read_only = next((headers[name] for name in READ_ONLY_HEADERS if headers.get(name, "").strip()), None)
        wanted = Wanted(
            toolsets=_header_names(headers.get("x-mcp-toolsets")),
            tools=_header_names(headers.get("x-mcp-tools")),
            exclude=_header_names(headers.get("x-mcp-exclude-tools")),
            read_only=_header_flag(read_only) if read_only is not None else False,
        )
        if wanted == Wanted():
            return None
        try:
            return gate.narrow(wanted, HEADER_SOURCES)
        except UnknownNames as bad:
            raise MCPError(code=INVALID_PARAMS, message=f"{bad}. Fix the header or leave it out.") from None

    return narrowing


def build_http_app(server: MCPServer[Any], settings: Settings) -> Drain:
    """The whole HTTP app; the outermost layer is the `Drain` that graceful shutdown works through."""
    security = transport_security(settings)
    readiness = Readiness(settings)
    drain: Drain  # built last, around everything; the routes below only read it once requests arrive

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @server.custom_route("/readyz", methods=["GET"])
    async def readyz(_: Request) -> Response:
        if drain.draining:
            return JSONResponse({"ready": False, "upstream": "this server is shutting down"}, status_code=503)
        ready, detail = await readiness.check()
        return JSONResponse({"ready": ready, "upstream": detail}, status_code=200 if ready else 503)

    gate = gate_of(server.middleware)
    if gate is not None:
        gate.narrowing = header_narrowing(gate)
    max_body = int(settings.http_max_body_mb * 1024 * 1024)
    main = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=settings.stateless,
        max_request_body_size=max_body,
        max_sessions=settings.http_max_sessions,
        session_idle_timeout=settings.http_session_idle_minutes * 60,
        transport_security=security,
        host=settings.host,
    )
    sse = None
    if settings.legacy_sse:
        sse = server.sse_app(max_request_body_size=max_body, transport_security=security, host=settings.host)
    buckets = TokenBuckets(settings.rate_limit_per_minute) if settings.rate_limit_per_minute else None
    if buckets is not None:
        # Appended, so it runs after the SDK's auth middleware has put the caller in scope["user"].
        for starlette_app in (main, sse):
            if starlette_app is not None:
                starlette_app.user_middleware.append(Middleware(IdentityLimit, buckets=buckets))
    mcp_app: ASGIApp = main if settings.stateless else SessionLimitMessage(main, settings, "/mcp")
    app: ASGIApp = Router(mcp_app, sse, settings)
    if buckets is not None:
        app = AddressLimit(app, buckets)
    drain = Drain(app, getattr(server, "services", None))
    return drain


async def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    import uvicorn

    check_startup(settings)
    app = build_http_app(server, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's own handlers would bypass the redacting one on the root logger
        timeout_graceful_shutdown=UVICORN_CLOSE_S,
        server_header=False,
    )
    mode = "stateless" if settings.stateless else "sessions"
    auth = "OAuth" if settings.oauth_issuer else "bearer token" if settings.auth_token else "no auth (loopback only)"
    logger.info("serving MCP at http://%s:%d/mcp (%s, %s)", settings.host, settings.port, mode, auth)
    sockets = [listening_socket(settings.host, settings.port)]
    # What start-up built (settings, schemas, the tool catalog, mcp's and pydantic's models) lives as long as the
    # process: frozen, the cyclic collector stops scanning it on every full collection (59 → 20 ms each, about
    # once per thousand calls; benchmarks/README.md).
    gc.freeze()
    await serve_until_signalled(config, app, sockets, settings.shutdown_grace_s)
