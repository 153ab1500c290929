"""Per-client request budgets for the HTTP server (429 with `Retry-After` when one is used up).

Who pays for a request:
- an authenticated caller (the SDK's auth middleware put an `AuthenticatedUser` in `scope["user"]`): its
  identity (client id, issuer, subject), whatever token or address it uses;
- anything else (a missing or wrong token, auth metadata, no auth configured on loopback): the client address.
  An address whose budget is used up is refused before its token is even checked, so guessing tokens costs
  the guesser, not us (no JWT verification, no JWKS fetch);
- the public paths (`/healthz`, `/readyz`, `/media/...`): the client address, in a budget of their own so
  downloads never use up an address's MCP budget.

Budgets are token buckets kept in least-recently-used order: a bucket untouched for a full refill period is
the same as a new one, so it is dropped from the front as later requests arrive (O(1) amortised, never a scan).
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import principal_components
from mcp_types import CONNECTION_CLOSED
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = ("/healthz", "/readyz")
PUBLIC_PREFIXES = ("/media/",)
MAX_BUCKETS = 100_000  # a ceiling on memory however many addresses show up within one refill period


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def client_address(scope: Scope) -> str:
    """The client's address; IPv6 by /64, the block one subscriber usually gets, so it is one budget."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return host
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class TokenBuckets:
    """`per_minute` requests per key, in bursts of up to as many."""

    def __init__(
        self, per_minute: int, max_buckets: int = MAX_BUCKETS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.refill_s = self.capacity / self.rate
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, last touched)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        found = self._buckets.get(key)
        if found is None:
            return self.capacity
        tokens, last = found
        return min(self.capacity, tokens + (now - last) * self.rate)

    def _retry_after(self, tokens: float) -> int:
        return max(1, math.ceil((1 - tokens) / self.rate))

    def peek(self, key: str) -> int:
        """0 if `key` could make a request now, else the seconds until it can (nothing is spent)."""
        tokens = self._tokens(key, self.clock())
        return 0 if tokens >= 1 else self._retry_after(tokens)

    def take(self, key: str) -> int:
        """Spend one request of `key`'s budget: 0 if it may go ahead, else the seconds until it may."""
        now = self.clock()
        self._forget_idle(now)
        tokens = self._tokens(key, now)
        admitted = tokens >= 1
        self._buckets[key] = (tokens - 1 if admitted else tokens, now)
        self._buckets.move_to_end(key)
        return 0 if admitted else self._retry_after(tokens)

    def _forget_idle(self, now: float) -> None:
        # Buckets sit in the order they were last touched, so the idle ones are all at the front.
        buckets = self._buckets
        while buckets:
            _, last = buckets[next(iter(buckets))]
            if now - last < self.refill_s and len(buckets) < self.max_buckets:
                return
            buckets.popitem(last=False)


def _limited(retry_after: int, buckets: TokenBuckets, jsonrpc: bool) -> Response:
    message = (
        f"Rate limit exceeded: at most {buckets.per_minute} requests per minute per client "
        f"(GEMINI_MCP_RATE_LIMIT); retry in {retry_after} s"
    )
    headers = {"Retry-After": str(retry_after)}
    if not jsonrpc:
        return JSONResponse({"error": message, "retry_after_s": retry_after}, status_code=429, headers=headers)
    # A JSON-RPC error body: MCP clients show its message instead of a bare HTTP status.
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": CONNECTION_CLOSED, "message": message}}
    return Response(json.dumps(body), status_code=429, headers=headers, media_type="application/json")


class AddressLimit:
    """Outermost: the public paths by address, and the early refusal of addresses out of budget."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public = is_public(scope.get("path", ""))
        address = client_address(scope)
        # Elsewhere the address budget is only looked at here; IdentityLimit spends it once auth has had its say.
        retry = self.buckets.take("public:" + address) if public else self.buckets.peek("addr:" + address)
        if retry:
            await _limited(retry, self.buckets, jsonrpc=not public)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class IdentityLimit:
    """Inside the SDK's Starlette app, after its auth middleware: the authenticated identity pays, else the address."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        user = scope.get("user")
        if isinstance(user, AuthenticatedUser):
            client_id, issuer, subject = principal_components(user.access_token)
            key = f"user:{issuer or ''}|{client_id}|{subject or ''}"
        else:
            key = "addr:" + client_address(scope)
        retry = self.buckets.take(key)
        if retry:
            await _limited(retry, self.buckets, jsonrpc=True)(scope, receive, send)
            return
        await self.app(scope, receive, send)
