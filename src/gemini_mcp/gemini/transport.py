"""The HTTP transport under the google-genai client: a cap on requests in flight, `Retry-After`, and the rule
that a paid job is never started twice.

The SDK's own retry options (configured in `gemini/client.py`) decide *whether* to retry and back off
exponentially with jitter, but tenacity ignores a server's `Retry-After`, and the SDK does not retry an
answer whose body breaks off mid-way. This transport:

- holds back a 429/503 answer that carries `Retry-After` until that time has passed (capped), so the
  SDK's next attempt never comes earlier than the server asked;
- reads non-streaming answers whole and, when the connection breaks off mid-body, asks again (the same
  number of attempts as the SDK's retries); server-sent-event streams are passed through untouched;
- lets a paid create (`PAID_CREATES`) go out again only when it provably never reached the API (below);
- refuses a 2xx web page (a captive portal, a wrong base URL) with a message instead of a JSON parse error;
- streams large operation and interaction answers through `gemini/offload.py`, so an inline video goes to
  disk, not memory;
- bounds concurrent upstream requests: a burst of agent calls queues here instead of tripping rate limits;
- sets TCP_NODELAY: a POST's headers and body leave in separate segments, and Nagle's algorithm would
  hold the body back until the server's delayed ACK (40 ms on Linux), on every request.

Paid creates. The SDK retries (`_api_client.retry_args`: tenacity over `APIError` with a listed status,
`httpx2.TimeoutException` and `httpx2.ConnectError`; the Interactions client, `_gaos/utils/retries.py`, over
statuses and any `NetworkError`/`TimeoutException`) know nothing of money. For a request matching
`PAID_CREATES`, only what is certain not to have started work passes through to them: a connect failure
(refused, DNS, TLS handshake, connect or pool timeout: nothing was sent) and a 429 (Google refuses before any
work). A 408/5xx answer, a timeout after sending, or an answer that breaks off raise `CreateMayHaveStarted`,
which no retry layer knows, so the call ends with a message saying how to check instead of a second job.
Each paid create also goes out on a new connection: a pooled one that the server closed while idle would
fail only after the request was written, leaving the outcome unknown.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2

from gemini_mcp.errors import TRANSIENT_CODES, CreateMayHaveStarted, NotAnApiAnswer
from gemini_mcp.gemini.offload import OFFLOAD_ABOVE_BYTES, InlineMediaOffloader, offloader_for
from gemini_mcp.gemini.retry_events import Attempts, call_attempts, tell

logger = logging.getLogger("gemini_mcp.gemini.transport")


@dataclass(frozen=True)
class PaidCreate:
    """A request that starts paid work at Google: sent again only when it provably never reached the API.

    Opting a new long-running create in is one entry in `PAID_CREATES`, e.g. for the Interactions API:
    `PaidCreate("a background interaction", "/interactions", check="...", body_flag="background")`.
    """

    job: str  # what the request starts, in messages ("a Veo video")
    path_suffix: str  # how the request's URL path ends
    check: str  # how a user finds out whether the job started, when its answer was lost
    method: str = "POST"
    body_flag: str | None = None  # only when the JSON body sets this field to true

    def matches(self, request: httpx2.Request) -> bool:
        if request.method != self.method or not request.url.path.endswith(self.path_suffix):
            return False
        if self.body_flag is None:
            return True
        try:
            body = request.content
        except httpx2.RequestNotRead:
            return True  # unknown body: treat it as paid, the safe side
        # A textual match, not a parse: cheap on bodies with inline media; a false match only means "no resend".
        return re.search(rb'"%s"\s*:\s*true' % re.escape(self.body_flag.encode()), body) is not None


PAID_CREATES: tuple[PaidCreate, ...] = (
    PaidCreate(
        job="a Veo video",
        path_suffix=":predictLongRunning",
        check="wait a few minutes, then look for Vertex AI video generation in the Google Cloud console "
        "(Billing > Reports, or the Vertex AI quota page). Calling generate_video again starts, and bills, another "
        "video",
    ),
    PaidCreate(
        job="a background interaction (a Gemini Omni video, a Lyria track or a Deep Research report)",
        path_suffix="/interactions",
        check="wait a few minutes, then look for its usage on the key's project in Google AI Studio "
        "(https://aistudio.google.com/usage). Calling the tool again starts, and bills, another one; with an "
        "idempotency_key, the same key returns the first instead",
        body_flag="background",
    ),
    PaidCreate(
        job="a batch",
        path_suffix=":batchGenerateContent",
        check="look for it in the batches of the key's project (Google AI Studio, or the Batch API's batches.list) "
        "before starting it again: calling batch_generate again starts, and bills, another batch",
    ),
    PaidCreate(
        job="an embeddings batch",
        path_suffix=":asyncBatchEmbedContent",
        check="look for it in the batches of the key's project (Google AI Studio, or the Batch API's batches.list) "
        "before starting it again: calling batch_generate again starts, and bills, another batch",
    ),
)


def paid_create(request: httpx2.Request) -> PaidCreate | None:
    return next((rule for rule in PAID_CREATES if rule.matches(request)), None)


RETRY_AFTER_STATUSES = {429, 503}
MAX_RETRY_AFTER_S = 60.0


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
BROKEN_BODY = (httpx2.RemoteProtocolError, httpx2.ReadError)
# Raised before a byte of the request left this machine (connect, DNS, TLS handshake, a pool slot).
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
# Refused on this side before a request could go out (a bad URL, an invalid request): nobody retries these.
REFUSED_HERE = (httpx2.UnsupportedProtocol, httpx2.LocalProtocolError, httpx2.ProxyError)
# Answered before Google did any work: a paid create may go out again after these.
SAFE_TO_RESEND = frozenset({429})
WEB_PAGE_TYPES = ("text/html", "application/xhtml+xml")


def may_carry_media(request: httpx2.Request, response: httpx2.Response) -> bool:
    """A successful, large (or unsized) answer about a long-running operation: where Veo videos come back."""
    path = request.url.path
    if response.status_code != 200 or not (
        path.endswith(":fetchPredictOperation")
        or "/operations/" in path
        or (request.method == "GET" and "/interactions/" in path)  # a polled interaction
    ):
        return False
    length = response.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > OFFLOAD_ABOVE_BYTES


def is_interaction(request: httpx2.Request) -> bool:
    """A request of the Interactions API's own client (`/{ver}/interactions…`): its videos come inline too."""
    return "/interactions" in request.url.path


