"""Multi-turn chats: chat_start, chat_send, chat_history, chat_end.

Where the conversation lives depends on the server. Normally in this process (the SDK's chat session: every
sampling setting, nothing stored at Google, on both backends). On a stateless server (GEMINI_MCP_STATELESS) with
the Developer API, at Google as stored interactions, so any replica continues any chat: the chat id then carries
the last interaction's id and the chat's settings, and changes with every message. Vertex AI keeps the
in-process chats only, so a stateless Vertex server refuses chats. A stored chat's id works on any Developer-API
server, stateless or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.chats import (
    delete_stored,
    history,
    interactions_config,
    message_blocks,
    open_chat,
    send,
    send_stored,
    stored_history,
)
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
from gemini_mcp.tools._chat_store import ChatSession, ChatStore, StoredChat, is_stored

_CHAT_ID = Field(description="The latest one returned.")
HISTORY_LIMIT = 50  # messages read back from a stored chat (one request each)
STORED_NOTE = (
    "this chat is kept by the Gemini API (stored interactions), so any replica of this server continues it; "
    "its chat_id changes with every message: always pass the latest one"
)


def stored_mode(call: Call) -> bool:
    """Whether new chats are kept at Google: a stateless server on the Developer API (Vertex AI keeps chats in
    the process, so a stateless Vertex server has none)."""
    return call.settings.stateless and call.settings.backend == "gemini"


def store(call: Call) -> ChatStore:
    return call.services.process_state(
        "chats",
        lambda: ChatStore(call.settings),
        what="chats",
        why=(
            "with Vertex AI a chat lives in one server process (stateless chats are stored interactions of the "
            "Gemini Developer API)"
        ),
        instead="Use generate_text with `contents` carrying the whole conversation instead",
    )


def session(call: Call, chat_id: str) -> ChatSession:
    if stored_mode(call):
        raise UserInputError(
            f"chat_id: '{chat_id}' is a chat kept in one server process (started on a server without "
            "GEMINI_MCP_STATELESS); this stateless server keeps chats at Google instead: start a new one with "
            "chat_start"
        )
    return store(call).get(chat_id)


def stored(call: Call, chat_id: str) -> StoredChat:
    chat = StoredChat.parse(chat_id)
    if call.settings.backend != "gemini":
        raise UserInputError(
            "chat_id: this chat is stored by the Gemini Developer API, and this server uses Vertex AI; continue it "
            "on a server configured with GEMINI_API_KEY (the same key's project), or start a new chat here"
        )
    call.model = chat.model
    return chat


# --- chat_start ----------------------------------------------------------------------------------------
class ChatStartInput(ToolInput, SamplingFields, TaskField, ModelField):
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None


class ChatStartOutput(ToolOutput):
    chat_id: Annotated[str, Field(description="Pass this to chat_send, chat_history and chat_end.")]
    model: Annotated[str, Field(description="The model of this chat.")]
    notes: list[str] | None = None


async def chat_start(args: ChatStartInput, call: Call) -> CallToolResult:
    if stored_mode(call):
        call.model = model = text_model(args, call)
        config = interactions_config(args, model, call.notes)
        chat = StoredChat(model=model, config=config, system=args.system_instruction)
        call.notes.append(STORED_NOTE)  # nothing is sent until the first message, as with in-process chats
        output = ChatStartOutput(chat_id=chat.id, model=model, notes=call.notes or None)
        return structured_result(output, text=f"Chat started: {chat.id} ({model})")
    chats = store(call)
    call.model = model = text_model(args, call)
    opened, note = chats.add(model, await open_chat(call, model, build_config(args, model, call.notes)))
    if note:
        call.notes.append(note)
    output = ChatStartOutput(chat_id=opened.id, model=model, notes=call.notes or None)
    return structured_result(output, text=f"Chat started: {opened.id} ({model})")


# --- chat_send -----------------------------------------------------------------------------------------
class ChatSendInput(ToolInput):
    chat_id: Annotated[str, _CHAT_ID]
    message: Annotated[str, Field(min_length=1, description="Your next message.")]
    media: Annotated[list[MediaInput] | None, Field(description=MEDIA_DESCRIPTION, max_length=50)] = None


class ChatSendOutput(ToolOutput, GenerationInfo):
    chat_id: Annotated[
        str, Field(description="Pass this one with the next message (stored chats: a new id each time).")
    ]
    text: Annotated[str, Field(description="The model's reply.")]
    turn: Annotated[int, Field(description="How many messages you have sent in this chat, this one included.")]


async def chat_send(args: ChatSendInput, call: Call) -> CallToolResult:
    if is_stored(args.chat_id):
        return await _send_stored(args, call)
    chat: ChatSession = session(call, args.chat_id)
    call.model = chat.model
    parts = await parts_of(args.message, args.media, call, field="media")
    async with chat.lock:
        answer = await send(chat.chat, parts)
        chat.turns += 1
    note_status(call.notes, chat.model, answer.model_status)
    text = answer.require_text()
    output = ChatSendOutput(
        chat_id=chat.id, text=text, turn=chat.turns, **answer.info(chat.model, call.notes).model_dump()
    )
    return structured_result(output, text=text)


async def _send_stored(args: ChatSendInput, call: Call) -> CallToolResult:
    chat = stored(call, args.chat_id)
    message = await message_blocks(args.message, args.media, call, field="media")
    reply = await send_stored(
        call,
        model=chat.model,
        message=message,
        previous=chat.last,
        system_instruction=chat.system,
        system_from_previous=chat.system_stored,
        config=chat.config,
    )
    following = chat.after(reply.interaction_id)
    output = ChatSendOutput(
        chat_id=following.id,
        text=reply.text,
        turn=following.turns,
        model=chat.model,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
        notes=call.notes or None,
    )
    # The next id in the blocks too: a host that shows its model only the blocks must still pass it on.
    blocks = [TextContent(type="text", text=reply.text), TextContent(type="text", text=f"Next chat_id: {following.id}")]
    return structured_result(output, blocks)


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
    if is_stored(args.chat_id):
        chat = stored(call, args.chat_id)
        turns, more = await stored_history(call, chat.last, limit=HISTORY_LIMIT) if chat.last else ([], False)
        if more:
            call.notes.append(f"only the last {HISTORY_LIMIT} messages and their replies are shown")
        listed = [Turn(role=t.role, text=t.text, media=t.media or None) for t in turns]
        output = ChatHistoryOutput(chat_id=args.chat_id.strip(), model=chat.model, turns=listed)
    else:
        found = session(call, args.chat_id)
        output = ChatHistoryOutput(chat_id=found.id, model=found.model, turns=_turns(found))
    lines = [f"{t.role}: {t.text}" + (f" [{', '.join(t.media)}]" if t.media else "") for t in output.turns]
    return structured_result(output, text="\n".join(lines) or "(no messages yet)")


# --- chat_end ------------------------------------------------------------------------------------------
class ChatEndOutput(ToolOutput):
    chat_id: str
    turns: Annotated[int, Field(description="Messages sent in the chat.")]


async def chat_end(args: ChatIdInput, call: Call) -> CallToolResult:
    if is_stored(args.chat_id):
        chat = stored(call, args.chat_id)
        deleted = await delete_stored(call, chat.last) if chat.last else 0
        call.notes.append(f"deleted {deleted} stored interaction(s) of this chat at Google")
        chat_id, turns = args.chat_id.strip(), chat.turns
    else:
        session(call, args.chat_id)  # refused in stateless mode, like the other chat tools
        ended = store(call).end(args.chat_id)
        chat_id, turns = ended.id, ended.turns
    output = ChatEndOutput(chat_id=chat_id, turns=turns)
    return structured_result(output, text=f"Chat {chat_id} ended after {turns} messages")


def _annotations(read_only: bool, destructive: bool = False) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=False, open_world_hint=True
    )


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="chat_start",
        title="Start a Gemini chat",
        description=(
            "Start a multi-turn chat (model, system instruction, sampling settings). Returns a `chat_id` for "
            "chat_send; always pass the latest chat_id a chat tool returned. Chats expire after a period without "
            "messages."
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
            "whole conversation so far. Returns the reply and the chat_id to use next."
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
            # Open world: a stored chat's history is read back from the Gemini API.
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        ),
    ),
    ToolSpec(
        name="chat_end",
        title="End a chat",
        description="End a chat and forget its history (a chat stored at Google is deleted there).",
        input_model=ChatIdInput,
        output_model=ChatEndOutput,
        handler=chat_end,
        annotations=_annotations(read_only=False, destructive=True),
    ),
]
