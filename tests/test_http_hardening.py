"""HTTP that cannot be abused, redacts everything and shuts down gracefully: SIGTERM lets running calls finish
(and answers the ones that outlast the grace with a JSON-RPC error), rate limits key on who the caller is,
sessions are bounded and expire, /readyz is cached, and no log line or health answer carries a secret."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import anyio
import jwt
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from gemini_mcp.emulator import Emulator
from gemini_mcp.server.ratelimit import TokenBuckets
from tests.conftest import FAKE_KEY
from tests.http_server import RunningServer, http_server
from tests.test_http_security import issuer, post  # noqa: F401  (issuer: the OAuth fixture)

TOKEN = "hardening-token-3b9e1f07c4d2a856"


def bearer(oauth: dict[str, Any], audience: str, subject: str, nonce: int = 0) -> str:
    """A valid access token for `subject`; a different `nonce` makes a different token for the same caller."""
    now = int(time.time())
    claims = {"iss": oauth["issuer"], "aud": audience, "sub": subject, "iat": now, "exp": now + 300, "jti": str(nonce)}
    return "Bearer " + jwt.encode(claims, oauth["key"], algorithm="RS256", headers={"kid": "test-key"})


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def poll(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    """Wait until `condition()` holds, checking every few milliseconds; fail after `timeout_s`. Only for a
    server timer that is the subject of a test (idle sessions expiring), never for the emulator."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.02)


async def draining(server: RunningServer) -> None:
    """Until the server (another process, whose stderr is only read at its exit) says on /readyz that it is
    draining: polling its answer, as a load balancer does; the deadline only stops a hang."""
    deadline = time.monotonic() + 30
    while (await anyio.to_thread.run_sync(get, f"{server.base}/readyz"))[0] != 503:
        assert server.process.poll() is None, "the server exited before it reported the drain"
        assert time.monotonic() < deadline, "/readyz never reported the drain"
        await anyio.sleep(0.02)


async def exit_code(server: RunningServer) -> int:
    return await anyio.to_thread.run_sync(lambda: server.process.wait(timeout=60))


# Graceful shutdown ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_sigterm_lets_every_call_in_flight_finish_with_its_result(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, mode: str
) -> None:
    emulator.add_fault(match="generateContent", hold=True, times=4)  # in flight until released
    results: dict[int, Any] = {}
    with http_server(make_env(GEMINI_MCP_SHUTDOWN_GRACE="30")) as server:
        async with Client(server.url, mode=mode) as client:
            await client.list_tools()  # as agents do; the client also checks results against these schemas

            async def call(index: int) -> None:
                results[index] = await client.call_tool("generate_text", {"prompt": f"slow call {index}"})

            async with anyio.create_task_group() as group:
                for index in range(4):
                    group.start_soon(call, index)
                await emulator.await_requests("generateContent", 4)
                server.process.send_signal(signal.SIGTERM)
                await draining(server)
                emulator.release_held()  # the calls end during the drain
        code = await exit_code(server)
    assert sorted(results) == [0, 1, 2, 3]
    for index, result in results.items():
        assert not result.is_error and f"slow call {index}" in result.content[0].text
    assert code == 0
    assert "Traceback" not in server.stderr and FAKE_KEY not in server.stderr