def is_stream(request: httpx2.Request) -> bool:
    return request.url.params.get("alt") == "sse" or ":stream" in request.url.path


def is_web_page(request: httpx2.Request, response: httpx2.Response) -> bool:
    """A successful answer that is an HTML page: the API never sends one (a download may be any file)."""
    if not 200 <= response.status_code < 300 or request.url.params.get("alt") == "media":
        return False
    return response.headers.get("content-type", "").split(";")[0].strip().lower() in WEB_PAGE_TYPES


def web_page_message(request: httpx2.Request, response: httpx2.Response) -> str:
    url = request.url
    origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    title = None
    if not is_stream(request):
        found = re.search(rb"<title[^>]*>([^<]{1,120})</title>", response.content[:65536], re.IGNORECASE)
        title = found.group(1).decode("utf-8", "replace").strip() if found else None
    page = f" titled '{title}'" if title else ""
    return (
        f"{origin} answered HTTP {response.status_code} with a web page{page} instead of a Gemini API answer: "
        "something other than the Gemini API answered (a captive portal or proxy login page, a firewall, or "
        "GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL pointing at a web site). Open "
        f"{origin} in a browser on this machine, and check those settings (unset, they use Google's own address)"
    )


def upstream_error(response: httpx2.Response) -> str:
    """`503 UNAVAILABLE: <Google's message>` from an error answer, kept short."""
    status, message = "", ""
    try:
        error = json.loads(response.content).get("error", {})
        status, message = str(error.get("status") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError, httpx2.ResponseNotRead):
        pass
    head = f"{response.status_code} {status or response.reason_phrase}".strip()
    if message.lstrip().startswith("<") or not message:
        return head
    return f"{head}: {message if len(message) <= 300 else message[:300] + '…'}"


def _after_sending(exc: httpx2.TransportError, status: list[int]) -> str:
    name = type(exc).__name__
    if isinstance(exc, httpx2.TimeoutException):
        return f"no answer came within the request timeout, GEMINI_MCP_TIMEOUT, after the request was sent: {name}"
    answered = f"Gemini answered {status[0]} but " if status else ""
    return f"{answered}the connection broke off after the request was sent: {name}"


class ResilientTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self,
        max_concurrency: int,
        attempts: int = 1,
        backoff_s: float = 0.5,
        offload_dir: Path | None = None,
        **transport_args: Any,
    ) -> None:
        transport_args.setdefault("socket_options", NO_DELAY)
        # The pool must not be the bottleneck below our own limit (httpx2's default is 100 connections).
        transport_args.setdefault(
            "limits", httpx2.Limits(max_connections=max(100, max_concurrency), max_keepalive_connections=64)
        )
        self._inner = httpx2.AsyncHTTPTransport(**transport_args)
        self._transport_args = transport_args
        self._unpooled: httpx2.AsyncHTTPTransport | None = None  # for paid creates, made on the first one
        self._limit = anyio.CapacityLimiter(max_concurrency)
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.waiting = 0  # requests queued for a slot (for diagnostics)
        self.offload_dir = offload_dir

    def _new_connection_each_time(self) -> httpx2.AsyncHTTPTransport:
        if self._unpooled is None:
            limits = httpx2.Limits(max_connections=None, max_keepalive_connections=0)
            self._unpooled = httpx2.AsyncHTTPTransport(**{**self._transport_args, "limits": limits})
        return self._unpooled

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        create = paid_create(request)
        inner = self._inner if create is None else self._new_connection_each_time()
        attempts = call_attempts.get() or Attempts()
        key = f"{request.method} {request.url}"
        for attempt in range(1, self.attempts + 1):
            attempts.sent(key)
            status: list[int] = []
            try:
                response = await self._send(request, inner, status)
            except NOT_SENT as exc:
                # Nothing left this machine, so the SDK's retry of it is safe even for a paid create.
                await self._failed(attempts, key, f"Could not connect to Gemini ({type(exc).__name__})")
                raise
            except REFUSED_HERE:
                attempts.failed(key)
                raise
            except httpx2.TransportError as exc:
                # Anything after connecting: the request may have been read, so a paid create stops here.
                if create is not None:
                    attempts.failed(key)
                    raise CreateMayHaveStarted(
                        create.job, _after_sending(exc, status), create.check, accepted=bool(status) and status[0] < 300
                    ) from exc
                if not isinstance(exc, BROKEN_BODY):
                    if isinstance(exc, httpx2.TimeoutException):  # the SDK retries it
                        await self._failed(attempts, key, "Gemini did not answer within the request timeout")
                    else:
                        attempts.failed(key)
                    raise
                if attempt == self.attempts:
                    attempts.failed(key)
                    raise
                await self._failed(attempts, key, "The connection to Gemini broke off mid-answer; asking again")
                await anyio.sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            except anyio.get_cancelled_exc_class():
                if create is not None:
                    logger.warning(
                        "The call was cancelled while the request that starts %s was in flight: it may have started "
                        "at Google, and its id never arrived. %s",
                        create.job,
                        create.check,
                    )
                raise
            break
        code = response.status_code
        if create is not None and code in TRANSIENT_CODES and code not in SAFE_TO_RESEND:
            attempts.failed(key)
            raise CreateMayHaveStarted(create.job, f"Gemini answered {upstream_error(response)}", create.check)
        if is_web_page(request, response):
            message = web_page_message(request, response)
            await response.aclose()
            attempts.failed(key)
            raise NotAnApiAnswer(message)
        if code in TRANSIENT_CODES:
            await self._failed(attempts, key, f"Gemini answered {code} {response.reason_phrase}".strip())
        else:
            attempts.answered(key)
        if code in RETRY_AFTER_STATUSES:
            delay = retry_after_seconds(response.headers.get("retry-after"))
            if delay:
                await anyio.sleep(min(delay, MAX_RETRY_AFTER_S))
                if is_interaction(request):
                    # Waited here, capped: the Interactions client would wait the header's whole value again.
                    del response.headers["retry-after"]
        return response

    @staticmethod
    async def _failed(attempts: Attempts, key: str, message: str) -> None:
        attempts.failed(key)
        await tell(message)

    async def _send(
        self, request: httpx2.Request, inner: httpx2.AsyncHTTPTransport, status: list[int]
    ) -> httpx2.Response:
        """Send and read the answer whole (a stream: its headers); `status` gets the status once it arrived."""
        try:
            # The fast path skips acquire()'s two scheduling checkpoints, measurable per call (benchmarks/).
            self._limit.acquire_nowait()
        except anyio.WouldBlock:
            self.waiting += 1
            try:
                await self._limit.acquire()
            finally:
                self.waiting -= 1
        try:
            response = await inner.handle_async_request(request)
            status.append(response.status_code)
            if is_stream(request):
                return response
            headers: Any = response.headers
            try:
                if self.offload_dir is not None and may_carry_media(request, response):
                    body = await self._offloaded(response, offloader_for(self.offload_dir, is_interaction(request)))
                    # The body is now decoded and shorter: its encoding and length headers no longer apply.
                    drop = ("content-encoding", "content-length")
                    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
                else:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        finally:
            self._limit.release()
        return httpx2.Response(
            status_code=response.status_code,
            headers=headers,
            content=body,
            extensions=response.extensions,
            request=request,
        )

    async def _offloaded(self, response: httpx2.Response, offloader: InlineMediaOffloader) -> bytes:
        try:
            async for chunk in response.aiter_bytes():
                await offloader.feed(chunk)
            return await offloader.finish()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await offloader.discard()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._unpooled is not None:
            await self._unpooled.aclose()
