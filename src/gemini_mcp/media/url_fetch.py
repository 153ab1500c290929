"""Download a URL an agent gave, connecting only to addresses that were checked.

Checking a host's addresses and then letting the HTTP client look the name up again leaves a gap: a name
can answer with a public address to the check and with 127.0.0.1 or 169.254.169.254 to the connection
(DNS rebinding). Here each hop is resolved once, every address it resolves to must pass the policy, and
the connection pool's network backend connects to exactly those addresses: the pool never resolves a name.
The URL is not rewritten, so the Host header, TLS SNI and certificate verification stay those of the name.
Redirects are followed by hand, each hop resolved and checked again.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
import httpcore2
import httpx2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
AddressPolicy = Callable[[IPAddress], bool]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use translation: reaches private networks
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d form, still routed by some stacks


def is_public_address(address: IPAddress) -> bool:
    """False for private, loopback, link-local, unique-local, multicast, unspecified and reserved addresses,
    and for IPv6 forms that carry such an IPv4 address (IPv4-mapped, 6to4, NAT64, IPv4-compatible, Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None or address in _NAT64_LOCAL:
            return False
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved)


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (the default resolver)."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class FetchError(Exception):
    """A download that could not be made; the message is worded for the caller, who adds the field name."""


class BadUrl(FetchError):
    pass


class AddressRefused(FetchError):
    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"'{host}' resolves to a private or local address ({address})")
        self.host = host
        self.address = address


class TooLarge(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str | None
    url: str  # after redirects


@dataclass(frozen=True)
class _Target:
    url: httpx2.URL
    host: str  # as the connection pool names it: IDNA ASCII, IPv6 without brackets
    port: int


def _target(raw: str | httpx2.URL, what: str) -> _Target:
    try:
        url = raw if isinstance(raw, httpx2.URL) else httpx2.URL(raw)
    except (httpx2.InvalidURL, ValueError, TypeError) as exc:
        raise BadUrl(
            f"{what} is not a valid URL ({exc}); give a full http(s) URL such as https://example.com/a.png"
        ) from exc
    if url.scheme not in ("http", "https"):
        raise BadUrl(f"only http and https URLs are fetched (got '{url.scheme}:' in {what})")
    host = url.raw_host.decode("ascii")
    if not host:
        raise BadUrl(f"{what} has no host; give a full http(s) URL such as https://example.com/a.png")
    port = url.port or (443 if url.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise BadUrl(f"{what} has port {port}, outside 1-65535; fix the port or leave it out")
    return _Target(url=url, host=host, port=port)


async def _checked_addresses(target: _Target, resolve: Resolver, allow: AddressPolicy) -> tuple[str, ...]:
    try:
        ipaddress.ip_address(target.host.split("%")[0])
        found: Sequence[str] = [target.host]  # a literal address: nothing to resolve
    except ValueError:
        try:
            found = await resolve(target.host, target.port)
        except OSError as exc:
            raise FetchError(f"cannot resolve host '{target.host}' ({exc}); check the URL") from exc
    if not found:
        raise FetchError(f"cannot resolve host '{target.host}'; check the URL")
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError as exc:
            raise AddressRefused(target.host, text) from exc
        if not allow(address):
            raise AddressRefused(target.host, text)
    return tuple(found)


class _PinnedBackend(httpcore2.AsyncNetworkBackend):
    """Connects a (host, port) only to the addresses checked for it; a name never reaches a resolver here."""

    def __init__(self, pins: dict[tuple[str, int], tuple[str, ...]]) -> None:
        self._pins = pins
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = self._pins.get((host, port))
        if not addresses:
            raise httpcore2.ConnectError(f"{host}:{port} was not checked before connecting")
        failure: Exception | None = None
        for address in addresses:  # several checked addresses: the next one when one is unreachable
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's backend interface)
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("media URLs are never fetched over a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


# Most specific first: the first match wins.
_ERRORS: tuple[tuple[type[Exception], type[httpx2.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx2.AsyncByteStream):
    def __init__(self, stream: httpcore2.Response) -> None:
        self._response = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._response.aiter_stream():
                yield part

    async def aclose(self) -> None:
        await self._response.aclose()


class _PinnedTransport(httpx2.AsyncBaseTransport):
    """httpx2's transport shape around an httpcore2 pool whose network backend is pinned."""

    def __init__(self, pins: dict[tuple[str, int], tuple[str, ...]], ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=ssl_context, network_backend=_PinnedBackend(pins))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


async def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    max_redirects: int = 5,
    resolve: Resolver = resolve_host,
    allow: AddressPolicy = is_public_address,
    ssl_context: ssl.SSLContext | None = None,
) -> Fetched:
    """GET `url` (following redirects), its body capped at `max_bytes`; raises FetchError and subclasses.

    `resolve` is called once per hop; `allow` decides which resolved addresses may be connected to.
    """
    target = _target(url, f"'{url}'")
    pins: dict[tuple[str, int], tuple[str, ...]] = {}
    transport = _PinnedTransport(pins, ssl_context or httpx2.create_ssl_context())
    # Media are compressed already, and a compressed answer could expand far past the cap in one chunk.
    headers = {"accept-encoding": "identity"}
    try:
        with anyio.fail_after(timeout_s):
            async with httpx2.AsyncClient(
                transport=transport, follow_redirects=False, timeout=timeout_s, trust_env=False, headers=headers
            ) as http:
                for _ in range(max_redirects + 1):
                    pins[(target.host, target.port)] = await _checked_addresses(target, resolve, allow)
                    async with http.stream("GET", target.url) as response:
                        if response.is_redirect:
                            location = response.headers["location"]
                            try:
                                following = target.url.join(location)
                            except (httpx2.InvalidURL, ValueError) as exc:
                                raise BadUrl(f"the redirect to '{location}' is not a valid URL ({exc})") from exc
                            target = _target(following, f"the redirect to '{location}'")
                            continue
                        if response.status_code >= 300:
                            raise FetchError(
                                f"the server answered HTTP {response.status_code} for {target.url}; check the URL, "
                                "or download the file yourself and pass a path"
                            )
                        data = await _read_capped(response, max_bytes)
                        return Fetched(data, response.headers.get("content-type"), str(target.url))
                raise FetchError(f"more than {max_redirects} redirects; give the final URL")
    except TimeoutError as exc:
        raise FetchTimeout(f"the download took longer than {timeout_s:g} s") from exc
    except httpx2.TimeoutException as exc:
        raise FetchTimeout(f"the server did not answer within {timeout_s:g} s ({type(exc).__name__})") from exc
    except httpx2.HTTPError as exc:
        raise FetchError(
            f"download failed ({type(exc).__name__}: {exc}); check the URL, or download the file yourself and pass "
            "a path"
        ) from exc


async def _read_capped(response: httpx2.Response, max_bytes: int) -> bytes:
    try:
        declared = int(response.headers.get("content-length") or 0)
    except ValueError:
        declared = 0  # a malformed length: the count below still holds the cap
    if declared > max_bytes:
        raise TooLarge(f"the download is {declared} bytes, above the {max_bytes}-byte cap")
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise TooLarge(f"the download exceeds the {max_bytes}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)
