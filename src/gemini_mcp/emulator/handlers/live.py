"""The Live API: the BidiGenerateContent WebSocket the SDK's `client.aio.live.connect` opens.

The SDK turns the base URL into `wss://…/ws/google.ai.generativelanguage.{version}.GenerativeService.
BidiGenerateContent` (Developer API) or `…/ws/google.cloud.aiplatform.{version}.LlmBidiService/
BidiGenerateContent` (Vertex), so the emulator must serve TLS for it (`Emulator(ssl_certfile=…)`).

Exchange: the client's first message is `{"setup": {...}}`, answered with `{"setupComplete": {}}`; then
`clientContent` (text turns) and `realtimeInput` (16 kHz PCM audio chunks, ended by `audioStreamEnd`) are
answered with `serverContent` messages: the model's audio (24 kHz PCM, in chunks) or text, transcriptions when
the setup asked for them, `generationComplete`, and `turnComplete` with usage. A malformed setup closes the
socket with the API's codes: 1007 (invalid payload) or 1008 (unknown model / policy).

Function calling: when the setup declares functions (`tools[].functionDeclarations`) and a text turn names one,
the model answers with `toolCall: {functionCalls: [{id, name, args}]}` (args: a value for each required
parameter) and waits; the client's `toolResponse: {functionResponses: [{id, name, response}]}` completes the
turn, whose reply says what each function returned. An id the model never asked for closes the socket (1007).

Every client message is recorded (audio as its MIME type and byte count), so tests can check what was sent.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import anyio
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gemini_mcp.emulator import catalog, validate
from gemini_mcp.emulator.handlers.speech import RATE, synthesize
from gemini_mcp.emulator.state import EmulatorState, Registry
from gemini_mcp.emulator.wire import estimate_tokens, get
from gemini_mcp.voices import VOICES

OUTPUT_MIME = f"audio/pcm;rate={RATE}"
CHUNK_BYTES = RATE * 2 // 5  # 0.2 s of 16-bit mono audio per serverContent message
INVALID_PAYLOAD = 1007
POLICY = 1008


def register(registry: Registry) -> None:
    registry.route(WebSocketRoute("/ws/{service:path}", live_socket))


class SetupError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def live_socket(websocket: WebSocket) -> None:
    state: EmulatorState = websocket.app.state.emulator
    service = websocket.path_params["service"]
    await websocket.accept()
    refusal = _auth_refusal(websocket, state)
    if refusal is not None:
        await websocket.close(code=POLICY, reason=refusal)
        return
    try:
        setup = parse_setup(await receive_frame(websocket), service)
    except SetupError as refused:
        await websocket.close(code=refused.code, reason=refused.reason[:120])  # close reasons max 123 bytes
        return
    except WebSocketDisconnect:
        return
    state.record({"method": "WS", "path": websocket.url.path, "rpc": "bidiGenerateContent", "live": "setup", **setup})
    await websocket.send_text(json.dumps({"setupComplete": {}}))
    session = LiveTurns(websocket, state, setup)
    try:
        while True:
            message = json.loads(await receive_frame(websocket))
            await session.handle(message)
    except WebSocketDisconnect as gone:
        state.record({"rpc": "bidiGenerateContent", "live": "closed", "code": gone.code, "turns": session.turns})
    except ValueError:
        await websocket.close(code=INVALID_PAYLOAD, reason="Invalid JSON payload received.")


async def receive_frame(websocket: WebSocket) -> str:
    """The next message, text or binary (the SDK sends both; the API accepts JSON in either)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    if message.get("text") is not None:
        return str(message["text"])
    return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")


def _auth_refusal(websocket: WebSocket, state: EmulatorState) -> str | None:
    """The close reason for a connection without usable credentials, as the HTTP API would refuse it."""
    key = websocket.headers.get("x-goog-api-key") or websocket.query_params.get("key")
    if key and key.lower().startswith("invalid"):
        return "API key not valid. Please pass a valid API key."
    bearer = websocket.headers.get("authorization", "").lower().startswith(("bearer ", "token "))
    if key or bearer or not state.config.require_key:
        return None
    return "Method doesn't allow unregistered callers. Please use API Key or other form of API consumer identity."


