"""Media inputs stay inside the configured folders and fetch only checked addresses; crash leftovers go.

- client roots narrow the configured folders, never widen them, and count over HTTP only when opted in;
- a URL is resolved once per hop and connected to exactly the address that was checked (no DNS rebinding);
- odd inputs (NUL bytes, huge paths, folders, FIFOs, broken URLs, bad ports) are tool errors naming the field;
- temporary files name their writer, and a dead writer's leftovers are swept at start-up whatever their age.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ListRootsResult, Root, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator.tls import make_tls_files
from gemini_mcp.media.store import MediaStore, RetentionPolicy, partial_owner
from gemini_mcp.media.url_fetch import AddressRefused, IPAddress, fetch_url, is_public_address
from gemini_mcp.server.app import build_server
from tests import media_samples
from tests.conftest import stdio_params
from tests.http_server import http_server
from tests.test_video import VERTEX

pytestmark = pytest.mark.anyio

TOKEN = "media-safety-token-0c4f7a9e2b6d"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    """The configured folder, with a file at its top and one in a sub-folder a client root can narrow to."""
    folder = tmp_path / "allowed"
    (folder / "project").mkdir(parents=True)
    (folder / "top.png").write_bytes(media_samples.png())
    (folder / "project" / "inner.png").write_bytes(media_samples.png())
    return folder


def roots_callback(*uris: str) -> Callable[[Any], Any]:
    async def roots(_: Any) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=uri) for uri in uris])

    return roots


async def analyze(client: Client, **media: str) -> CallToolResult:
    return await client.call_tool("analyze_media", {"question": "x", "media": [media]})


# --- 1. client roots narrow, never widen -------------------------------------------------------------------


@pytest.mark.filterwarnings("error::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_root_of_the_whole_disk_does_not_widen_the_configured_folder(
    make_env: Callable[..., dict[str, str]], allowed: Path
) -> None:
    server = build_server(Settings.from_env(make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed))))
    async with Client(server, mode="legacy", list_roots_callback=roots_callback("file:///")) as client:
        passwd = await analyze(client, path="/etc/passwd")
        inside = await analyze(client, path=str(allowed / "top.png"))
    assert passwd.is_error and "media[0].path" in text_of(passwd) and "outside the folders" in text_of(passwd)
    assert not inside.is_error, text_of(inside)


@pytest.mark.filterwarnings("error::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_narrower_root_narrows(make_env: Callable[..., dict[str, str]], allowed: Path) -> None:
    server = build_server(Settings.from_env(make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed))))
    root = roots_callback(f"file://{allowed / 'project'}")
    async with Client(server, mode="legacy", list_roots_callback=root) as client:
        outside_root = await analyze(client, path=str(allowed / "top.png"))
        inside_root = await analyze(client, path=str(allowed / "project" / "inner.png"))
        relative = await analyze(client, path="inner.png")  # relative paths start at the narrowed folder
    assert outside_root.is_error and "outside the folders" in text_of(outside_root)
    assert "narrowed by the client's roots" in text_of(outside_root)
    assert not inside_root.is_error, text_of(inside_root)
    assert not relative.is_error, text_of(relative)


async def test_roots_outside_every_configured_folder_leave_nothing(
    make_env: Callable[..., dict[str, str]], allowed: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "photo.png").write_bytes(media_samples.png())
    server = build_server(Settings.from_env(make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed))))
    async with Client(server, mode="legacy", list_roots_callback=roots_callback(f"file://{elsewhere}")) as client:
        in_root = await analyze(client, path=str(elsewhere / "photo.png"))
        configured = await analyze(client, path=str(allowed / "top.png"))
        data = await client.call_tool(
            "analyze_media", {"question": "x", "media": [{"data": base64.b64encode(media_samples.png()).decode()}]}
        )
    for refused in (in_root, configured):
        message = text_of(refused)
        assert refused.is_error and "media[0].path" in message
        assert str(elsewhere) in message and str(allowed) in message and "GEMINI_MCP_ALLOWED_DIRS" in message
    assert not data.is_error, text_of(data)  # only local paths are affected


@pytest.mark.parametrize("opted_in", [False, True])
async def test_over_http_roots_count_only_when_opted_in(
    make_env: Callable[..., dict[str, str]], allowed: Path, opted_in: bool
) -> None:
    env = make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed), GEMINI_MCP_HTTP_CLIENT_ROOTS=str(opted_in).lower())
    server = build_server(Settings.from_env(env, transport="http"))
    root = roots_callback("file:///", f"file://{allowed / 'project'}")
    async with Client(server, mode="legacy", list_roots_callback=root) as client:
        passwd = await analyze(client, path="/etc/passwd")
        top = await analyze(client, path=str(allowed / "top.png"))  # inside file:///'s share of the folder
        inner = await analyze(client, path=str(allowed / "project" / "inner.png"))
    assert passwd.is_error and "outside the folders" in text_of(passwd)
    assert not top.is_error, text_of(top)
    assert not inner.is_error, text_of(inner)


async def test_without_roots_support_the_configured_folders_hold(
    make_env: Callable[..., dict[str, str]], allowed: Path
) -> None:
    # The 2026-07-28 protocol has deprecated roots: the server must be right without them.
    server = build_server(Settings.from_env(make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed))))
    async with Client(server, mode="2026-07-28", list_roots_callback=roots_callback("file:///")) as client:
        passwd = await analyze(client, path="/etc/passwd")
        top = await analyze(client, path=str(allowed / "top.png"))
    assert passwd.is_error and "outside the folders" in text_of(passwd)
    assert not top.is_error, text_of(top)


@pytest.mark.slow
async def test_roots_over_stdio(make_env: Callable[..., dict[str, str]], allowed: Path) -> None:
    params = stdio_params(make_env(GEMINI_MCP_ALLOWED_DIRS=str(allowed)))
    async with Client(params, mode="legacy", list_roots_callback=roots_callback("file:///")) as client:
        passwd = await analyze(client, path="/etc/passwd")
        top = await analyze(client, path=str(allowed / "top.png"))
    narrow = roots_callback(f"file://{allowed / 'project'}")
    async with Client(params, mode="legacy", list_roots_callback=narrow) as client:
        outside_root = await analyze(client, path=str(allowed / "top.png"))
        inside_root = await analyze(client, path=str(allowed / "project" / "inner.png"))
    assert passwd.is_error and "outside the folders" in text_of(passwd)
    assert not top.is_error, text_of(top)
    assert outside_root.is_error and "outside the folders" in text_of(outside_root)
    assert not inside_root.is_error, text_of(inside_root)


@pytest.mark.slow
@pytest.mark.parametrize("opted_in", [False, True])
async def test_roots_over_authenticated_http(
    make_env: Callable[..., dict[str, str]], allowed: Path, opted_in: bool
) -> None:
    env = make_env(
        GEMINI_MCP_ALLOWED_DIRS=str(allowed),
        GEMINI_MCP_AUTH_TOKEN=TOKEN,
        GEMINI_MCP_HTTP_CLIENT_ROOTS=str(opted_in).lower(),
    )
    results: dict[str, CallToolResult] = {}
    with http_server(dict(env)) as server:
        for label, root in (("disk", "file:///"), ("narrow", f"file://{allowed / 'project'}")):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
                Client(
                    streamable_http_client(server.url, http_client=http),
                    mode="legacy",
                    list_roots_callback=roots_callback(root),
                ) as client,
            ):
                results[f"{label} passwd"] = await analyze(client, path="/etc/passwd")
                results[f"{label} top"] = await analyze(client, path=str(allowed / "top.png"))
                results[f"{label} inner"] = await analyze(client, path=str(allowed / "project" / "inner.png"))
    assert results["disk passwd"].is_error and "outside the folders" in text_of(results["disk passwd"])
    assert results["narrow passwd"].is_error
    assert not results["disk top"].is_error, text_of(results["disk top"])
    assert not results["disk inner"].is_error and not results["narrow inner"].is_error
    # A narrower root narrows over HTTP only when the operator opted in.
    assert results["narrow top"].is_error is opted_in, text_of(results["narrow top"])


# --- 2. URLs: resolved once per hop, connected to the checked address -------------------------------------


@dataclass
class Site:
    """A tiny web server on one loopback address: fixed answers by path, and the Host headers it saw."""

    host: str
    port: int = 0
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hosts_seen: list[str] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> Site:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hosts_seen.append(self.headers.get("host", ""))
                status, headers, body = site.routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in {"content-length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextlib.contextmanager
def twin_sites(**routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[tuple[Site, Site]]:
    """127.0.0.2 and 127.0.0.1 on the same port, so a name rebinding from one to the other would reach it."""
    for _ in range(20):
        first = Site("127.0.0.2", routes=routes["first"]).start()
        try:
            second = Site("127.0.0.1", port=first.port, routes=routes["second"]).start()
        except OSError:
            first.stop()
            continue
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()
        return
    pytest.skip("no port free on both 127.0.0.1 and 127.0.0.2")


class ScriptedResolver:
    """Answers each name from a script, one answer per lookup (the last repeats), and records the lookups."""

    def __init__(self, **answers: list[str]) -> None:
        self.answers = {name.replace("_", "."): list(values) for name, values in answers.items()}
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        values = self.answers[host]
        return [values.pop(0) if len(values) > 1 else values[0]]


def public_or_127_0_0_2(address: IPAddress) -> bool:
    """The test's stand-in for a public address is 127.0.0.2; everything else follows the real rule."""
    return address == ipaddress.ip_address("127.0.0.2") or is_public_address(address)


