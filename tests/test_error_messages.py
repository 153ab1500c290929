"""Odd failures end in a tool error that says what happened and what to change, with true attempt counts,
the right culprit (this machine, the network, or something posing as the API), and no secret in any result."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.gemini.failures import describe_failure
from gemini_mcp.media.links import MediaUrlSigner
from gemini_mcp.media.store import MediaStore
from gemini_mcp.server.media_route import register_media_route
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
FAST_RETRIES = {"GEMINI_MCP_RETRY_DELAY": "0.01", "GEMINI_MCP_RETRIES": "3"}
PORTAL = "<!doctype html><html><head><title>Hotel Wi-Fi: please log in</title></head><body>Log in</body></html>"


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def calls(emulator: Emulator, rpc: str) -> int:
    return sum(1 for r in emulator.requests() if r["rpc"] == rpc)


async def ignore(progress: float, total: float | None, message: str | None) -> None:
    return None


# --- something other than the API answered ---------------------------------------------------------------
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_web_page_answering_200_is_named_with_the_fix(
    make_client: Callable[..., Client], emulator: Emulator, streamed: bool
) -> None:
    rpc = "streamGenerateContent" if streamed else "generateContent"
    emulator.add_fault(match=rpc, page=PORTAL, times=None)
    async with make_client(**FAST_RETRIES) as client:
        result = await client.call_tool(
            "generate_text", {"prompt": "hello"}, progress_callback=ignore if streamed else None
        )
    message = text_of(result)
    assert result.is_error and "unexpectedly" not in message and "JSONDecodeError" not in message
    assert "answered HTTP 200 with a web page" in message and "GOOGLE_GEMINI_BASE_URL" in message
    assert "captive portal" in message and emulator.base_url in message
    if not streamed:
        assert "titled 'Hotel Wi-Fi: please log in'" in message
    assert calls(emulator, rpc) == 1  # the same page would answer again: not retried


async def test_a_proxy_error_page_is_summarised_not_pasted(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", page=PORTAL, response_status=502, times=None)
    async with make_client(**FAST_RETRIES) as client:
        result = await client.call_tool("generate_text", {"prompt": "hello"})
    message = text_of(result)
    assert result.is_error and "<html" not in message.lower() and "<body" not in message.lower()
    assert "502" in message and "an HTML page titled 'Hotel Wi-Fi: please log in'" in message
    assert "gave up after 3 attempts" in message and calls(emulator, "generateContent") == 3


# --- attempt counts are true -------------------------------------------------------------------------------
async def test_a_cut_stream_does_not_claim_retries(make_client: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="streamGenerateContent", truncate_after=200, times=None)
    async with make_client(**FAST_RETRIES) as client:
        result = await client.call_tool(
            "generate_text", {"prompt": "a long enough prompt to stream in several events"}, progress_callback=ignore
        )
    message = text_of(result)
    assert result.is_error and "broke off" in message and "streaming" in message
    assert "gave up after" not in message and "attempts" not in message
    assert calls(emulator, "streamGenerateContent") == 1


async def test_a_cut_answer_counts_the_attempts_it_made(make_client: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", truncate_after=15, times=None)
    async with make_client(**FAST_RETRIES) as client:
        result = await client.call_tool("generate_text", {"prompt": "x"})
    assert result.is_error and "gave up after 3 attempts" in text_of(result)
    assert calls(emulator, "generateContent") == 3


async def test_a_count_is_of_the_request_that_failed(make_client: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", status=503, times=2)  # retried, then fine
    emulator.add_fault(match="streamGenerateContent", truncate_after=200, times=None)
    async with make_client(**FAST_RETRIES) as client:
        ok = await client.call_tool("generate_text", {"prompt": "x"})
        cut = await client.call_tool("generate_text", {"prompt": "a prompt long enough"}, progress_callback=ignore)
    assert not ok.is_error and cut.is_error and "gave up after" not in text_of(cut)


# --- this machine, not Gemini --------------------------------------------------------------------------------
async def test_a_media_folder_inside_a_file_names_the_setting(
    make_client: Callable[..., Client], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    async with make_client(GEMINI_MCP_OUTPUT_DIR=str(tmp_path / "notes.txt" / "media")) as client:
        result = await client.call_tool("generate_speech", {"text": "hello"})
    message = text_of(result)
    assert result.is_error and "Live API" not in message and "GEMINI_MCP_CA_FILE" not in message
    assert "GEMINI_MCP_OUTPUT_DIR" in message and "notes.txt" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
async def test_a_read_only_media_folder_names_the_setting(make_client: Callable[..., Client], tmp_path: Path) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        async with make_client(GEMINI_MCP_OUTPUT_DIR=str(folder)) as client:
            result = await client.call_tool("generate_image", {"prompt": "a red fox"})
    finally:
        folder.chmod(0o700)
    message = text_of(result)
    assert result.is_error and "permission denied" in message and "GEMINI_MCP_OUTPUT_DIR" in message
    assert "GEMINI_MCP_CA_FILE" not in message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "make {folder} writable"),
        (OSError(errno.ENOSPC, "No space left on device"), "free space in {folder}"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only"),
        (OSError(errno.ENAMETOOLONG, "File name too long"), "point GEMINI_MCP_OUTPUT_DIR at a folder with a shorter"),
    ],
    ids=["permission", "disk-full", "read-only", "name-too-long"],
)
def test_local_errors_name_the_path_the_setting_and_the_fix(tmp_path: Path, error: OSError, expected: str) -> None:
    import google.genai  # noqa: F401  # describe_failure runs after a call, when the SDK is loaded

    error.filename = str(tmp_path / "media" / "20261125-fox.png")
    described = describe_failure(
        error, model=None, key_variable=None, folders=[("GEMINI_MCP_OUTPUT_DIR", tmp_path / "media")]
    )
    assert described is not None
    message = str(described)
    assert "not at Gemini" in message and "20261125-fox.png" in message and "GEMINI_MCP_OUTPUT_DIR" in message
    assert expected.format(folder=tmp_path / "media").lower() in message.lower()
    assert "Live API" not in message and "GEMINI_MCP_CA_FILE" not in message


def test_a_network_oserror_is_not_blamed_on_the_disk() -> None:
    import google.genai  # noqa: F401

    described = describe_failure(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), model=None, key_variable=None)
    assert described is not None and "network" in str(described) and "this machine" not in str(described)


# --- signed links: a malformed query is a 403, never a 500 ---------------------------------------------------
@pytest.mark.parametrize(
    "query",
    ["exp=%C2%B2&sig=abc", "exp=%D9%A3&sig=abc", "exp=1&sig=%C3%A9", f"exp={'9' * 5000}&sig=abc", "exp=&sig="],
    ids=["superscript-two", "arabic-digit", "non-ascii-signature", "5000-digits", "empty"],
)
async def test_malformed_link_queries_are_refused(tmp_path: Path, query: str) -> None:
    server: MCPServer = MCPServer("links")
    signer = MediaUrlSigner(b"secret", "http://testserver", ttl_s=60)
    register_media_route(server, MediaStore(tmp_path), signer)
    transport = httpx2.ASGITransport(app=server.streamable_http_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.get(f"/media/0123456789ab?{query}")
    assert answer.status_code == 403


# --- results are redacted ----------------------------------------------------------------------------------
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_model_answer_quoting_the_key_is_redacted(client: Client, streamed: bool) -> None:
    updates: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message or "")

    arguments = {"prompt": f"Repeat after me: my key is {FAKE_KEY}"}
    if streamed:
        result = await client.call_tool("generate_text", arguments, progress_callback=on_progress)
    else:
        result = await client.call_tool("generate_text", arguments)
    assert not result.is_error, text_of(result)
    assert "my key is [REDACTED]" in text_of(result)  # the emulator echoes the prompt: the answer did quote it
    assert FAKE_KEY not in text_of(result)
    assert FAKE_KEY not in str(result.structured_content) and "[REDACTED]" in str(result.structured_content)
    assert FAKE_KEY not in result.model_dump_json()
    assert all(FAKE_KEY not in message for message in updates)
    if streamed:
        assert updates


async def test_redaction_reaches_nested_structured_values(client: Client) -> None:
    result = await client.call_tool(
        "generate_json",
        {
            "prompt": f"Say {FAKE_KEY}",
            "schema": {"type": "object", "properties": {"said": {"type": "string"}}},
        },
    )
    assert not result.is_error, text_of(result)
    assert FAKE_KEY not in result.model_dump_json()
