"""Secret hygiene: with a recognisable fake key, no tool result, log line or error ever contains it."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable

import hypothesis
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from gemini_mcp.emulator import Emulator
from gemini_mcp.errors import redact
from gemini_mcp.server.logs import RedactingFilter
from tests.conftest import FAKE_KEY, stdio_params

pytestmark = pytest.mark.anyio
VERTEX = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
SCENARIOS = [
    ("generate_text", {"prompt": "hello"}),
    ("generate_text", {"prompt": "x", "model": "gemini-9-ultra"}),
    ("generate_json", {"prompt": "x", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}),
    ("count_tokens", {"prompt": "x"}),
    ("list_models", {}),
    ("embed_text", {"texts": ["a"]}),
    ("search_web", {"query": "news"}),
    ("generate_image", {"prompt": "a cat"}),
    ("generate_speech", {"text": "hello"}),
    ("generate_video", {"prompt": "waves"}),
    ("generate_video", {"prompt": "[[fail]]"}),
    ("analyze_media", {"question": "x", "media": [{"url": "http://127.0.0.1:9/x"}]}),
]


async def run_scenarios(client: Client, emulator: Emulator) -> list[str]:
    dumps = []
    for index, (name, arguments) in enumerate(SCENARIOS):
        if index == 2:
            emulator.add_fault(match="generateContent", status=500, message=f"upstream echoed key={FAKE_KEY}")
        result = await client.call_tool(name, arguments)
        dumps.append(result.model_dump_json())
    return dumps


async def test_results_and_logs_never_contain_the_key(
    make_client: Callable[..., Client], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.configure(operation_duration_s=0)
    caplog.set_level(logging.DEBUG)
    async with make_client(**VERTEX, GEMINI_MCP_RETRIES="1", GEMINI_MCP_VIDEO_POLL_SECONDS="0.01") as client:
        dumps = await run_scenarios(client, emulator)
        resources = await client.list_resources()
        dumps.append(resources.model_dump_json())
    assert all(FAKE_KEY not in dump for dump in dumps)
    assert "upstream echoed key=" in "".join(dumps)  # the upstream message reached the user, redacted
    filtered = [RedactingFilter([FAKE_KEY]).filter(r) and r.getMessage() for r in caplog.records]
    assert all(FAKE_KEY not in str(message) for message in filtered)


async def test_stdio_server_stderr_never_contains_the_key(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, tmp_path: object
) -> None:
    emulator.configure(operation_duration_s=0)
    env = make_env(**VERTEX, GEMINI_MCP_LOG_LEVEL="DEBUG", GEMINI_MCP_RETRIES="1", GEMINI_MCP_VIDEO_POLL_SECONDS="0.01")
    env = {k: v for k, v in env.items() if v is not None}
    path = f"{tmp_path}/stderr.log"
    with open(path, "w") as log:
        async with Client(stdio_client(stdio_params(env), errlog=log)) as client:
            dumps = await run_scenarios(client, emulator)
    with open(path) as log:
        stderr = log.read()
    assert all(FAKE_KEY not in dump for dump in dumps)
    assert "gemini_mcp" in stderr  # it did log, at DEBUG
    assert FAKE_KEY not in stderr


def test_stderr_of_a_failing_start_never_contains_the_key(make_env: Callable[..., dict[str, str]]) -> None:
    env = {**make_env(), "GEMINI_MCP_LOG_LEVEL": "DEBUG", "GEMINI_MCP_OUTPUT_DIR": "/proc/forbidden"}
    process = subprocess.run(
        [sys.executable, "-m", "gemini_mcp", "--log-level", "DEBUG"],
        input="not json\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert FAKE_KEY not in process.stderr + process.stdout


def test_redaction_covers_the_shapes_keys_take() -> None:
    text = (
        f"GET https://x/v1/models?key={FAKE_KEY}&alt=sse x-goog-api-key: {FAKE_KEY} "
        "AIzaSyA1234567890abcdefghijklmnopqrstuv"
    )
    cleaned = redact(text, [FAKE_KEY])
    assert FAKE_KEY not in cleaned and "AIzaSy" not in cleaned


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    hypothesis.strategies.lists(
        hypothesis.strategies.sampled_from([*"aAIzy29.:/@?&=key_sig-x ", "AIza", "ya29.", "://", "key=", "Q" * 35]),
        max_size=40,
    ).map("".join)
)
def test_redact_skips_only_patterns_that_cannot_match(text: str) -> None:
    """`redact` runs each pattern only when a literal it needs is present; the result is the same as always
    running all three."""
    from gemini_mcp import errors

    reference = errors._KEY_QUERY.sub(lambda m: m.group(1) + errors.REDACTED, text)
    reference = errors._URL_USERINFO.sub(lambda m: m.group(1) + errors.REDACTED + "@", reference)
    reference = errors._KEY_SHAPES.sub(errors.REDACTED, reference)
    assert errors.redact(text) == reference
