"""Live API tools: spoken (or text) conversation with a native-audio Gemini model over its WebSocket.

`live_converse` is one turn in one call; `live_session_start` / `live_send` / `live_session_end` keep a
session (and its memory of the conversation) across calls. Input is text and/or an audio clip (WAV or raw
PCM, converted to the 16 kHz mono PCM the API takes); the reply is WAV audio (or text) with transcripts.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.spec import BARE_OBJECT, ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.functions import Declared, Returned
from gemini_mcp.gemini.live import LiveReply, connect, connect_config, run_turn
from gemini_mcp.gemini.models import ModelError, Task, pick
from gemini_mcp.media.audio import AudioDecodeError, pcm_format, pcm_to_wav, to_pcm16_mono
from gemini_mcp.media.cpu import off_loop
from gemini_mcp.media.inputs import MediaInput, load_media
from gemini_mcp.media.store import OUTPUT_FIELD_DESCRIPTION, OutputMode, SavedMedia
from gemini_mcp.tools._live_sessions import LiveSessions
from gemini_mcp.tools.functions import FunctionDeclaration, check_declarations
from gemini_mcp.voices import Voice

_VOICE = "For spoken replies, e.g. Kore, Puck; list_voices gives all 30."
_AUDIO = "WAV (any rate), or raw PCM with mime_type 'audio/pcm;rate=N'; path, data or gemini://media URI."


# --- inputs and outputs ---------------------------------------------------------------------------------
class TurnInput(ToolInput):
    text: Annotated[str | None, Field(description="What to say, with or without `audio`.")] = None
    audio: Annotated[MediaInput | None, Field(description=_AUDIO)] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


class SessionSettings(ToolInput):
    voice: Annotated[Voice | None, WithJsonSchema({"type": "string"}), Field(description=_VOICE)] = None
    system_instruction: Annotated[str | None, Field(description="Persona and rules for the session.")] = None
    response_modality: Annotated[
        Literal["audio", "text"], Field(description="audio: a WAV reply with its transcript.")
    ] = "audio"
    model: Annotated[str | None, Field(description="native audio (default), gemini live, or an id.")] = None


class LiveConverseInput(TurnInput, SessionSettings):
    """One turn: open a session, say something, get the reply, close."""


class LiveSessionStartInput(SessionSettings):
    """Open a session for several turns."""

    functions: Annotated[
        list[Annotated[FunctionDeclaration, BARE_OBJECT]] | None,
        Field(max_length=128, description="Functions the model may call: {name, description, parameters}."),
    ] = None


class ToolResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    response: dict[str, Any]


class LiveToolCall(ToolOutput):
    id: Annotated[str, Field(description="Answer it in tool_responses with this id.")]
    name: str
    args: dict[str, Any]


class LiveSendInput(TurnInput):
    session_id: Annotated[str, Field(description="From live_session_start.")]
    tool_responses: Annotated[
        list[Annotated[ToolResponse, BARE_OBJECT]] | None,
        Field(description="Results of the model's tool_calls: {id, name, response}."),
    ] = None


class LiveSessionEndInput(ToolInput):
    session_id: Annotated[str, Field(description="From live_session_start.")]


class Timing(ToolOutput):
    first_reply_ms: Annotated[float | None, Field(description="From sending to the first reply chunk.")] = None
    total_ms: Annotated[float, Field(description="From sending to turnComplete.")]
    audio_seconds: Annotated[float, Field(description="Length of the spoken reply.")] = 0.0


class LiveTurnOutput(ToolOutput):
    model: str
    session_id: Annotated[str | None, Field(description="The session, for live_send turns.")] = None
    turn: Annotated[int | None, Field(description="Turn number within the session.")] = None
    audio: Annotated[SavedMedia | None, Field(description="The spoken reply, saved as WAV.")] = None
    output_transcript: Annotated[str | None, Field(description="What the model said, as text.")] = None
    input_transcript: Annotated[str | None, Field(description="What the model heard from your audio.")] = None
    text: Annotated[str | None, Field(description="The reply, in text mode.")] = None
    tool_calls: Annotated[
        list[LiveToolCall] | None, Field(description="Functions to run; answer with live_send tool_responses.")
    ] = None
    timing: Timing
    usage: dict[str, Any] | None = None


class LiveSessionOutput(ToolOutput):
    session_id: str
    model: str
    response_modality: str
    voice: str | None = None
    idle_timeout_s: Annotated[float, Field(description="Closed after this long without a turn.")]
    max_duration_s: Annotated[float, Field(description="The API's limit on one session.")] = 900


class LiveSessionEndOutput(ToolOutput):
    session_id: str
    closed: bool
    turns: int


def _voice(voice: Voice | None) -> str | None:
    return voice.value if voice is not None else None


# --- the Gemini calls --------------------------------------------------------------------------------------
def sessions(call: Call) -> LiveSessions:
    def make() -> LiveSessions:
        store = LiveSessions(call.settings.live_max_sessions, call.settings.live_idle_seconds)
        call.services.shutdown_hooks.append(store.close_all)
        return store

    return call.services.process_state(
        "live_sessions",
        make,
        what="live sessions",
        why="a session is a connection held by one server process",
        instead="Use live_converse, which needs no session",
    )


async def turn_input(args: TurnInput, call: Call) -> tuple[str | None, bytes | None]:
    text = args.text.strip() if args.text and args.text.strip() else None
    if text is None and args.audio is None:
        raise UserInputError("text or audio: give at least one (what to say to the model)")
    pcm = None
    if args.audio is not None:
        loaded = await load_media(args.audio, call, field="audio")
        if loaded.data is None:
            raise UserInputError("audio: give the clip itself (path, data or gemini://media URI), not a remote file")
        try:
            mime = args.audio.mime_type or loaded.mime_type
            pcm = await off_loop(to_pcm16_mono, loaded.data, mime, size=len(loaded.data))
        except AudioDecodeError as exc:
            raise UserInputError(str(exc)) from None
        if not pcm:
            raise UserInputError("audio: the clip has no samples")
    return text, pcm


def live_model(args: SessionSettings, call: Call) -> str:
    """The Live model for these settings, for the configured backend; one that replies only in audio is refused
    a text session (the catalog says which)."""
    resolution = pick(call, args.model, Task.LIVE)
    entry = resolution.entry
    if args.response_modality == "text" and entry is not None and entry.output and "text" not in entry.output:
        raise ModelError(
            f"response_modality: {resolution.model} replies in audio only; use 'audio' (the reply comes with its "
            "transcript) or a model that replies in text, such as 'native audio'"
        )
    return resolution.model


async def live_converse(args: LiveConverseInput, call: Call) -> CallToolResult:
    call.model = model = live_model(args, call)
    text, pcm = await turn_input(args, call)
    config = connect_config(args.response_modality, _voice(args.voice), args.system_instruction)
    async with connect(await call.client(), model, config) as session:
        reply = await run_turn(session, call, text, pcm)
    return await deliver_reply(call, model, reply, args.output, hint=text or "audio turn")


async def live_session_start(args: LiveSessionStartInput, call: Call) -> CallToolResult:
    call.model = model = live_model(args, call)
    check_declarations(args.functions or [])
    offered = [Declared(f.name, f.description, f.parameters) for f in args.functions or []]
    store = sessions(call)
    session = await store.open(
        call, model, args.response_modality, _voice(args.voice), args.system_instruction, offered
    )
    output = LiveSessionOutput(
        session_id=session.id,
        model=model,
        response_modality=args.response_modality,
        voice=_voice(args.voice),
        idle_timeout_s=store.idle_s,
    )
    return structured_result(output, text=f"Live session {session.id} is open ({model}); send turns with live_send.")


async def live_send(args: LiveSendInput, call: Call) -> CallToolResult:
    store = sessions(call)
    session = store.get(args.session_id)
    call.model = session.model
    answers = _tool_answers(args, session.pending)
    text, pcm = (None, None) if answers and not (args.text or args.audio) else await turn_input(args, call)
    reply = await store.send(call, session, text, pcm, answers)
    return await deliver_reply(
        call, session.model, reply, args.output, hint=text or "audio turn", session_id=session.id, turn=session.turns
    )


async def live_session_end(args: LiveSessionEndInput, call: Call) -> CallToolResult:
    store = sessions(call)
    session = store.get(args.session_id)
    await store.close(session)
    output = LiveSessionEndOutput(session_id=session.id, closed=True, turns=session.turns)
    return structured_result(output, text=f"Live session {session.id} closed after {session.turns} turns.")


def _tool_answers(args: LiveSendInput, pending: dict[str, str]) -> list[Returned]:
    """The results for the calls the model is waiting on: every one answered, none it did not make."""
    given = args.tool_responses or []
    waiting = ", ".join(f"{name} (id {call_id})" for call_id, name in pending.items())
    if pending and not given:
        raise UserInputError(
            f"tool_responses: the model is waiting for the results of {waiting}; run them and pass "
            "tool_responses=[{id, name, response}] in this live_send"
        )
    for index, response in enumerate(given):
        if response.id not in pending:
            what = f"it is waiting for {waiting}" if pending else "it made no call that waits for one"
            raise UserInputError(f"tool_responses[{index}].id: '{response.id}' is not a call of the model's; {what}")
        if pending[response.id] != response.name:
            raise UserInputError(
                f"tool_responses[{index}].name: call {response.id} is '{pending[response.id]}', not '{response.name}'"
            )
    missing = set(pending) - {r.id for r in given}
    if missing:
        raise UserInputError(f"tool_responses: answer every call the model made; missing {', '.join(sorted(missing))}")
    return [Returned(r.name, {}, r.id, r.response) for r in given]


# --- the conversion to MCP content ----------------------------------------------------------------------
async def deliver_reply(
    call: Call,
    model: str,
    reply: LiveReply,
    output: OutputMode,
    *,
    hint: str,
    session_id: str | None = None,
    turn: int | None = None,
) -> CallToolResult:
    blocks: list[ContentBlock] = []
    saved = None
    if reply.pcm:
        wav = pcm_to_wav(reply.pcm, pcm_format(reply.pcm_mime))
        delivered = await deliver(
            call,
            wav,
            mime_type="audio/wav",
            kind="live",
            hint=hint[:40],
            output=output,
            description=reply.output_transcript[:80] or None,
        )
        saved = delivered.saved
        blocks.extend(delivered.content)
    said = reply.text or reply.output_transcript
    calls = [LiveToolCall(id=c.id or "", name=c.name, args=c.args) for c in reply.tool_calls]
    lines = [said] if said else [] if calls else ["(no words in the reply)"]
    for asked in calls:
        lines.append(f"The model calls {asked.name}({json.dumps(asked.args)}) id={asked.id}")
    if calls:
        lines.append("Run them, then answer with live_send tool_responses=[{id, name, response}].")
    if reply.input_transcript:
        lines.append(f"Heard: {reply.input_transcript}")
    if saved is not None:
        lines.append(f"{reply.audio_seconds:.1f} s of audio, saved: {saved.path}")
    blocks.append(TextContent(type="text", text="\n".join(lines)))
    result = LiveTurnOutput(
        model=model,
        session_id=session_id,
        turn=turn,
        audio=saved,
        output_transcript=reply.output_transcript or None,
        input_transcript=reply.input_transcript or None,
        text=reply.text or None,
        tool_calls=calls or None,
        timing=Timing(
            first_reply_ms=round(reply.first_reply_ms, 1) if reply.first_reply_ms is not None else None,
            total_ms=round(reply.total_ms, 1),
            audio_seconds=round(reply.audio_seconds, 3),
        ),
        usage=reply.usage,
    )
    return structured_result(result, blocks)


_TALKS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="live_converse",
        title="Talk to Gemini Live (one turn)",
        description=(
            "Say something to a native-audio Gemini model over the Live API and get its spoken reply: give "
            "`text` and/or `audio` (a WAV clip). Returns the reply as WAV audio (inline when small, plus a "
            "resource link), what it said and what it heard as transcripts, and timing. For a conversation that "
            "remembers earlier turns, use live_session_start and live_send instead."
        ),
        input_model=LiveConverseInput,
        output_model=LiveTurnOutput,
        handler=live_converse,
        annotations=_TALKS,
    ),
    ToolSpec(
        name="live_session_start",
        title="Start a Gemini Live session",
        description=(
            "Open a Live API session (voice, system instruction, audio or text replies) and get its session_id; "
            "then talk with live_send, and close it with live_session_end. With `functions`, the model may call "
            "them: live_send returns its tool_calls, which you run and answer with tool_responses on the next "
            "live_send. Sessions close by themselves after "
            "GEMINI_MCP_LIVE_IDLE_SECONDS without a turn and after the API's 15-minute limit."
        ),
        input_model=LiveSessionStartInput,
        output_model=LiveSessionOutput,
        handler=live_session_start,
        annotations=_TALKS,
    ),
    ToolSpec(
        name="live_send",
        title="Say something in a Gemini Live session",
        description=(
            "One turn in an open Live session: `text` and/or `audio` in, the spoken (or text) reply out with "
            "transcripts, or the tool_calls it wants run (answer them with `tool_responses`); the model remembers "
            "the session's earlier turns. Progress is reported while it speaks."
        ),
        input_model=LiveSendInput,
        output_model=LiveTurnOutput,
        handler=live_send,
        annotations=_TALKS,
    ),
    ToolSpec(
        name="live_session_end",
        title="End a Gemini Live session",
        description="Close a Live session started with live_session_start (its connection and memory end).",
        input_model=LiveSessionEndInput,
        output_model=LiveSessionEndOutput,
        handler=live_session_end,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
        ),
    ),
]
