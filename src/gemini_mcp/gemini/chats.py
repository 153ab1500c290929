"""Chats, kept in one of two places.

- In this process: the SDK's `AsyncChat`, which keeps the conversation and sends it whole with every message
  (`open_chat`, `send`, `history`). The chat object is opaque to tools.
- At Google, for stateless servers: stored interactions (`store: true`), each message continuing the last one by
  `previous_interaction_id`, so any replica continues any chat from the ids alone (`send_stored`,
  `stored_history`, `delete_stored`). The API keeps only the turns across that link: the system instruction and
  the generation config belong to one interaction, so every message sends them again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError, UserInputError
from gemini_mcp.gemini.interaction_results import output_blocks, problem, status_of
from gemini_mcp.gemini.interactions import create_interaction, delete_interaction, get_interaction
from gemini_mcp.gemini.models import plan_thinking, thinking_limits
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.gemini.parts import upload
from gemini_mcp.gemini.response import Answer, Parts, Usage, read_answer, read_parts
from gemini_mcp.gemini.transcription import MIME_NAMES
from gemini_mcp.media.audio import is_raw_pcm, pcm_format, pcm_to_wav
from gemini_mcp.media.cpu import b64encode, off_loop
from gemini_mcp.media.inputs import MediaInput, is_youtube, load_media

if TYPE_CHECKING:
    from collections.abc import Mapping

    from google.genai import interactions as itypes
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall
    from gemini_mcp.gemini.request import SamplingFields

# Stored chats are walked back one interaction per request: a bound keeps chat_history and chat_end finite.
MAX_CHAIN = 200
# What the content blocks of the Interactions API take as documents (DocumentContent's MIME types, the common
# ones); other text files travel as text, which every model reads.
DOCUMENT_TYPES = frozenset({"application/pdf", "text/csv"})
TEXTUAL_TYPES = ("text/", "application/json")


# --- in this process ---------------------------------------------------------------------------------------
async def open_chat(call: GeminiCall, model: str, config: types.GenerateContentConfig) -> Any:
    """A new chat on `model` (nothing is sent until the first message)."""
    client = await call.client()
    return client.aio.chats.create(model=model, config=config)


async def send(chat: Any, parts: list[types.Part]) -> Answer:
    return read_answer(await chat.send_message(parts))


def history(chat: Any) -> list[tuple[str, Parts]]:
    """Every turn so far as (role, what its parts say), oldest first."""
    return [(content.role or "user", read_parts(content.parts)) for content in chat.get_history()]


# --- stored at Google --------------------------------------------------------------------------------------
def interactions_config(request: SamplingFields, model: str, notes: list[str]) -> dict[str, Any]:
    """The sampling settings as an Interactions `generation_config` (checked by the catalog's thinking rules).

    Its GenerationConfig has temperature, top_p, seed, max_output_tokens, stop_sequences and thinking_level, but
    no top_k and no thinking budget: those are refused here, naming what to use instead."""
    if request.top_k is not None:
        raise UserInputError(
            "config.top_k: stateless chats run on the Interactions API, which has no top_k; remove it (temperature "
            "and top_p still apply), or use generate_text with `contents`"
        )
    if request.thinking_budget is not None:
        raise UserInputError(
            "config.thinking_budget: stateless chats run on the Interactions API, which takes thinking_level "
            "(Gemini 3 and later) and no budget; remove it, or pick a Gemini 3+ model and set thinking_level"
        )
    if request.thinking_level is not None and thinking_limits(model) is not None:
        raise UserInputError(
            f"config.thinking_level: {model} is tuned by a thinking budget, which stateless chats cannot send; "
            "remove thinking_level (the model decides), or pick a Gemini 3+ model such as 'gemini-3.5-flash'"
        )
    plan = plan_thinking(model, None, request.max_output_tokens, request.thinking_level)
    config: dict[str, Any] = {
        name: value
        for name in ("temperature", "top_p", "seed", "max_output_tokens", "stop_sequences")
        if (value := getattr(request, name)) is not None
    }
    if plan.level is not None:
        if plan.note:
            notes.append(plan.note)
        config["thinking_level"] = plan.level.lower()  # the Interactions ThinkingLevel values are lower case
    elif plan.budget is not None:
        notes.append(
            f"max_output_tokens={request.max_output_tokens} counts {model}'s thinking too, and the Interactions API "
            "takes no thinking budget: if answers come back cut, raise it or use a Gemini 3+ model"
        )
    return config


def _mime_name(mime: str) -> str:
    base = mime.split(";")[0].strip().lower()
    return MIME_NAMES.get(base, base)


async def _block(item: MediaInput, call: GeminiCall, field: str) -> dict[str, Any]:
    """One media item as an Interactions content block: inline when small, a Files API URI when large or given
    so, the URL itself for YouTube."""
    media = await load_media(item, call, field=field)
    if media.data is not None and is_raw_pcm(media.mime_type):
        # Headerless PCM travels as WAV: the audio block names no PCM rate.
        wav = await off_loop(pcm_to_wav, media.data, pcm_format(media.mime_type), size=media.size)
        media = replace(media, data=wav, mime_type="audio/wav")
    mime = _mime_name(media.mime_type or item.mime_type or "")
    if media.data is None and not mime:
        if media.name.startswith("files/"):
            client = await call.client()
            found = await client.aio.files.get(name=media.name)
            mime = _mime_name(found.mime_type or "")
        elif media.uri and is_youtube(media.uri):
            mime = "video/*"  # a video block with the URL, no MIME type: Gemini fetches it
    if not mime:
        raise UserInputError(f"{field}.mime_type: say what {media.source or 'the file'} is, e.g. image/png")
    if media.data is not None and mime.startswith(TEXTUAL_TYPES) and mime not in DOCUMENT_TYPES:
        text = media.data.decode("utf-8", errors="replace")
        return {"type": "text", "text": f"[{media.name} ({mime})]\n{text}"}
    family = mime.split("/")[0]
    kind = family if family in ("image", "audio", "video") else "document"
    block: dict[str, Any] = {"type": kind}
    if media.data is None:
        block["uri"] = media.uri
    elif media.size > call.settings.upload_above_mb * 1024 * 1024:
        uri, uploaded = await upload(media, call, field=field)
        block["uri"] = uri
        mime = _mime_name(uploaded) or mime
    else:
        block["data"] = await off_loop(b64encode, media.data, size=media.size)
    if not mime.endswith("/*"):
        block["mime_type"] = mime
    return block


async def message_blocks(
    text: str, media: list[MediaInput] | None, call: GeminiCall, *, field: str
) -> str | list[dict[str, Any]]:
    """A message as Interactions input: the text alone, or media first (as `parts_of` orders them), then text."""
    if not media:
        return text
    blocks = [await _block(item, call, f"{field}[{index}]") for index, item in enumerate(media)]
    return [*blocks, {"type": "text", "text": text}]


@dataclass(frozen=True)
class StoredReply:
    interaction_id: str
    text: str
    finish_reason: str | None
    usage: Usage | None
    system_instruction: str | None  # what was sent: read back from the previous interaction when asked to


@dataclass(frozen=True)
class StoredTurn:
    role: str  # user | model
    text: str
    media: list[str]  # MIME types (or kinds) of the media in the turn


def _gone(field: str, interaction_id: str) -> UserInputError:
    return UserInputError(
        f"{field}: the Gemini API no longer has this chat (its interaction {interaction_id} was deleted by "
        "chat_end, expired under the API's retention, or belongs to another API key's project); start a new one "
        "with chat_start"
    )


def _not_found(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) == 404


async def _read(call: GeminiCall, interaction_id: str, field: str, *, include_input: bool = False) -> Any:
    from google.genai import _interactions_errors as errors

    try:
        return await get_interaction(call, interaction_id, include_input=include_input)
    except errors.APIStatusError as exc:
        if _not_found(exc):
            raise _gone(field, interaction_id) from None
        raise


def _usage(interaction: itypes.Interaction) -> Usage | None:
    usage = interaction.usage
    if usage is None:
        return None
    return Usage(
        prompt_tokens=usage.total_input_tokens,
        output_tokens=usage.total_output_tokens,
        thinking_tokens=usage.total_thought_tokens,
        cached_tokens=usage.total_cached_tokens,
        total_tokens=usage.total_tokens,
    )


def _texts(blocks: list[Any]) -> str:
    return "".join(str(b.text) for b in blocks if getattr(b, "type", None) == "text" and getattr(b, "text", None))


async def send_stored(
    call: GeminiCall,
    *,
    model: str,
    message: str | list[dict[str, Any]],
    previous: str | None,
    system_instruction: str | None,
    system_from_previous: bool,
    config: Mapping[str, Any] | None,
    field: str = "chat_id",
) -> StoredReply:
    """The next message of a stored chat: a stored interaction continuing `previous` (None: the first message).
    `system_from_previous`: the system instruction was too long for the chat id, so it is read back from the
    previous interaction (which was sent it)."""
    from google.genai import _interactions_errors as errors

    if system_from_previous and previous is not None:
        system_instruction = (await _read(call, previous, field)).system_instruction
        if not system_instruction:
            call.notes.append("the system instruction could not be read back from the stored chat: sent without it")
    try:
        interaction = await create_interaction(
            call,
            model=model,
            input=message,
            generation_config=config or None,
            store=True,
            previous_interaction_id=previous,
            system_instruction=system_instruction,
        )
    except errors.APIStatusError as exc:
        if previous is not None and exc.status_code in (400, 404):
            await _read(call, previous, field)  # raises naming the chat when the API no longer has it
        raise
    blocks = output_blocks(interaction)
    text = _texts(blocks)
    status = status_of(interaction)
    finish = "STOP" if status == "completed" else None
    if status == "incomplete" and text:
        finish = "MAX_TOKENS"  # stopped early: the partial answer is still worth having
    else:
        refused = problem(interaction, who="Gemini", noun="answer", rephrase="Rephrase the message and try again")
        if refused is not None:
            raise refused
    if not text:
        raise GeminiCallError(
            f"Gemini returned an empty answer (interaction {interaction.id}). Retry or rephrase the message"
        )
    return StoredReply(str(interaction.id), text, finish, _usage(interaction), system_instruction)


def _said(content: Any) -> tuple[str, list[str]]:
    """(text, media types) of content blocks, a string, or one block."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    items = content if isinstance(content, list) else [content]
    texts: list[str] = []
    media: list[str] = []
    for item in items:
        kind = getattr(item, "type", None)
        if kind == "user_input":  # a list of steps: their content
            text, more = _said(getattr(item, "content", None) or [])
            texts.append(text)
            media += more
        elif kind == "text":
            texts.append(str(getattr(item, "text", "") or ""))
        elif kind is not None:
            media.append(str(getattr(item, "mime_type", None) or kind))
    return "".join(t for t in texts if t), media


def _turns_of(interaction: itypes.Interaction) -> list[StoredTurn]:
    """This interaction's own turn: its last user_input step (or, without steps for it, its input) and the
    model outputs after it."""
    steps = list(interaction.steps or [])
    asked = [i for i, step in enumerate(steps) if getattr(step, "type", None) == "user_input"]
    start = asked[-1] + 1 if asked else 0
    user = _said(getattr(steps[asked[-1]], "content", None) or []) if asked else _said(interaction.input)
    answer = [
        block
        for step in steps[start:]
        if getattr(step, "type", None) == "model_output"
        for block in getattr(step, "content", None) or []
    ]
    turns = [StoredTurn("user", user[0], user[1])]
    if answer:
        said = _said(answer)
        turns.append(StoredTurn("model", said[0], said[1]))
    return turns


def _forget_offloaded(call: GeminiCall, interaction: itypes.Interaction) -> None:
    """Large inline media in a read interaction are streamed to files by the transport: history needs only their
    types, so the files go."""
    folder = call.settings.output_dir.expanduser()
    contents = [interaction.input] if isinstance(interaction.input, list) else []
    contents += [getattr(step, "content", None) or [] for step in interaction.steps or []]
    for content in contents:
        for block in content:
            uri = getattr(block, "uri", None)
            path = offloaded_path(folder, uri) if isinstance(uri, str) else None
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()


async def stored_history(
    call: GeminiCall, last: str, *, limit: int, field: str = "chat_id"
) -> tuple[list[StoredTurn], bool]:
    """The turns of a stored chat, oldest first, read back from `last` along previous_interaction_id; at most
    `limit` messages. Also says whether older turns were left out."""
    chain: list[list[StoredTurn]] = []
    current: str | None = last
    while current is not None and len(chain) < limit:
        interaction = await _read(call, current, field, include_input=True)
        _forget_offloaded(call, interaction)
        chain.append(_turns_of(interaction))
        current = interaction.previous_interaction_id or None
    return [turn for turns in reversed(chain) for turn in turns], current is not None


async def delete_stored(call: GeminiCall, last: str, *, field: str = "chat_id") -> int:
    """Delete a stored chat's interactions, newest first; how many were deleted. The newest must exist (else the
    chat is unknown); an older one already gone (shared with a deleted branch) ends the walk."""
    from google.genai import _interactions_errors as errors

    deleted = 0
    current: str | None = last
    while current is not None and deleted < MAX_CHAIN:
        try:
            interaction = await get_interaction(call, current)
            await delete_interaction(call, current)
        except errors.APIStatusError as exc:
            if not _not_found(exc):
                raise
            if deleted == 0:
                raise _gone(field, current) from None
            break
        deleted += 1
        current = interaction.previous_interaction_id or None
    return deleted