async def test_a_rebinding_name_is_fetched_from_the_address_that_was_checked() -> None:
    routes = {"/media": (200, {"content-type": "image/png"}, media_samples.png())}
    secret = {"/media": (200, {}, b"internal secret")}
    with twin_sites(first=routes, second=secret) as (public, internal):
        resolve = ScriptedResolver(rebind_test=["127.0.0.2", "127.0.0.1"])
        fetched = await fetch_url(
            f"http://rebind.test:{public.port}/media",
            max_bytes=1 << 20,
            timeout_s=10,
            resolve=resolve,
            allow=public_or_127_0_0_2,
        )
    assert fetched.data == media_samples.png()
    assert resolve.lookups == [("rebind.test", public.port)]  # once: nothing looked the name up again
    assert public.hosts_seen == [f"rebind.test:{public.port}"] and internal.hosts_seen == []


async def test_every_redirect_hop_is_resolved_once_and_checked() -> None:
    hop = {"/start": (302, {"location": "/next"}, b""), "/next": (200, {}, media_samples.png())}
    with twin_sites(first=hop, second=hop) as (public, internal):
        resolve = ScriptedResolver(rebind_test=["127.0.0.2", "127.0.0.1"])
        with pytest.raises(AddressRefused) as refused:
            await fetch_url(
                f"http://rebind.test:{public.port}/start",
                max_bytes=1 << 20,
                timeout_s=10,
                resolve=resolve,
                allow=public_or_127_0_0_2,
            )
    assert refused.value.address == "127.0.0.1"
    assert resolve.lookups == [("rebind.test", public.port)] * 2
    assert len(public.hosts_seen) == 1 and internal.hosts_seen == []


