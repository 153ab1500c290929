"""Chats: the SDK's `AsyncChat`, which keeps the conversation and sends it whole with every message.

The chat object is opaque to tools: they open one, send parts, and read its history here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gemini_mcp.gemini.response import Answer, Parts, read_answer, read_parts

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


async def open_chat(call: GeminiCall, model: str, config: types.GenerateContentConfig) -> Any:
    """A new chat on `model` (nothing is sent until the first message)."""
    client = await call.client()
    return client.aio.chats.create(model=model, config=config)


async def send(chat: Any, parts: list[types.Part]) -> Answer:
    return read_answer(await chat.send_message(parts))


def history(chat: Any) -> list[tuple[str, Parts]]:
    """Every turn so far as (role, what its parts say), oldest first."""
    return [(content.role or "user", read_parts(content.parts)) for content in chat.get_history()]
