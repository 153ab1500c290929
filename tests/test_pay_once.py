"""Never pay twice: a paid create (Veo's predictLongRunning) goes out again only when it provably never reached
the API, and the operation name reaches the client as soon as it exists, so a cut-off call can be collected
instead of started again."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import ByteStream, SocketAttribute
from mcp import Client
from mcp_types import CallToolResult, LoggingMessageNotificationParams, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.tls import TlsFiles, make_tls_files
from gemini_mcp.gemini.transport import PaidCreate, paid_create
from gemini_mcp.server.app import build_server
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
VERTEX = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": FAKE_KEY,
    "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05",
    "GEMINI_MCP_RETRY_DELAY": "0.01",
    "GEMINI_MCP_RETRIES": "3",
}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def creates(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests() if r["rpc"] == "predictLongRunning")


@pytest.fixture
def veo(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> Callable[..., Client]:
    emulator.configure(operation_duration_s=0)  # done at the first poll

    def make(logging_callback: Any = None, **env: str | None) -> Client:
        settings = Settings.from_env(make_env(**{**VERTEX, **env}))
        if logging_callback is None:
            return Client(build_server(settings))
        return Client(build_server(settings), logging_callback=logging_callback, log_level="warning")

    return make


def assert_may_have_started(message: str) -> None:
    assert "not sent again" in message and "billed" in message, message
    assert "Google Cloud console" in message and "generate_video again" in message, message
    assert FAKE_KEY not in message


# --- what reached the API is never sent again ---------------------------------------------------------------
async def test_a_create_answered_503_is_sent_once_and_explained(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="predictLongRunning", status=503, message="The model is overloaded.", times=None)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "a lighthouse in a storm"})
        emulator.clear()
        still = await client.call_tool("generate_video", {"prompt": "calm sea", "wait": False})
    assert result.is_error
    assert creates(emulator) == 1  # only the second call's create, after clear(): the failed one went out once
    message = text_of(result)
    assert "503" in message and "The model is overloaded" in message and "may have started" in message
    assert_may_have_started(message)
    assert "gave up after" not in message  # it was sent once, and the message does not pretend otherwise
    assert not still.is_error


async def test_exactly_one_create_reaches_the_api_after_a_503(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="predictLongRunning", status=503, times=None)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert result.is_error and creates(emulator) == 1


@pytest.mark.parametrize("status", [500, 502, 504, 408])
async def test_other_statuses_that_would_be_retried_are_not_for_a_create(
    veo: Callable[..., Client], emulator: Emulator, status: int
) -> None:
    emulator.add_fault(match="predictLongRunning", status=status, times=None)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert result.is_error and str(status) in text_of(result)
    assert creates(emulator) == 1


async def test_an_accepted_create_whose_answer_breaks_off_is_not_sent_again(
    veo: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="predictLongRunning", reset=True, times=None)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert result.is_error and creates(emulator) == 1
    message = text_of(result)
    assert "answered 200" in message and "most likely started" in message and "broke off" in message
    assert_may_have_started(message)


async def test_a_create_with_no_answer_in_time_is_not_sent_again(
    veo: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="predictLongRunning", hold=True, times=None)  # accepted, never answered
    async with veo(GEMINI_MCP_TIMEOUT="0.3") as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert result.is_error and creates(emulator) == 1
    message = text_of(result)
    assert "GEMINI_MCP_TIMEOUT" in message and "after the request was sent" in message
    assert_may_have_started(message)


# --- what provably did not reach it is retried --------------------------------------------------------------
async def test_a_create_answered_429_is_retried(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="predictLongRunning", status=429, times=1)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    assert not result.is_error, text_of(result)
    assert creates(emulator) == 2 and result.structured_content["status"] == "done"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens here once the socket is closed


async def test_a_refused_connection_is_retried_and_says_nothing_was_started(veo: Callable[..., Client]) -> None:
    warnings: list[str] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        warnings.append(str(params.data))

    url = f"http://127.0.0.1:{closed_port()}"
    async with veo(on_log, GOOGLE_VERTEX_BASE_URL=url, GOOGLE_GEMINI_BASE_URL=url) as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    message = text_of(result)
    assert result.is_error and "gave up after 3 attempts" in message
    assert "never left this machine" in message and "nothing was started or billed" in message
    connect_warnings = [w for w in warnings if "Could not connect" in w]
    assert [w.split("(attempt ")[1].split(")")[0] for w in connect_warnings] == ["1 of 3", "2 of 3", "3 of 3"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_emulator(tls: TlsFiles) -> Iterator[Emulator]:
    with Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as emulator:
        yield emulator


@asynccontextmanager
async def front_dropping_first_connection(target_port: int) -> AsyncIterator[tuple[int, list[str]]]:
    """A TCP relay to `target_port` that closes its first connection at once, before the TLS handshake ends:
    the client fails while connecting, before a byte of its HTTP request was written."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    connections: list[str] = []

    async def pump(source: ByteStream, sink: ByteStream) -> None:
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            async for chunk in source:
                await sink.send(chunk)
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await sink.send_eof()

    async def relay(client: ByteStream) -> None:
        async with client:
            if not connections:
                connections.append("dropped")
                return
            connections.append("relayed")
            async with await anyio.connect_tcp("127.0.0.1", target_port) as upstream, anyio.create_task_group() as tg:
                tg.start_soon(pump, client, upstream)
                tg.start_soon(pump, upstream, client)

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, relay)
        yield port, connections
        group.cancel_scope.cancel()