async def test_a_redirect_to_the_metadata_address_is_refused() -> None:
    with twin_sites(first={"/": (302, {"location": "http://metadata.test/latest/meta-data/"}, b"")}, second={}) as (
        public,
        _,
    ):
        resolve = ScriptedResolver(public_test=["127.0.0.2"], metadata_test=["169.254.169.254"])
        with pytest.raises(AddressRefused) as refused:
            await fetch_url(
                f"http://public.test:{public.port}/",
                max_bytes=1 << 20,
                timeout_s=10,
                resolve=resolve,
                allow=public_or_127_0_0_2,
            )
    assert "169.254.169.254" in str(refused.value) and "metadata.test" in str(refused.value)
    assert [host for host, _ in resolve.lookups] == ["public.test", "metadata.test"]


async def test_tls_verifies_the_name_while_connecting_to_the_pinned_address(tmp_path: Path) -> None:
    # The certificate names "localhost" only: the handshake succeeds only if SNI and verification use the
    # name, while the connection goes to 127.0.0.2, where the name does not point.
    files = make_tls_files(tmp_path / "tls")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(files.cert_file, files.key_file)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    site = Site("127.0.0.2", routes={"/a.png": (200, {}, media_samples.png())}, tls=server_tls).start()
    try:
        resolve = ScriptedResolver(localhost=["127.0.0.2"])
        fetched = await fetch_url(
            f"https://localhost:{site.port}/a.png",
            max_bytes=1 << 20,
            timeout_s=10,
            resolve=resolve,
            allow=public_or_127_0_0_2,
            ssl_context=ssl.create_default_context(cafile=files.ca_file),
        )
    finally:
        site.stop()
    assert fetched.data == media_samples.png()
    assert names == ["localhost"] and site.hosts_seen == [f"localhost:{site.port}"]