def parse_setup(raw: str, service: str) -> dict[str, Any]:
    """The parts of the setup message the emulator acts on; raises SetupError as the API would close."""
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise SetupError(INVALID_PAYLOAD, f"Invalid JSON payload received. {exc}") from None
    setup = message.get("setup") if isinstance(message, dict) else None
    if not isinstance(setup, dict):
        raise SetupError(INVALID_PAYLOAD, "Invalid JSON payload received. The first message must be a setup.")
    name = str(setup.get("model") or "")
    model = name.rsplit("/", 1)[-1]
    spec = catalog.lookup(model)
    version = service.split(".")[3] if service.count(".") >= 4 else "v1beta"
    if not model or spec is None or "bidiGenerateContent" not in spec.methods:
        raise SetupError(
            POLICY,
            f"models/{model} is not found for API version {version}, or is not supported for bidiGenerateContent.",
        )
    config = get(setup, "generation_config") or {}
    modalities = [str(m).upper() for m in get(config, "response_modalities") or ["AUDIO"]]
    voice = get(
        get(get(get(config, "speech_config") or {}, "voice_config") or {}, "prebuilt_voice_config") or {}, "voice_name"
    )
    if voice is not None and voice not in VOICES:
        raise SetupError(INVALID_PAYLOAD, f"Invalid voice name {voice}.")
    system = get(setup, "system_instruction")
    functions = [
        declaration
        for tool in get(setup, "tools") or []
        for declaration in get(tool, "function_declarations") or []
        if isinstance(declaration, dict) and declaration.get("name")
    ]
    return {
        "functions": functions,
        "model": spec.id,
        "modalities": modalities,
        "voice": voice or "Puck",
        "system": " ".join(str(p.get("text", "")) for p in get(system, "parts") or []) if system else None,
        "input_transcription": get(setup, "input_audio_transcription") is not None,
        "output_transcription": get(setup, "output_audio_transcription") is not None,
    }


