"""Multi-turn chats kept on the server: chat_start, chat_send, chat_history, chat_end."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.chats import history, open_chat, send
from gemini_mcp.gemini.models import note_status
from gemini_mcp.gemini.parts import parts_of
from gemini_mcp.gemini.request import (
    MEDIA_DESCRIPTION,
    SYSTEM_DESCRIPTION,
    ModelField,
    SamplingFields,
    TaskField,
    build_config,
    text_model,
)
from gemini_mcp.gemini.response import GenerationInfo
from gemini_mcp.media.inputs import MediaInput
from gemini_mcp.tools._chat_store import ChatSession, ChatStore

_CHAT_ID = Field(description="From chat_start.")


def store(call: Call) -> ChatStore:
    return call.services.process_state(
        "chats",
        lambda: ChatStore(call.settings),
        what="chats",
        why="a chat lives in one server process",
        instead="Use generate_text with `contents` carrying the whole conversation instead",
    )


# --- chat_start ----------------------------------------------------------------------------------------
class ChatStartInput(ToolInput, SamplingFields, TaskField, ModelField):
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None


class ChatStartOutput(ToolOutput):
    chat_id: Annotated[str, Field(description="Pass this to chat_send, chat_history and chat_end.")]
    model: Annotated[str, Field(description="The model of this chat.")]
    notes: list[str] | None = None


async def chat_start(args: ChatStartInput, call: Call) -> CallToolResult:
    chats = store(call)
    call.model = model = text_model(args, call)
    session, note = chats.add(model, await open_chat(call, model, build_config(args, model, call.notes)))
    if note:
        call.notes.append(note)
    output = ChatStartOutput(chat_id=session.id, model=model, notes=call.notes or None)
    return structured_result(output, text=f"Chat started: {session.id} ({model})")


# --- chat_send -----------------------------------------------------------------------------------------
class ChatSendInput(ToolInput):
    chat_id: Annotated[str, _CHAT_ID]
    message: Annotated[str, Field(min_length=1, description="Your next message.")]
    media: Annotated[list[MediaInput] | None, Field(description=MEDIA_DESCRIPTION, max_length=50)] = None


class ChatSendOutput(ToolOutput, GenerationInfo):
    chat_id: str
    text: Annotated[str, Field(description="The model's reply.")]
    turn: Annotated[int, Field(description="How many messages you have sent in this chat, this one included.")]


async def chat_send(args: ChatSendInput, call: Call) -> CallToolResult:
    session: ChatSession = store(call).get(args.chat_id)
    call.model = session.model
    parts = await parts_of(args.message, args.media, call, field="media")
    async with session.lock:
        answer = await send(session.chat, parts)
        session.turns += 1
    note_status(call.notes, session.model, answer.model_status)
    text = answer.require_text()
    output = ChatSendOutput(
        chat_id=session.id, text=text, turn=session.turns, **answer.info(session.model, call.notes).model_dump()
    )
    return structured_result(output, text=text)


# --- chat_history --------------------------------------------------------------------------------------
class ChatIdInput(ToolInput):
    chat_id: Annotated[str, _CHAT_ID]


class Turn(ToolOutput):
    role: Annotated[str, Field(description="'user' or 'model'.")]
    text: Annotated[str, Field(description="The text of the turn.")]
    media: Annotated[list[str] | None, Field(description="MIME types of media sent in the turn.")] = None


class ChatHistoryOutput(ToolOutput):
    chat_id: str
    model: str
    turns: Annotated[list[Turn], Field(description="The conversation so far, oldest first.")]


def _turns(session: ChatSession) -> list[Turn]:
    return [
        Turn(role=role, text=said.text, media=[m.mime_type or "media" for m in said.media] or None)
        for role, said in history(session.chat)
    ]


async def chat_history(args: ChatIdInput, call: Call) -> CallToolResult:
    session = store(call).get(args.chat_id)
    output = ChatHistoryOutput(chat_id=session.id, model=session.model, turns=_turns(session))
    lines = [f"{t.role}: {t.text}" + (f" [{', '.join(t.media)}]" if t.media else "") for t in output.turns]
    return structured_result(output, text="\n".join(lines) or "(no messages yet)")


# --- chat_end ------------------------------------------------------------------------------------------
class ChatEndOutput(ToolOutput):
    chat_id: str
    turns: Annotated[int, Field(description="Messages sent in the chat.")]


async def chat_end(args: ChatIdInput, call: Call) -> CallToolResult:
    session = store(call).end(args.chat_id)
    output = ChatEndOutput(chat_id=session.id, turns=session.turns)
    return structured_result(output, text=f"Chat {session.id} ended after {session.turns} messages")


def _annotations(read_only: bool, destructive: bool = False) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=False, open_world_hint=True
    )


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="chat_start",
        title="Start a Gemini chat",
        description=(
            "Start a multi-turn chat kept on the server (model, system instruction, sampling settings). Returns "
            "a `chat_id` for chat_send. Chats expire after a period without messages."
        ),
        input_model=ChatStartInput,
        output_model=ChatStartOutput,
        handler=chat_start,
        annotations=_annotations(read_only=False),
    ),
    ToolSpec(
        name="chat_send",
        title="Send a chat message",
        description=(
            "Send the next message (with optional media) in a chat started with chat_start; Gemini sees the "
            "whole conversation so far. Returns the reply."
        ),
        input_model=ChatSendInput,
        output_model=ChatSendOutput,
        handler=chat_send,
        annotations=_annotations(read_only=False),
    ),
    ToolSpec(
        name="chat_history",
        title="Show a chat's history",
        description="List the turns of a chat so far (role, text, media types), oldest first.",
        input_model=ChatIdInput,
        output_model=ChatHistoryOutput,
        handler=chat_history,
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
    ToolSpec(
        name="chat_end",
        title="End a chat",
        description="End a chat and forget its history on the server.",
        input_model=ChatIdInput,
        output_model=ChatEndOutput,
        handler=chat_end,
        annotations=_annotations(read_only=False, destructive=True),
    ),
]