async def test_a_name_resolving_to_an_ipv4_mapped_loopback_is_refused() -> None:
    resolve = ScriptedResolver(sneaky_test=["::ffff:127.0.0.1"])
    with pytest.raises(AddressRefused):
        await fetch_url("http://sneaky.test/", max_bytes=1 << 20, timeout_s=10, resolve=resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]:1/x.png",  # IPv4-mapped loopback
        "http://[::ffff:a9fe:a9fe]/latest",  # IPv4-mapped 169.254.169.254
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[2002:7f00:1::1]/x",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/x",  # IPv4-compatible loopback
        "http://[fd12:3456::1]/x",  # unique local
        "http://[fe80::1]/x",  # link-local
        "http://[::1]/x",
        "http://[::]/x",
        "http://0.0.0.0/x",
        "http://10.1.2.3/x",
        "http://224.0.0.251/x",  # multicast
    ],
)
async def test_private_address_forms_are_refused(make_client: Callable[..., Client], url: str) -> None:
    async with make_client() as client:
        result = await analyze(client, url=url)
    assert result.is_error and "media[0].url" in text_of(result)
    assert "private or local address" in text_of(result) and "GEMINI_MCP_ALLOW_PRIVATE_URLS" in text_of(result)


async def test_allowing_private_urls_still_fetches_through_the_pinned_path(make_client: Callable[..., Client]) -> None:
    site = Site("127.0.0.1", routes={"/p.png": (200, {}, media_samples.png())}).start()
    try:
        async with make_client(GEMINI_MCP_ALLOW_PRIVATE_URLS="true") as client:
            result = await analyze(client, url=f"http://localhost:{site.port}/p.png")
    finally:
        site.stop()
    assert not result.is_error, text_of(result)
    assert site.hosts_seen == [f"localhost:{site.port}"]


# --- 3. odd inputs are tool errors naming the field --------------------------------------------------------


@pytest.fixture
def odd_files(allowed: Path) -> Path:
    os.mkfifo(allowed / "pipe.png")
    unreadable = allowed / "locked.png"
    unreadable.write_bytes(media_samples.png())
    unreadable.chmod(0)
    return allowed


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        ({"path": "pho\x00to.png"}, ["media[0].path", "NUL"]),
        ({"path": "a" * 5000}, ["media[0].path", "too long"]),
        ({"path": "b" * 300 + ".png"}, ["media[0].path", "too long"]),
        ({"path": "project"}, ["media[0].path", "is a folder"]),
        ({"path": "pipe.png"}, ["media[0].path", "not a regular file"]),
        ({"path": "~no-such-user-3f9a/x.png"}, ["media[0].path", "cannot be resolved"]),
        ({"path": "   "}, ["media[0].path", "empty"]),
        ({"url": "http://[::1"}, ["media[0].url", "not a valid URL"]),
        ({"url": "http://a:99999/"}, ["media[0].url", "port 99999", "1-65535"]),
        ({"url": "http:///x.png"}, ["media[0].url", "no host"]),
        ({"url": "gopher://example.com/"}, ["media[0].url", "only http and https"]),
        ({"url": "http://exa\x00mple.com/"}, ["media[0].url", "not a valid URL"]),
        ({"file_uri": "http://[::1"}, ["media[0].file_uri", "not a Gemini file URI"]),
    ],
)
async def test_odd_inputs_are_clear_tool_errors(
    make_client: Callable[..., Client], odd_files: Path, media: dict[str, str], expected: list[str]
) -> None:
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(odd_files)) as client:
        result = await client.call_tool("analyze_media", {"question": "x", "media": [media]})
    message = text_of(result)
    assert result.is_error and "unexpectedly" not in message
    for words in expected:
        assert words in message, message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
async def test_an_unreadable_file_is_a_clear_tool_error(make_client: Callable[..., Client], odd_files: Path) -> None:
    async with make_client(GEMINI_MCP_ALLOWED_DIRS=str(odd_files)) as client:
        result = await analyze(client, path="locked.png")
    assert result.is_error and "media[0].path" in text_of(result) and "permission denied" in text_of(result)


async def test_the_field_is_named_for_other_tools_too(make_client: Callable[..., Client]) -> None:
    async with make_client(**VERTEX) as client:
        result = await client.call_tool("generate_video", {"prompt": "a fox", "image": {"url": "http://[::1"}})
    assert result.is_error and "image.url" in text_of(result) and "not a valid URL" in text_of(result)


# --- 4. crash leftovers -----------------------------------------------------------------------------------