class LiveTurns:
    """One connection's turns: collect input until a turn ends, then answer it."""

    def __init__(self, websocket: WebSocket, state: EmulatorState, setup: dict[str, Any]) -> None:
        self.websocket = websocket
        self.state = state
        self.setup = setup
        self.audio = bytearray()
        self.audio_mime: str | None = None
        self.turns = 0
        self.pending: dict[str, str] = {}  # the model's calls awaiting a toolResponse: id → function name
        self.calls = 0

    async def handle(self, message: dict[str, Any]) -> None:
        content = get(message, "client_content")
        realtime = get(message, "realtime_input")
        tool_response = get(message, "tool_response")
        self.state.record(
            {"method": "WS", "rpc": "bidiGenerateContent", "live": "message", "message": summarize(message)}
        )
        if isinstance(tool_response, dict):
            await self.answer_tools(get(tool_response, "function_responses") or [])
            return
        if isinstance(content, dict):
            text = " ".join(
                str(part.get("text", "")) for turn in get(content, "turns") or [] for part in get(turn, "parts") or []
            ).strip()
            if get(content, "turn_complete"):
                await self.answer(text=text)
            return
        if isinstance(realtime, dict):
            for chunk in [get(realtime, "audio"), *(get(realtime, "media_chunks") or [])]:
                if isinstance(chunk, dict) and get(chunk, "data"):
                    self.audio += validate.b64decode(str(get(chunk, "data")))
                    self.audio_mime = str(get(chunk, "mime_type") or "")
            if get(realtime, "text"):
                await self.answer(text=str(get(realtime, "text")))
            elif get(realtime, "audio_stream_end") or get(realtime, "activity_end") is not None:
                await self.answer(audio=bytes(self.audio))
                self.audio.clear()

    async def answer(self, text: str = "", audio: bytes = b"", reply: str | None = None) -> None:
        model = self.setup["model"]
        heard = text
        if audio:
            rate = _rate(self.audio_mime) or 16_000
            heard = f"[emulated transcription of {len(audio) / 2 / rate:.2f} s of audio at {rate} Hz]"
        send = self.websocket.send_text
        asked = [f for f in self.setup["functions"] if re.search(rf"\b{re.escape(f['name'])}\b", text)]
        if reply is None and asked:
            # The model calls the functions the user named, and waits for their toolResponse to finish the turn.
            calls = []
            for declaration in asked:
                self.calls += 1
                call_id = f"function-call-{self.calls}"
                self.pending[call_id] = declaration["name"]
                calls.append({"id": call_id, "name": declaration["name"], "args": _placeholder_args(declaration)})
            await send(json.dumps({"toolCall": {"functionCalls": calls}}))
            return
        self.turns += 1
        reply = reply or f"[emulated {model}] Turn {self.turns}: you said {heard!r}."
        if audio and self.setup["input_transcription"]:
            await send(json.dumps({"serverContent": {"inputTranscription": {"text": heard}}}))
        if "AUDIO" in self.setup["modalities"]:
            pcm = synthesize(reply, [self.setup["voice"]])
            for start in range(0, len(pcm), CHUNK_BYTES):
                data = base64.b64encode(pcm[start : start + CHUNK_BYTES]).decode()
                part: dict[str, Any] = {"inlineData": {"mimeType": OUTPUT_MIME, "data": data}}
                await send(json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}))
                await self._pace()
            if self.setup["output_transcription"]:
                middle = len(reply) // 2
                for piece in (reply[:middle], reply[middle:]):
                    await send(json.dumps({"serverContent": {"outputTranscription": {"text": piece}}}))
        else:
            for word_start in range(0, len(reply), 40):
                part = {"text": reply[word_start : word_start + 40]}
                await send(json.dumps({"serverContent": {"modelTurn": {"parts": [part]}}}))
                await self._pace()
        await send(json.dumps({"serverContent": {"generationComplete": True}}))
        prompt_tokens = estimate_tokens(text) + len(audio) // 1000
        usage = {
            "promptTokenCount": prompt_tokens,
            "responseTokenCount": estimate_tokens(reply),
            "totalTokenCount": prompt_tokens + estimate_tokens(reply),
        }
        await send(json.dumps({"serverContent": {"turnComplete": True}, "usageMetadata": usage}))

    async def answer_tools(self, responses: list[Any]) -> None:
        """The turn a toolResponse completes; an id the model never asked for closes the socket like the API."""
        said: list[str] = []
        for response in responses:
            call_id = str(get(response, "id") or "")
            if call_id not in self.pending:
                await self.websocket.close(code=INVALID_PAYLOAD, reason=f"Unknown function call id {call_id!r}.")
                return
            name = self.pending.pop(call_id)
            said.append(f"{name} returned {json.dumps(get(response, 'response'), sort_keys=True)}")
        await self.answer(reply=f"[emulated {self.setup['model']}] Turn {self.turns + 1}: {'; '.join(said)}.")

    async def _pace(self) -> None:
        delay = self.state.config.stream_chunk_delay_s
        if delay:
            await anyio.sleep(delay)


def summarize(message: dict[str, Any]) -> dict[str, Any]:
    """The message as recorded: audio data replaced by its MIME type, size and samples' peak."""

    def shrink(value: Any) -> Any:
        if isinstance(value, dict):
            if "data" in value and isinstance(value["data"], str):
                raw = validate.b64decode(value["data"])
                mime = value.get("mimeType") or value.get("mime_type")
                return {"mimeType": mime, "bytes": len(raw)}
            return {k: shrink(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shrink(v) for v in value]
        return value

    return shrink(message)  # type: ignore[no-any-return]


def _placeholder_args(declaration: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a declared function's required parameters: a value of each one's type."""
    schema = get(declaration, "parameters_json_schema") or get(declaration, "parameters") or {}
    properties = get(schema, "properties") or {}
    values = {"string": "emulated", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    return {
        name: values.get(str(get(properties.get(name) or {}, "type") or "string").lower(), "emulated")
        for name in get(schema, "required") or []
    }


def _rate(mime: str | None) -> int | None:
    for piece in (mime or "").split(";"):
        name, _, value = piece.strip().partition("=")
        if name == "rate" and value.isdigit():
            return int(value)
    return None