@pytest.mark.anyio
async def test_a_call_outlasting_the_grace_gets_a_jsonrpc_error_and_new_calls_are_refused(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    outcome: list[BaseException] = []
    with http_server(make_env(GEMINI_MCP_SHUTDOWN_GRACE="3")) as server:
        async with Client(server.url) as client:
            await client.list_tools()

            async def call() -> None:
                try:
                    await client.call_tool("generate_text", {"prompt": "longer than the grace"})
                except MCPError as error:
                    outcome.append(error)

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await emulator.await_requests("generateContent", 1)
                server.process.send_signal(signal.SIGTERM)
                await draining(server)
                refused = await anyio.to_thread.run_sync(post, server.url)
        code = await exit_code(server)
    [error] = outcome
    assert "shut down" in str(error) and "GEMINI_MCP_SHUTDOWN_GRACE=3" in str(error)
    status, _, body = refused
    assert status == 503 and "shutting down" in json.loads(body)["error"]["message"]
    assert code == 0


@pytest.mark.anyio
async def test_a_second_signal_ends_the_grace_at_once(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    outcome: list[BaseException] = []
    with http_server(make_env(GEMINI_MCP_SHUTDOWN_GRACE="600")) as server:
        async with Client(server.url, mode="2026-07-28") as client:
            await client.list_tools()

            async def call() -> None:
                try:
                    await client.call_tool("generate_text", {"prompt": "stopped by the second signal"})
                except MCPError as error:
                    outcome.append(error)

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await emulator.await_requests("generateContent", 1)
                server.process.send_signal(signal.SIGTERM)
                await draining(server)
                server.process.send_signal(signal.SIGTERM)
        code = await exit_code(server)
    [error] = outcome
    assert "second signal" in str(error)
    assert code == 0


def test_an_idle_server_stops_at_once_on_sigint(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env()) as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0
    assert "no calls in flight" in server.stderr


# Rate limits ------------------------------------------------------------------------------------------


def test_guessing_tokens_is_limited_by_address(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env(GEMINI_MCP_AUTH_TOKEN=TOKEN, GEMINI_MCP_RATE_LIMIT="3")) as server:
        guesses = [post(server.url, authorization=f"Bearer guess-{n}") for n in range(6)]
    assert [status for status, _, _ in guesses] == [401, 401, 401, 429, 429, 429]
    _, headers, body = guesses[-1]
    assert int(headers.get("retry-after", headers.get("Retry-After", "0"))) >= 1
    assert "GEMINI_MCP_RATE_LIMIT" in json.loads(body)["error"]["message"]


def test_authenticated_callers_each_have_their_own_budget(
    make_env: Callable[..., dict[str, str]],
    issuer: dict[str, Any],  # noqa: F811
) -> None:
    audience = "https://mcp.example/mcp"
    env = make_env(
        GEMINI_MCP_OAUTH_ISSUER=issuer["issuer"],
        GEMINI_MCP_OAUTH_JWKS_URL=issuer["jwks_url"],
        GEMINI_MCP_OAUTH_AUDIENCE=audience,
        GEMINI_MCP_RATE_LIMIT="3",
    )
    with http_server(env) as server:
        # Every token of one caller draws on one budget; another caller at the same address has its own.
        first = [post(server.url, authorization=bearer(issuer, audience, "agent-1", n))[0] for n in range(4)]
        second = [post(server.url, authorization=bearer(issuer, audience, "agent-2"))[0] for _ in range(4)]
        health = [get(f"{server.base}/healthz")[0] for _ in range(4)]
        third = post(server.url, authorization=bearer(issuer, audience, "agent-3"))[0]
    assert first == second == [200, 200, 200, 429]
    assert health == [200, 200, 200, 429]  # the public paths: by address, in a budget of their own
    assert third == 200


def test_buckets_expire_without_scanning_and_stay_bounded() -> None:
    now = [1000.0]
    buckets = TokenBuckets(per_minute=2, max_buckets=100, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0, 0] and buckets.take("a") == 30
    for n in range(1000):
        buckets.take(f"guess-{n}")
    assert len(buckets) == 100  # the least recently used go first
    now[0] += 60  # a full refill period later every bucket is as good as new: all are dropped
    assert buckets.take("b") == 0 and len(buckets) == 1


# Sessions ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_sessions_are_bounded_and_idle_ones_are_released(make_env: Callable[..., dict[str, str]]) -> None:
    env = make_env(GEMINI_MCP_HTTP_MAX_SESSIONS="1", GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES="0.02")
    with http_server(env) as server:
        opened = post(server.url)
        full = post(server.url)
        await poll(lambda: post(server.url)[0] == 200, "the idle session to be closed, making room")
    assert opened[0] == 200 and opened[1].get("mcp-session-id")
    status, _, body = full
    message = json.loads(body)["error"]["message"]
    assert status == 503
    assert "GEMINI_MCP_HTTP_MAX_SESSIONS" in message and "limit of 1 open" in message
    assert "GEMINI_MCP_HTTP_SESSION_IDLE_MINUTES" in message and "0.02 minutes" in message


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, as the MCP client raises them from its task groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


@pytest.mark.anyio
async def test_a_client_sees_why_the_server_is_full(make_env: Callable[..., dict[str, str]]) -> None:
    refused: list[BaseException] = []
    with http_server(make_env(GEMINI_MCP_HTTP_MAX_SESSIONS="1")) as server:
        async with Client(server.url, mode="legacy") as first:
            try:
                async with Client(server.url, mode="legacy"):
                    pass
            except Exception as error:
                refused = leaves(error)
            still_served = await first.call_tool("count_tokens", {"prompt": "the first session still works"})
    [error] = refused
    assert isinstance(error, MCPError) and "GEMINI_MCP_HTTP_MAX_SESSIONS" in str(error)
    assert not still_served.is_error


# Readiness and redaction ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_burst_of_readyz_makes_one_upstream_probe(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    with http_server(make_env()) as server:
        answers: list[tuple[int, dict[str, Any]]] = []

        async def probe() -> None:
            answers.append(await anyio.to_thread.run_sync(get, f"{server.base}/readyz"))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(probe)
    assert [status for status, _ in answers] == [200] * 20
    assert sum(1 for request in emulator.requests() if request["path"] == "/") == 1


@pytest.mark.anyio
async def test_readyz_never_shows_proxy_credentials(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    with_credentials = f"http://proxy-user:pr0xy-pa55word@127.0.0.1:{emulator.port}"
    with http_server(make_env(GOOGLE_GEMINI_BASE_URL=with_credentials)) as server:
        ready = await anyio.to_thread.run_sync(get, f"{server.base}/readyz")
    with http_server(make_env(GOOGLE_GEMINI_BASE_URL="http://proxy-user:pr0xy-pa55word@127.0.0.1:9")) as server:
        unready = await anyio.to_thread.run_sync(get, f"{server.base}/readyz")
    assert ready[0] == 200 and unready[0] == 503
    for _, answer in (ready, unready):
        assert "pr0xy-pa55word" not in json.dumps(answer) and "proxy-user" not in json.dumps(answer)
        assert "http://[REDACTED]@127.0.0.1:" in answer["upstream"]
    assert "pr0xy-pa55word" not in server.stderr


def test_access_log_masks_credentials_in_query_strings(make_env: Callable[..., dict[str, str]]) -> None:
    with http_server(make_env()) as server:
        link = get(f"{server.base}/media/0123456789ab?exp=1&sig=SIGNATURE-s3cr3t")
        token_in_url = post(f"{server.url}?access_token=TOKEN-s3cr3t&key={FAKE_KEY}")
    assert link[0] == 403 and token_in_url[0] == 200
    log = server.stderr
    assert "SIGNATURE-s3cr3t" not in log and "TOKEN-s3cr3t" not in log and FAKE_KEY not in log
    assert '"GET /media/0123456789ab?exp=1&sig=[REDACTED] HTTP/1.1" 403' in log  # still logged, at INFO
    assert '"POST /mcp?access_token=[REDACTED]&key=[REDACTED] HTTP/1.1" 200' in log
    assert "INFO uvicorn.access" in log