async def test_a_connection_cut_during_the_handshake_is_retried_and_makes_one_video(
    make_env: Callable[..., dict[str, str]], tls: TlsFiles, tls_emulator: Emulator
) -> None:
    tls_emulator.clear()
    tls_emulator.configure(operation_duration_s=0)
    async with front_dropping_first_connection(tls_emulator.port) as (port, connections):
        url = f"https://127.0.0.1:{port}"
        env = make_env(**{**VERTEX, "GOOGLE_VERTEX_BASE_URL": url, "GEMINI_MCP_CA_FILE": tls.ca_file})
        async with Client(build_server(Settings.from_env(env))) as client:
            result = await client.call_tool("generate_video", {"prompt": "a paper plane"})
    assert not result.is_error, text_of(result)
    assert connections[0] == "dropped" and "relayed" in connections
    assert creates(tls_emulator) == 1 and result.structured_content["status"] == "done"
    tls_emulator.clear()


# --- the operation name is out as soon as it exists -------------------------------------------------------
async def test_the_operation_name_is_in_the_first_progress_message_and_the_log(
    veo: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gemini_mcp.tools.video")
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "a fox in snow"}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    name = result.structured_content["operation_name"]
    assert "/operations/" in name
    assert name in messages[0] and "get_video_operation" in messages[0]
    started = [r for r in caplog.records if r.levelno == logging.INFO and name in r.getMessage()]
    assert started and "started" in started[0].getMessage()


async def test_cancelling_a_waiting_generate_video_logs_the_operation(
    veo: Callable[..., Client], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gemini_mcp.tools.video")
    emulator.configure(hold_operations=True)
    first: list[str] = []
    running = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        first.append(message or "")
        running.set()

    async with veo() as client, anyio.create_task_group() as group:

        async def wait_for_video() -> None:
            await client.call_tool("generate_video", {"prompt": "never ends"}, progress_callback=on_progress)

        group.start_soon(wait_for_video)
        await running.wait()
        group.cancel_scope.cancel()
    # Leaving the client closed the server, so the cancelled call has finished and logged by now.
    [name] = [word for word in first[0].split() if "/operations/" in word]
    cut = [r for r in caplog.records if r.levelno == logging.WARNING and "cut off" in r.getMessage()]
    assert cut and name in cut[0].getMessage() and "get_video_operation" in cut[0].getMessage()
    assert creates(emulator) == 1


async def test_an_error_after_the_start_says_how_to_collect_instead_of_paying_again(
    veo: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="fetchPredictOperation", status=503, times=None)
    async with veo() as client:
        result = await client.call_tool("generate_video", {"prompt": "x"})
    message = text_of(result)
    assert result.is_error and "gave up after 3 attempts" in message
    [name] = [op for op in emulator.state.operations]
    assert f"get_video_operation(operation_name='{name}')" in message and "bill" in message
    assert creates(emulator) == 1


async def test_the_call_deadline_names_the_operation_to_collect(veo: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    # Polls that hang past the request timeout: the call's own deadline (video deadline + timeout) ends it.
    emulator.add_fault(match="fetchPredictOperation", hold=True, times=None)
    async with veo(GEMINI_MCP_VIDEO_DEADLINE="0.2", GEMINI_MCP_TIMEOUT="0.2", GEMINI_MCP_RETRIES="1") as client:
        result = await client.call_tool("generate_video", {"prompt": "slow"})
    message = text_of(result)
    [name] = [op for op in emulator.state.operations]
    assert result.is_error and name in message and "get_video_operation" in message
    assert creates(emulator) == 1


# --- one declaration opts a create in ------------------------------------------------------------------------
def test_a_paid_create_is_recognised_by_path_and_by_body_flag(tmp_path: Path) -> None:
    veo = httpx2.Request("POST", "https://x/v1beta1/publishers/google/models/veo-3.1:predictLongRunning", json={})
    poll = httpx2.Request("POST", "https://x/v1beta1/publishers/google/models/veo-3.1:fetchPredictOperation")
    assert paid_create(veo) is not None and paid_create(poll) is None
    background = PaidCreate("a background interaction", "/interactions", check="list them", body_flag="background")
    started = httpx2.Request("POST", "https://x/v1beta/interactions", json={"model": "m", "background": True})
    quick = httpx2.Request("POST", "https://x/v1beta/interactions", json={"model": "m", "background": False})
    cancel = httpx2.Request("POST", "https://x/v1beta/interactions/abc/cancel", json={"background": True})
    assert background.matches(started) and not background.matches(quick) and not background.matches(cancel)
