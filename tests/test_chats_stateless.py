"""Chats on stateless servers: the conversation is stored by the Gemini API (stored interactions), so any replica
continues any chat from its id alone. Real servers (HTTP subprocesses and in memory) against the emulator."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from tests import media_samples
from tests.conftest import FAKE_KEY
from tests.http_server import http_server

pytestmark = pytest.mark.anyio

MESSAGES = ["My name is Ada.", "I like maths.", "What do you know about me?"]


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def creates(emulator: Emulator) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests("interactions.create")]


def stored_ids(emulator: Emulator) -> list[str]:
    """The ids of the interactions the emulator stored, oldest first."""
    return list(emulator.state.interactions)


async def send(client: Client, chat_id: str, message: str, **extra: Any) -> CallToolResult:
    reply = await client.call_tool("chat_send", {"chat_id": chat_id, "message": message, **extra})
    assert not reply.is_error, text_of(reply)
    return reply


async def test_replicas_continue_each_others_chat_over_http(
    make_env: Callable[..., dict[str, str]], emulator: Emulator
) -> None:
    env: dict[str, str | None] = {**make_env()}
    with http_server(env, "--stateless") as first, http_server(env, "--stateless") as second:
        async with Client(first.url, mode="2026-07-28") as client:
            started = await client.call_tool(
                "chat_start", {"system_instruction": "Be brief", "config": {"temperature": 0.3}}
            )
            assert not started.is_error, text_of(started)
            chat_id = started.structured_content["chat_id"]
            one = await send(client, chat_id, MESSAGES[0])
        # Turn 2 on the other replica, in the other protocol era: it knows nothing but the id it is given.
        async with Client(second.url, mode="legacy") as client:
            two = await send(client, one.structured_content["chat_id"], MESSAGES[1])
        async with Client(first.url, mode="2026-07-28") as client:
            three = await send(client, two.structured_content["chat_id"], MESSAGES[2])

    replies = [one, two, three]
    assert [r.structured_content["turn"] for r in replies] == [1, 2, 3]
    ids = [chat_id, *(r.structured_content["chat_id"] for r in replies)]
    assert len(set(ids)) == 4  # a new id per message
    for reply in replies:  # each view names the id to use next
        assert f"Next chat_id: {reply.structured_content['chat_id']}" in text_of(reply)
    # What Google received: each message continues the one before, with the chat's settings sent again.
    bodies = creates(emulator)
    interactions = stored_ids(emulator)
    assert [b.get("previous_interaction_id") for b in bodies] == [None, interactions[0], interactions[1]]
    assert [b["input"] for b in bodies] == MESSAGES
    assert all(b["store"] is True and b["system_instruction"] == "Be brief" for b in bodies)
    assert all(b["generation_config"] == {"temperature": 0.3} for b in bodies)
    # Turn 2, answered through the second replica, saw turn 1 sent through the first.
    assert "Conversation turns seen: 2" in two.structured_content["text"]
    assert f"Previous turn: {MESSAGES[0]}" in two.structured_content["text"]
    assert f"Previous turn: {MESSAGES[1]}" in three.structured_content["text"]


async def test_history_from_a_fresh_server_then_end(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        chat_id = (await client.call_tool("chat_start", {"model": "flash"})).structured_content["chat_id"]
        for message in MESSAGES:
            chat_id = (await send(client, chat_id, message)).structured_content["chat_id"]
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        history = await client.call_tool("chat_history", {"chat_id": chat_id})
        assert not history.is_error, text_of(history)
        turns = history.structured_content["turns"]
        assert [t["role"] for t in turns] == ["user", "model"] * 3
        assert [t["text"] for t in turns[::2]] == MESSAGES
        assert all("Answer to:" in t["text"] for t in turns[1::2])
        assert f"user: {MESSAGES[0]}" in text_of(history)
        assert history.structured_content["model"] == "gemini-flash-latest"

        ended = await client.call_tool("chat_end", {"chat_id": chat_id})
        assert not ended.is_error, text_of(ended)
        assert ended.structured_content["turns"] == 3
        assert "deleted 3 stored interaction" in text_of(ended)
        assert emulator.state.interactions == {}  # nothing of the chat is left at Google
        assert len(emulator.requests("interactions.delete")) == 3

        for tool, arguments in (
            ("chat_send", {"chat_id": chat_id, "message": "still there?"}),
            ("chat_history", {"chat_id": chat_id}),
            ("chat_end", {"chat_id": chat_id}),
        ):
            gone = await client.call_tool(tool, arguments)
            assert gone.is_error and "chat_id" in text_of(gone) and "chat_start" in text_of(gone), tool


async def test_bad_and_unknown_chat_ids_are_tool_errors(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        garbled = await client.call_tool("chat_send", {"chat_id": "chat.not-base64-json!", "message": "hi"})
        # Well formed, naming an interaction the API does not have (deleted, expired, another project's).
        payload = json.dumps({"m": "gemini-2.5-flash", "t": 1, "i": "v1_nope"}).encode()
        forged = "chat." + base64.urlsafe_b64encode(payload).decode().rstrip("=")
        unknown = await client.call_tool("chat_send", {"chat_id": forged, "message": "hi"})
        in_process = await client.call_tool("chat_history", {"chat_id": "chat-abc123"})
    assert garbled.is_error and text_of(garbled).startswith("chat_id:")
    assert unknown.is_error and "chat_id: the Gemini API no longer has this chat" in text_of(unknown)
    assert in_process.is_error and "chat_id:" in text_of(in_process) and "chat_start" in text_of(in_process)


async def test_media_long_system_instruction_and_settings(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    persona = "You are a patient maths tutor. " * 20  # too long to ride in the id: read back from Google
    png = base64.b64encode(media_samples.png()).decode()
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        refused = await client.call_tool("chat_start", {"config": {"top_k": 5}})
        budget = await client.call_tool("chat_start", {"config": {"thinking_budget": 100}})
        level_on_25 = await client.call_tool("chat_start", {"config": {"thinking_level": "LOW"}})
        started = await client.call_tool(
            "chat_start",
            {"system_instruction": persona, "model": "gemini 3.5 flash", "config": {"thinking_level": "LOW"}},
        )
        assert not started.is_error, text_of(started)
        first = await send(client, started.structured_content["chat_id"], "What is this?", media=[{"data": png}])
        second_id = first.structured_content["chat_id"]
        assert len(second_id) < len(started.structured_content["chat_id"])  # the persona left the id
        second = await send(client, second_id, "And now?")
        history = await client.call_tool("chat_history", {"chat_id": second.structured_content["chat_id"]})
    assert refused.is_error and "top_k" in text_of(refused)
    assert budget.is_error and "thinking_budget" in text_of(budget) and "thinking_level" in text_of(budget)
    assert level_on_25.is_error and text_of(level_on_25).startswith("config.thinking_level: gemini-2.5-flash")
    bodies = creates(emulator)
    assert [b["system_instruction"] for b in bodies] == [persona, persona]
    assert all(b["generation_config"] == {"thinking_level": "low"} for b in bodies)
    # The SDK sends a list of content blocks as one user_input step.
    (step,) = bodies[0]["input"]
    assert step["type"] == "user_input"
    assert step["content"] == [
        {"type": "image", "data": png, "mime_type": "image/png"},
        {"type": "text", "text": "What is this?"},
    ]
    assert "image/png" in first.structured_content["text"]  # the emulator saw the image
    turns = history.structured_content["turns"]
    assert turns[0]["media"] == ["image/png"] and turns[0]["text"] == "What is this?"
    assert [t["role"] for t in turns] == ["user", "model", "user", "model"]


async def test_vertex_keeps_chats_in_process_so_stateless_vertex_refuses(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    vertex = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
    async with make_client(GEMINI_MCP_STATELESS="true", **vertex) as client:
        refused = await client.call_tool("chat_start", {})
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        chat_id = (await client.call_tool("chat_start", {})).structured_content["chat_id"]
    async with make_client(**vertex) as client:
        elsewhere = await client.call_tool("chat_send", {"chat_id": chat_id, "message": "hi"})
    assert refused.is_error and "stateless" in text_of(refused) and "generate_text" in text_of(refused)
    assert elsewhere.is_error and "chat_id:" in text_of(elsewhere) and "Vertex AI" in text_of(elsewhere)
    assert not creates(emulator)


async def test_a_stored_chat_continues_on_a_stateful_server(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        chat_id = (await client.call_tool("chat_start", {})).structured_content["chat_id"]
        chat_id = (await send(client, chat_id, MESSAGES[0])).structured_content["chat_id"]
    async with make_client() as client:  # a replica without GEMINI_MCP_STATELESS still reads the id
        reply = await send(client, chat_id, MESSAGES[1])
        fresh = await client.call_tool("chat_start", {})
    assert f"Previous turn: {MESSAGES[0]}" in reply.structured_content["text"]
    assert fresh.structured_content["chat_id"].startswith("chat-")  # new chats there stay in the process
    assert not emulator.requests("generateContent")


async def test_youtube_and_text_files_as_content_blocks(make_client: Callable[..., Client], emulator: Emulator) -> None:
    youtube = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    notes = base64.b64encode(b"Ada Lovelace wrote the first program.").decode()
    async with make_client(GEMINI_MCP_STATELESS="true") as client:
        chat_id = (await client.call_tool("chat_start", {})).structured_content["chat_id"]
        media = [{"url": youtube}, {"data": notes, "mime_type": "text/plain"}]
        await send(client, chat_id, "Summarise both.", media=media)
    ((step,),) = [b["input"] for b in creates(emulator)]
    video, text, question = step["content"]
    assert video == {"type": "video", "uri": youtube}
    assert text["type"] == "text" and "Ada Lovelace wrote the first program." in text["text"]
    assert question == {"type": "text", "text": "Summarise both."}
