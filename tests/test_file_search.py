"""File Search through MCP: stores, documents imported as a job with progress, answers citing the documents."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
FAST = {"GEMINI_MCP_IMPORT_POLL_SECONDS": "0.05"}
CAPYBARAS = b"Capybaras live in South America, near rivers and lakes. They are the largest rodents alive."
BEAVERS = b"Beavers build dams from branches and mud, and live in lodges."


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def data(raw: bytes) -> dict[str, str]:
    return {"data": base64.b64encode(raw).decode()}


@pytest.fixture
def fast(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    emulator.configure(operation_duration_s=0)  # imports are done at their first poll

    def make(**env: str) -> Client:
        return make_client(**{**FAST, **env})

    return make


async def new_store(client: Client, name: str = "Rodents") -> str:
    result = await client.call_tool("create_file_search_store", {"display_name": name})
    assert not result.is_error, text_of(result)
    store: str = result.structured_content["store"]["name"]
    return store


async def test_an_answer_cites_the_imported_document(fast: Callable[..., Client], emulator: Emulator) -> None:
    async with fast() as client:
        store = await new_store(client)
        uploaded = await client.call_tool("upload_file", {"media": data(BEAVERS), "display_name": "beavers.txt"})
        added = await client.call_tool(
            "add_to_file_search_store",
            {"store": store, "documents": [data(CAPYBARAS), {"file_uri": uploaded.structured_content["file"]["uri"]}]},
        )
        assert not added.is_error, text_of(added)
        out = added.structured_content
        assert out["status"] == "done" and out["indexed"] == 2 and out["failed"] == 0 and out["job_id"]
        assert all(d["state"] == "ACTIVE" and d["document"].startswith(f"{store}/documents/") for d in out["documents"])
        paths = [r["path"] for r in emulator.requests() if r["method"] == "POST"]
        assert any(p.endswith(":uploadToFileSearchStore") for p in paths) and any(
            p.endswith(":importFile") for p in paths
        )

        answer = await client.call_tool("file_search", {"question": "Where do capybaras live?", "stores": [store]})
        assert not answer.is_error, text_of(answer)
        result = answer.structured_content
        source = result["sources"][0]  # the best chunk first
        assert source["index"] == 1 and source["store"] == store and "South America" in source["text"]
        assert source["document"] in [d["document"] for d in out["documents"]]
        assert "[1]" in result["text"] and "South America" in result["text"]
        assert "Sources:\n[1]" in text_of(answer)
        tool = emulator.requests("generateContent")[-1]["body"]["tools"][0]
        assert tool["fileSearch"]["file_search_store_names"] == [store]  # the SDK sends it snake_case


async def test_the_import_is_a_job_with_progress_collected_later(
    fast: Callable[..., Client], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with fast() as client:
        store = await new_store(client)
        started = await client.call_tool(
            "add_to_file_search_store", {"store": store, "documents": [data(CAPYBARAS), data(BEAVERS)], "wait": False}
        )
        assert not started.is_error, text_of(started)
        assert started.structured_content["status"] == "running"
        job = started.structured_content["job_id"]
        assert job.startswith("file_search_import.")
        listed = await client.call_tool("list_file_search_documents", {"store": store})
        assert [d["state"] for d in listed.structured_content["documents"]] == ["PENDING", "PENDING"]

        first, second = emulator.operations()
        emulator.finish_operation(first)
        progress: list[float] = []

        async def watch(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)
            if len(progress) == 3:
                emulator.finish_operation(second)

        with anyio.fail_after(20):
            done = await client.call_tool("get_job", {"job_id": job, "wait": True}, progress_callback=watch)
        assert not done.is_error, text_of(done)
        assert done.structured_content["indexed"] == 2
        listed = await client.call_tool("list_file_search_documents", {"store": store})
        assert [d["state"] for d in listed.structured_content["documents"]] == ["ACTIVE", "ACTIVE"]


async def test_a_failed_import_says_so(fast: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with fast() as client:
        store = await new_store(client)
        started = await client.call_tool(
            "add_to_file_search_store", {"store": store, "documents": [data(BEAVERS)], "wait": False}
        )
        emulator.fail_operation(emulator.operations()[0], "Document processing failed.")
        result = await client.call_tool("get_job", {"job_id": started.structured_content["job_id"]})
        assert result.is_error and "Document processing failed." in text_of(result)


async def test_stores_and_documents_are_listed_and_deleted(fast: Callable[..., Client]) -> None:
    async with fast() as client:
        store = await new_store(client)
        await client.call_tool("add_to_file_search_store", {"store": store, "documents": [data(BEAVERS)]})
        stores = (await client.call_tool("list_file_search_stores", {})).structured_content["stores"]
        assert [(s["name"], s["display_name"], s["active_documents"]) for s in stores] == [(store, "Rodents", 1)]

        refused = await client.call_tool("delete_file_search_store", {"name": store})
        assert refused.is_error and text_of(refused).startswith("force: ")
        [doc] = (await client.call_tool("list_file_search_documents", {"store": store})).structured_content["documents"]
        deleted = await client.call_tool("delete_file_search_document", {"name": doc["name"]})
        assert not deleted.is_error and deleted.structured_content["deleted"] == doc["name"]
        assert (await client.call_tool("list_file_search_documents", {"store": store})).structured_content[
            "documents"
        ] == []

        other = await new_store(client, "Other")
        await client.call_tool("add_to_file_search_store", {"store": other, "documents": [data(CAPYBARAS)]})
        forced = await client.call_tool("delete_file_search_store", {"name": other, "force": True})
        assert not forced.is_error, text_of(forced)
        assert not (await client.call_tool("delete_file_search_store", {"name": store})).is_error
        assert (await client.call_tool("list_file_search_stores", {})).structured_content["stores"] == []


async def test_a_store_that_does_not_exist_is_a_clear_tool_error(
    fast: Callable[..., Client], emulator: Emulator
) -> None:
    missing = "fileSearchStores/nosuch"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("file_search", {"question": "Q?", "stores": [missing]}, "stores[0]: "),
        ("add_to_file_search_store", {"store": missing, "documents": [data(BEAVERS)]}, "store: "),
        ("list_file_search_documents", {"store": missing}, "store: "),
        ("delete_file_search_store", {"name": missing}, "name: "),
        ("delete_file_search_document", {"name": f"{missing}/documents/x"}, "name: "),
    ]
    async with fast() as client:
        for tool, args, field in cases:
            result = await client.call_tool(tool, args)
            assert result.is_error, tool
            message = text_of(result)
            assert message.startswith(field) and "does not exist" in message, message
            assert FAKE_KEY not in message
        bad = await client.call_tool("delete_file_search_document", {"name": "documents/x"})
        assert bad.is_error and "not a document name" in text_of(bad)
        youtube = await client.call_tool(
            "add_to_file_search_store",
            {"store": await new_store(client), "documents": [{"url": "https://youtu.be/abc"}]},
        )
        assert youtube.is_error and text_of(youtube).startswith("documents[0].file_uri: ")
    assert not emulator.requests("generateContent")


async def test_the_file_search_toolset(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="file_search") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {
        "create_file_search_store",
        "list_file_search_stores",
        "delete_file_search_store",
        "add_to_file_search_store",
        "list_file_search_documents",
        "delete_file_search_document",
        "file_search",
        "get_job",
        "cancel_job",
    }
    assert tools["file_search"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["delete_file_search_store"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["add_to_file_search_store"].annotations.idempotent_hint is False  # type: ignore[union-attr]