def dead_pid() -> int:
    """The PID of a process that has surely exited (spawned and reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def leftover(folder: Path, name: str, size: int = 1000, age_s: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\0" * size)
    if age_s:
        os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The PID of another process that runs for the whole test (a replica sharing the folder)."""
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as process:
        yield process.pid
        assert process.stdin is not None
        process.stdin.close()


async def test_a_dead_writers_leftovers_are_swept_at_start_whatever_their_age(
    make_client: Callable[..., Client], make_env: Callable[..., dict[str, str]], live_pid: int
) -> None:
    media = Path(make_env()["GEMINI_MCP_OUTPUT_DIR"])
    dead = partial_owner(dead_pid())
    gone = [
        leftover(media, f".20261125-041700-video-a-fox-0123abcd.mp4.{dead}.partial", size=23_000_000),
        leftover(media, f".offload-0123456789abcdef.{dead}.partial"),
        # Our PID, an earlier run: in a container the server is PID 1 after every restart.
        leftover(media, f".offload-00112233aabbccdd.{partial_owner(run='000000')}.partial"),
        leftover(media, ".offload-fedcba9876543210.partial", age_s=7200),  # an older version's, stale
    ]
    kept = [
        leftover(media, f".20261125-041700-image-x-4567cdef.png.{partial_owner()}.partial"),  # ours
        leftover(media, f".offload-aaaabbbbccccdddd.{partial_owner(live_pid)}.partial"),  # a live replica
        leftover(media, f".offload-1111222233334444.p{dead_pid()}-0badc0de-abcdef.partial"),  # another host
        leftover(media, ".offload-9999888877776666.partial"),  # an older version's, recent
    ]
    async with make_client() as client:
        await client.list_tools()
    assert [p.name for p in gone if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []


@pytest.mark.skipif(sys.platform == "win32", reason="no flock")
def test_a_locked_partial_is_kept_whatever_its_name_says(tmp_path: Path) -> None:
    # Containers given the same host name share PID numbers but not PIDs: the writer's lock settles it.
    import fcntl

    path = leftover(tmp_path, f".offload-0123456789abcdef.{partial_owner(dead_pid())}.partial", age_s=7200)
    with path.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert MediaStore(tmp_path).sweep_partials() == 0 and path.exists()
    assert MediaStore(tmp_path).sweep_partials() == 1 and not path.exists()


async def test_retention_counts_files_still_being_written(tmp_path: Path) -> None:
    png = media_samples.png()
    store = MediaStore(tmp_path, retention=RetentionPolicy(max_total_bytes=3 * len(png), max_age_s=3600))
    older = await store.save(png, mime_type="image/png", kind="image", hint="older")
    os.utime(older.path, (time.time() - 60, time.time() - 60))
    writing = leftover(tmp_path, f".20261125-041700-video-x-0123abcd.mp4.{partial_owner()}.partial", len(png) * 2)
    newest = await store.save(png, mime_type="image/png", kind="image", hint="newest")
    assert not Path(older.path).exists()  # 1 + 2 (being written) + 1 > 3
    assert Path(newest.path).exists() and writing.exists()


WRITER = """
import sys, anyio
from pathlib import Path
from gemini_mcp.gemini.offload import InlineMediaOffloader
from gemini_mcp.media.store import MediaStore

async def main():
    folder = Path(sys.argv[1])
    offloader = InlineMediaOffloader(folder)
    await offloader.feed(b'{"videos": [{"bytesBase64Encoded": "' + b"AAAA" * 100_000)
    async with MediaStore(folder).writer(mime_type="video/mp4", kind="video", hint="killed") as write:
        await write(b"half a video" * 100_000)
        print("writing", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)

anyio.run(main)
"""


@pytest.mark.slow
def test_leftovers_of_a_process_killed_mid_write_are_gone_after_a_restart(
    make_env: Callable[..., dict[str, str]],
) -> None:
    env = make_env()
    media = Path(env["GEMINI_MCP_OUTPUT_DIR"])
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(media)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    partials = sorted(media.glob(".*.partial"))
    assert len(partials) == 2 and all(p.stat().st_size > 0 for p in partials)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    params = stdio_params(env)
    server = subprocess.Popen(
        [params.command, *params.args],
        env=params.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(
            '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
            '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
        )
        server.stdin.flush()
        assert '"id":1' in server.stdout.readline().replace(" ", "")  # started: the sweep has run
        assert list(media.glob(".*.partial")) == []
    finally:
        server.terminate()
        server.wait(timeout=10)
