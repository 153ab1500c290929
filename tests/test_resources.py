"""Saved media as MCP resources: resources/list shows every saved file (newest first, a page at a time),
resources/read returns its bytes, and a new file is announced to subscriptions/listen streams."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.subscriptions import ResourcesListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Resource

from gemini_mcp.config.settings import Settings
from gemini_mcp.server.app import MEDIA_PAGE_SIZE, build_server
from tests.conftest import stdio_params
from tests.media_samples import png

PNG = png()

pytestmark = pytest.mark.anyio

WAIT_S = 60


async def all_resources(client: Client) -> list[Resource]:
    """Every page of resources/list, following nextCursor."""
    listed = await client.list_resources()
    resources = list(listed.resources)
    while listed.next_cursor is not None:
        listed = await client.list_resources(cursor=listed.next_cursor)
        resources += listed.resources
    return resources


async def draw(client: Client, prompt: str) -> dict[str, Any]:
    result = await client.call_tool("generate_image", {"prompt": prompt, "output": "link"})
    assert not result.is_error, result
    [image] = result.structured_content["images"]  # type: ignore[index]
    return image  # type: ignore[no-any-return]


async def check_generated_image_is_listed_and_read(client: Client) -> None:
    assert [r.uri for r in await all_resources(client)] == ["gemini://capabilities", "gemini://spend"]  # nothing saved
    first = await draw(client, "a red kite")
    second = await draw(client, "a blue kite")
    resources = await all_resources(client)
    media = [r for r in resources if r.uri.startswith("gemini://media/")]
    assert [r.uri for r in media] == [second["uri"], first["uri"]]  # newest first
    listed = media[1]
    assert (listed.name, listed.mime_type, listed.size) == (first["name"], "image/png", first["size_bytes"])
    assert "gemini://capabilities" in [r.uri for r in resources]
    [content] = (await client.read_resource(listed.uri)).contents
    assert content.mime_type == "image/png"
    assert base64.b64decode(content.blob) == Path(first["path"]).read_bytes()  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_generated_image_is_listed_and_read_in_memory(make_client: Callable[..., Client], mode: str) -> None:
    async with make_client(mode=mode) as client:
        await check_generated_image_is_listed_and_read(client)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_generated_image_is_listed_and_read_over_stdio(
    make_env: Callable[..., dict[str, str]], mode: str
) -> None:
    async with Client(stdio_params(make_env()), mode=mode) as client:
        await check_generated_image_is_listed_and_read(client)


async def test_a_large_folder_is_listed_in_pages_that_files_saved_meanwhile_do_not_shift(tmp_path: Path) -> None:
    server = build_server(Settings.from_env({"GEMINI_MCP_OUTPUT_DIR": str(tmp_path)}))
    store = server.services.media
    saved = []
    start = time.time_ns() - 3600 * 10**9  # recent, or retention (GEMINI_MCP_OUTPUT_MAX_AGE_HOURS) removes them
    for index in range(MEDIA_PAGE_SIZE + 5):
        item = await store.save(PNG, mime_type="image/png", kind="image", hint=f"frame {index}")
        stamp = start + index * 10**9  # distinct times: the order is known
        os.utime(item.path, ns=(stamp, stamp))
        saved.append(item.uri)
    newest_first = saved[::-1]
    async with Client(server) as client:
        first = await client.list_resources()
        assert first.next_cursor is not None
        media = [r.uri for r in first.resources if r.uri.startswith("gemini://media/")]
        assert media == newest_first[:MEDIA_PAGE_SIZE]
        assert [r.uri for r in first.resources if not r.uri.startswith("gemini://media/")] == [
            "gemini://capabilities",
            "gemini://spend",
        ]
        late = await store.save(PNG, mime_type="image/png", kind="image", hint="late")  # newest: sorts first
        second = await client.list_resources(cursor=first.next_cursor)
        assert [r.uri for r in second.resources] == newest_first[MEDIA_PAGE_SIZE:]
        assert second.next_cursor is None
        assert (await client.list_resources()).resources[2].uri == late.uri  # a fresh listing shows it first
        with pytest.raises(MCPError) as refused:
            await client.list_resources(cursor="page-2")
    assert refused.value.error.code == INVALID_PARAMS
    assert "nextCursor" in refused.value.error.message


async def test_listen_announces_each_saved_file_to_every_listener(make_env: Callable[..., dict[str, str]]) -> None:
    server = build_server(Settings.from_env(make_env()))
    async with Client(server) as listener, Client(server) as maker:
        assert listener.server_capabilities.resources is not None
        assert listener.server_capabilities.resources.list_changed
        async with listener.listen(resources_list_changed=True) as changes:
            image = await draw(maker, "a kite announced")
            with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
                event = await anext(aiter(changes))
        assert isinstance(event, ResourcesListChanged)
        assert image["uri"] in [r.uri for r in await all_resources(listener)]


@pytest.mark.slow
async def test_listen_announces_a_saved_file_over_stdio(make_env: Callable[..., dict[str, str]]) -> None:
    async with Client(stdio_params(make_env())) as client:
        async with client.listen(resources_list_changed=True) as changes:
            image = await draw(client, "a kite over stdio")
            with anyio.fail_after(WAIT_S):  # a guard against hanging, not a timing assertion
                event = await anext(aiter(changes))
        assert isinstance(event, ResourcesListChanged)
        assert image["uri"] in [r.uri for r in await all_resources(client)]


async def test_the_handshake_era_does_not_claim_list_changed(make_client: Callable[..., Client]) -> None:
    # Protocol 2025-11-25 takes its listChanged flags from the SDK's initialization options, which
    # MCPServer does not let a server set: it must not claim notifications it never sends.
    async with make_client(mode="legacy") as client:
        resources = client.server_capabilities.resources
        assert resources is not None and not resources.list_changed
