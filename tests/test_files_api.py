"""The Files API tools through MCP: upload (waiting for ACTIVE), list, delete, and the uri in the media tools."""

from __future__ import annotations

import base64
from collections.abc import Callable

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator import files as emulated_files
from tests import media_samples
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
NOTES = base64.b64encode(b"Meeting notes: the launch moves to March.\n" * 20).decode()


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def upload(client: Client, data: str = NOTES, **extra: str) -> dict[str, str]:
    result = await client.call_tool("upload_file", {"media": {"data": data}, **extra})
    assert not result.is_error, text_of(result)
    file: dict[str, str] = result.structured_content["file"]
    return file


async def test_upload_returns_an_active_file_whose_uri_the_media_tools_take(client: Client, emulator: Emulator) -> None:
    file = await upload(client, display_name="notes.txt")
    assert file["state"] == "ACTIVE" and file["mime_type"] == "text/plain"
    assert file["name"].startswith("files/") and file["uri"].endswith(file["name"].removeprefix("files"))
    assert file["display_name"] == "notes.txt" and file["expires"] and int(file["size_bytes"]) > 0
    start = emulator.requests()[0]
    assert start["path"].startswith("/upload/") and start["has_api_key"]

    answer = await client.call_tool(
        "analyze_media", {"question": "When is the launch?", "media": [{"file_uri": file["uri"]}]}
    )
    assert not answer.is_error, text_of(answer)
    assert file["uri"] in text_of(answer)  # the emulated model saw the uploaded file, by reference
    asked = emulator.requests("generateContent")[-1]["body"]
    assert "inline_data" not in str(asked) and "inlineData" not in str(asked)


async def test_upload_waits_while_the_file_is_processing(client: Client, emulator: Emulator) -> None:
    emulator.configure(extra={"hold_files": True})
    async with anyio.create_task_group() as tasks:
        done = anyio.Event()
        found: dict[str, str] = {}

        async def run() -> None:
            found.update(await upload(client, base64.b64encode(media_samples.png()).decode()))
            done.set()

        tasks.start_soon(run)
        await emulator.await_requests(where=lambda r: r["method"] == "GET" and "/files/" in r["path"])
        assert not done.is_set()  # still PROCESSING: the tool keeps checking
        emulated_files.activate(emulator.state)
    assert found["state"] == "ACTIVE"


async def test_list_pages_and_delete_removes(client: Client) -> None:
    names = [(await upload(client))["name"] for _ in range(3)]
    first = await client.call_tool("list_files", {"page_size": 2})
    assert not first.is_error and len(first.structured_content["files"]) == 2
    token = first.structured_content["next_page_token"]
    second = await client.call_tool("list_files", {"page_size": 2, "page_token": token})
    listed = [f["name"] for f in first.structured_content["files"] + second.structured_content["files"]]
    assert sorted(listed) == sorted(names)

    deleted = await client.call_tool("delete_file", {"name": names[0]})
    assert not deleted.is_error and deleted.structured_content["deleted"] == names[0]
    again = await client.call_tool("delete_file", {"name": names[0]})
    assert again.is_error
    message = text_of(again)
    assert message.startswith("name: ") and names[0] in message and "list_files" in message
    assert FAKE_KEY not in message


async def test_bad_input_is_a_clear_tool_error(client: Client) -> None:
    remote = await client.call_tool("upload_file", {"media": {"file_uri": "files/abc"}})
    assert remote.is_error and "already remote" in text_of(remote)
    bad_name = await client.call_tool("delete_file", {"name": "files/a/b"})
    assert bad_name.is_error and "not a Files API file" in text_of(bad_name)
    uri = "https://generativelanguage.googleapis.com/v1/files/nosuchfile"
    gone = await client.call_tool("analyze_media", {"question": "What is it?", "media": [{"file_uri": uri}]})
    assert gone.is_error and "nosuchfile" in text_of(gone)


async def test_the_files_tools_annotate_honestly_and_are_their_own_toolset(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="files") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"upload_file", "list_files", "delete_file"}
    assert tools["list_files"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["delete_file"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["upload_file"].annotations.idempotent_hint is False  # type: ignore[union-attr]
