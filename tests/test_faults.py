"""Fault injection: every upstream misbehaviour ends in success after retry or a clear tool error, and the
server keeps serving."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
FAST_RETRIES = {"GEMINI_MCP_RETRY_DELAY": "0.01", "GEMINI_MCP_RETRIES": "3"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def calls(emulator: Emulator, rpc: str = "generateContent") -> int:
    return sum(1 for r in emulator.requests() if r["rpc"] == rpc)


@pytest.fixture
def resilient(make_client: Callable[..., Client]) -> Callable[..., Client]:
    def make(**env: str | None) -> Client:
        return make_client(**{**FAST_RETRIES, **env})

    return make


async def still_serves(client: Client) -> None:
    result = await client.call_tool("generate_text", {"prompt": "are you still there?"})
    assert not result.is_error, text_of(result)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 408])
async def test_transient_statuses_are_retried_until_success(
    resilient: Callable[..., Client], emulator: Emulator, status: int
) -> None:
    emulator.add_fault(match="generateContent", status=status, times=2)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "retry me"})
    assert not result.is_error, text_of(result)
    assert calls(emulator) == 3


async def test_retry_after_is_honoured(resilient: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", status=429, headers={"Retry-After": "1"}, times=1)
    async with resilient() as client:
        started = time.monotonic()
        result = await client.call_tool("generate_text", {"prompt": "slow down"})
        elapsed = time.monotonic() - started
    assert not result.is_error and elapsed >= 1.0
    assert calls(emulator) == 2


async def test_exhausted_retries_say_what_happened_and_what_to_do(
    resilient: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", status=429, message="Quota exceeded", times=None)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
        emulator.clear()
        await still_serves(client)
    assert result.is_error
    message = text_of(result)
    assert "429" in message and "Quota exceeded" in message and "gave up after 3 attempts" in message
    assert "rate-limits" in message


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_never_retried(
    resilient: Callable[..., Client], emulator: Emulator, status: int
) -> None:
    emulator.add_fault(match="generateContent", status=status, times=None)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
    assert result.is_error and str(status) in text_of(result)
    assert calls(emulator) == 1


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"reset": True}, "broke off"),
        ({"truncate_after": 15}, "broke off"),
        ({"malformed": True}, ""),
    ],
    ids=["reset", "truncated", "malformed"],
)
async def test_broken_answers_are_retried_then_reported(
    resilient: Callable[..., Client], emulator: Emulator, fault: dict[str, Any], expected: str
) -> None:
    emulator.add_fault(match="generateContent", times=None, **fault)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
        emulator.clear()
        await still_serves(client)
    assert result.is_error
    assert expected in text_of(result)
    assert "Traceback" not in text_of(result) and FAKE_KEY not in text_of(result)


async def test_one_reset_then_success(resilient: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", reset=True, times=1)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
    assert not result.is_error, text_of(result)


async def test_slow_answer_past_the_deadline(resilient: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True, times=None)  # no answer until clear()
    async with resilient(GEMINI_MCP_TIMEOUT="0.5", GEMINI_MCP_RETRIES="2") as client:
        started = time.monotonic()
        result = await client.call_tool("generate_text", {"prompt": "x"})
        assert time.monotonic() - started < 3
        emulator.clear()
        await still_serves(client)
    assert result.is_error and "GEMINI_MCP_TIMEOUT" in text_of(result)


async def test_call_deadline_bounds_a_call_with_all_its_retries(
    resilient: Callable[..., Client], emulator: Emulator
) -> None:
    # Each attempt stays under the request timeout, but together the retries would take far longer.
    emulator.add_fault(match="generateContent", status=503, delay_s=0.4, times=None)
    env = {"GEMINI_MCP_CALL_DEADLINE": "1", "GEMINI_MCP_RETRIES": "10", "GEMINI_MCP_RETRY_DELAY": "0.3"}
    async with resilient(**env) as client:
        started = time.monotonic()
        result = await client.call_tool("generate_text", {"prompt": "x"})
        assert time.monotonic() - started < 2.5
        emulator.clear()
        await still_serves(client)
    assert result.is_error
    assert "within 1 s" in text_of(result) and "GEMINI_MCP_CALL_DEADLINE" in text_of(result)


async def test_stream_cut_midway(resilient: Callable[..., Client], emulator: Emulator) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    emulator.add_fault(match="streamGenerateContent", truncate_after=200, times=None)
    async with resilient() as client:
        result = await client.call_tool(
            "generate_text",
            {"prompt": "a long enough prompt to stream in several events"},
            progress_callback=on_progress,
        )
        emulator.clear()
        await still_serves(client)
    assert result.is_error and "broke off" in text_of(result)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"promptFeedback": {"blockReason": "SAFETY"}}, "blocked the prompt: SAFETY"),
        ({"candidates": []}, "no answer"),
        (
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "partial"}]}, "finishReason": "SAFETY"}]},
            "SAFETY",
        ),
        (
            {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "MAX_TOKENS"}]},
            "max_output_tokens",
        ),
        (
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": "RECITATION"}]},
            "RECITATION",
        ),
    ],
)
async def test_blocked_and_empty_answers(
    client: Client, emulator: Emulator, response: dict[str, Any], expected: str
) -> None:
    emulator.add_fault(match="generateContent", response=response)
    result = await client.call_tool("generate_text", {"prompt": "x"})
    assert result.is_error and expected in text_of(result)
    await still_serves(client)


async def test_veo_operation_ending_in_error(resilient: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(operation_duration_s=0)  # done, with the scripted error, at the first poll
    env = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
    async with resilient(**env, GEMINI_MCP_VIDEO_POLL_SECONDS="0.05") as client:
        result = await client.call_tool("generate_video", {"prompt": "[[fail]]"})
        assert result.is_error and "Video generation failed" in text_of(result)
        await still_serves(client)


async def test_burst_is_queued_under_the_concurrency_limit(
    resilient: Callable[..., Client], emulator: Emulator
) -> None:
    import anyio

    emulator.configure(latency_s=0.2)
    results: list[CallToolResult] = []
    async with resilient(GEMINI_MCP_MAX_CONCURRENCY="2") as client:
        started = time.monotonic()
        async with anyio.create_task_group() as group:
            for i in range(6):

                async def one(i: int = i) -> None:
                    results.append(await client.call_tool("generate_text", {"prompt": f"burst {i}"}))

                group.start_soon(one)
        elapsed = time.monotonic() - started
    assert all(not r.is_error for r in results) and len(results) == 6
    assert elapsed >= 0.6  # 6 calls, 2 at a time, 0.2 s each: at least three rounds


async def test_a_paid_create_is_not_retried_after_a_503(resilient: Callable[..., Client], emulator: Emulator) -> None:
    # A 503 on the request that starts a video may come after the job began: resending could bill twice.
    emulator.add_fault(match="predictLongRunning", status=503, times=None)
    env = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
    async with resilient(**env) as client:
        result = await client.call_tool("generate_video", {"prompt": "waves"})
        emulator.clear()
        await still_serves(client)
    assert result.is_error and "503" in text_of(result) and "not sent again" in text_of(result)
    assert "gave up after" not in text_of(result)


async def test_a_create_is_sent_once_after_a_503(resilient: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="predictLongRunning", status=503, times=None)
    env = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
    async with resilient(**env) as client:
        await client.call_tool("generate_video", {"prompt": "waves"})
    assert calls(emulator, "predictLongRunning") == 1


async def test_an_html_page_with_status_200_is_a_clear_error(
    resilient: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", malformed=True, times=None)
    async with resilient() as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
        sent = calls(emulator)
        emulator.clear()
        await still_serves(client)
    message = text_of(result)
    assert result.is_error and "unexpectedly" not in message and "JSONDecodeError" not in message
    assert "web page" in message and "GOOGLE_GEMINI_BASE_URL" in message
    assert sent == 1  # the same page would answer again
