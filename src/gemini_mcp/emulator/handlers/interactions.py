"""The Interactions API (`client.aio.interactions`, google-genai 3.6.1's generated `_gaos` client).

Routes, for the Developer API (`/{ver}`) and the Vertex form (`/{ver}/projects/{p}/locations/{l}`), each
recorded under the rpc name in brackets (for `wait_for_requests(rpc=…)` and fault `match`):
  POST   {prefix}/interactions                  [interactions.create]  body: CreateModelInteraction /
         CreateAgentInteraction, snake_case; `stream: true` answers server-sent events
  GET    {prefix}/interactions/{id}             [interactions.get]     ?include_input, ?stream, ?last_event_id
  POST   {prefix}/interactions/{id}/cancel      [interactions.cancel]
  DELETE {prefix}/interactions/{id}             [interactions.delete]  → `{}`, then 404
  GET    {prefix}/interactionMedia/{blob}:download  [interactions.download]  outputs delivered by URI; the
         API key is required like on every API route

Lifecycle. A `background: true` interaction is an operation of the emulator's registry named
`interactions/{id}`: `status` is `in_progress` until it finishes (`config.operation_duration_s`, 0: at the
first get; `hold_operations`: on command, `Emulator.finish_operation(id)` / `finish_all()`), then
`completed`, or `failed` with `errors` (`fail_operation(id, message, code)`; code 1, CANCELLED, reads as
`cancelled`). The types have no progress field: `set_progress` only changes what the Deep Research agent
reports (its `thought` steps). Other creates complete inline. Stored interactions (`store` defaults to true;
background ones must be stored) can be read, continued (`previous_interaction_id`), cancelled while running
(else 400 FAILED_PRECONDITION) and deleted.

Outputs: one `model_output` step whose content carries the result, which the SDK also exposes as
`output_video` / `output_audio` / `output_text`:
  video (gemini-omni-*): `{"type": "video", "data": base64 MP4, "mime_type": "video/mp4"}` — a real MP4
    (movies.mp4) sized by resolution and aspect ratio, as long as asked; `{"uri": …}` instead when
    `response_format.delivery` is "uri" or `config.extra["interactions_video_as_uri"]`;
    `config.extra["video_bytes"]` sets the payload size. `output_bytes(state, id)` gives the exact bytes.
  text models: `[emulated MODEL] Answer to: PROMPT` (+ the conversation turns seen through
    previous_interaction_id); music (lyria-*): the lyrics and structure as text, then an MP3 (real MPEG
    frames that decode to silence, 44.1 kHz; `response_format` audio/wav or audio/l16 give a tone), 30 s for
    the clip model, else the length the prompt asks for ("a 45 second…", "3 minutes", default 120 s);
    gemini-3.5-transcribe: a transcript with `word_info` annotations; Deep Research agents (background
    only): `thought` steps, then a markdown report whose `url_citation` annotations name its sources.
Scripted by prompt: "unsafe" → `failed`, `errors: [{"code": "SAFETY", …}]` and the model_output step's
`error` (google.rpc.Status code 3 with an ErrorInfo reason SAFETY); "[[fail]]" → `failed`,
`errors: [{"code": "INTERNAL", …}]`. Refusals use Google's error envelope, which the SDK raises as
`google.genai._interactions_errors.BadRequestError` / `NotFoundError` / ….
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
import json
import math
import secrets
import struct
import threading
import time
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gemini_mcp.emulator import interactions_rules as rules
from gemini_mcp.emulator.movies import mp4
from gemini_mcp.emulator.state import EmulatorState, Registry
from gemini_mcp.emulator.validate import MAX_REQUEST_BYTES, file_id_of
from gemini_mcp.emulator.wire import ApiError, estimate_tokens
from gemini_mcp.media.mp4 import aspect_ratio, probe

VERSIONS = ("v1", "v1beta", "v1alpha", "v1beta1")
VIDEO_SIZES = {
    ("16:9", "360p"): (640, 360),
    ("9:16", "360p"): (360, 640),
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
    ("16:9", "4k"): (3840, 2160),
    ("9:16", "4k"): (2160, 3840),
}
TOKENS_PER_VIDEO_SECOND = 5792
MEDIA_TOKENS = 258
CANCELLED = 1  # google.rpc.Code
RPC_NAMES = {1: "CANCELLED", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 8: "RESOURCE_EXHAUSTED"}
RPC_NAMES |= {9: "FAILED_PRECONDITION", 13: "INTERNAL", 14: "UNAVAILABLE"}
SAFETY_MESSAGE = (
    "The output was blocked by safety filters because the prompt may violate the usage policies. "
    "Rephrase the prompt and try again. Support codes: 29310472"
)
FAIL_MESSAGE = "Generation failed: internal error."
MP3_BIT_RATE_INDEX = {
    kbps * 1000: i for i, kbps in enumerate((0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320))
}
MP3_RATE_INDEX = {44100: 0, 48000: 1, 32000: 2}
RESEARCH_PHASES = ("Planning the research", "Searching the web", "Reading sources", "Writing the report")


def register(registry: Registry) -> None:
    for prefix in ("/{ver}", "/{ver}/projects/{project}/locations/{location}"):
        registry.route(Route(f"{prefix}/interactions", _endpoint(create), methods=["POST"]))
        registry.route(Route(f"{prefix}/interactions/{{iid}}", _endpoint(get_or_delete), methods=["GET", "DELETE"]))
        registry.route(Route(f"{prefix}/interactions/{{iid}}/cancel", _endpoint(cancel), methods=["POST"]))
        registry.route(Route(f"{prefix}/interactionMedia/{{blob}}:download", _endpoint(download), methods=["GET"]))


@dataclass
class Call:
    request: Request
    state: EmulatorState
    api_version: str
    backend: str
    prefix: str  # scheme://host/{ver}[/projects/{p}/locations/{l}]


def _endpoint(handler: Callable[[Call], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        version = request.path_params["ver"]
        try:
            if version not in VERSIONS:
                raise ApiError(404, f"Method not found: {request.method} {request.url.path}", "NOT_FOUND")
            project = request.path_params.get("project")
            location = request.path_params.get("location")
            prefix = f"{str(request.base_url).rstrip('/')}/{version}"
            if project is not None:
                prefix += f"/projects/{project}/locations/{location}"
            backend = "vertex" if project is not None or version == "v1beta1" else "gemini"
            return await handler(Call(request, request.app.state.emulator, version, backend, prefix))
        except ApiError as exc:
            return exc.response()

    return run


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _operation(interaction_id: str) -> str:
    return f"interactions/{interaction_id}"


# Create ---------------------------------------------------------------------------------------------------
async def create(call: Call) -> Response:
    raw = await call.request.body()
    if len(raw) > MAX_REQUEST_BYTES:
        raise rules.bad(f"Request payload size exceeds the limit: {MAX_REQUEST_BYTES} bytes.")
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise rules.bad(f"Invalid JSON payload received. {exc}") from exc
    if not isinstance(body, dict):
        raise rules.bad("Invalid JSON payload received. Expected an object.")
    state = call.state
    request = rules.parse(body, call.api_version, call.backend, state.files, time.monotonic())
    previous = _previous(state, request.previous_id)
    interaction_id = f"v1_{secrets.token_hex(12)}"
    created = _now()
    record: dict[str, Any] = {
        "id": interaction_id,
        "request": request,
        "created": created,
        "updated": created,
        "operation": _operation(interaction_id) if request.background else None,
        "outcome": None,
        "turns": [*(previous["turns"] if previous else []), request.prompt],
    }
    if request.kind == "video":
        record["video"] = _plan_video(state, request, previous)
    if request.store:
        state.interactions[interaction_id] = record
    if request.background:
        state.add_operation(_operation(interaction_id), {"interaction_id": interaction_id, "kind": request.kind})
        if request.stream:
            return _sse(call, record, None)
        return JSONResponse(_render(call, record, running=True))
    if request.stream:
        return _sse(call, record, None)
    return JSONResponse(_render(call, record))


def _previous(state: EmulatorState, previous_id: str | None) -> dict[str, Any] | None:
    if previous_id is None:
        return None
    record = state.interactions.get(previous_id)
    if record is None:
        raise ApiError(404, f"previous_interaction_id: interaction {previous_id} was not found.", "NOT_FOUND")
    status, _ = _status(state, record)
    if status == "in_progress":
        raise rules.bad(
            f"previous_interaction_id: interaction {previous_id} is still in_progress; continue it once it completed."
        )
    return record


# Video planning: everything that can be refused is decided at create time, the bytes are made on demand.
def _source_video(state: EmulatorState, block: rules.Block) -> bytes | None:
    if block.data is not None:
        return block.data
    uri = block.uri or ""
    if "/interactionMedia/" in uri:
        blob = uri.split("/interactionMedia/", 1)[1].split(":", 1)[0]
        found = state.blobs.get(blob)
        return found[0] if found else None
    file_id = file_id_of(uri)
    entry = state.files.get(file_id) if file_id else None
    return entry["data"] if entry else None


def _plan_video(state: EmulatorState, request: rules.Request, previous: dict[str, Any] | None) -> dict[str, Any]:
    options = request.options
    where = options["format_where"]
    task = options["task"]
    videos = request.media("video")
    images = request.media("image")
    source: dict[str, Any] | None = None
    if videos:
        data = _source_video(state, videos[0])
        info = probe(data) if data else None
        if info is not None and info.width and info.height:
            source = {"width": info.width, "height": info.height, "duration": info.duration_s or 8.0}
    elif previous is not None and previous.get("video") and _status(state, previous)[0] == "completed":
        source = dict(previous["video"])
        if not options["task_given"] and not images:
            task = "edit"
    if task in ("edit", "extend", "upscale") and not videos and source is None:
        raise rules.bad(
            f"generation_config.video_config.task: {task} needs a video in the input, or previous_interaction_id "
            "of a completed video interaction."
        )
    if task == "edit" and options["duration"] is not None:
        raise rules.bad(f"{where}.duration: an edit keeps the source video's length; remove duration.")
    spec = rules.VIDEO_MODELS[request.name]
    source_aspect = aspect_ratio(source["width"], source["height"]) if source else None
    aspect = options["aspect_ratio"] or source_aspect or "16:9"
    if task in ("edit", "extend") and source_aspect in rules.ASPECT_RATIOS and aspect != source_aspect:
        raise rules.bad(
            f"{where}.aspect_ratio: {task} keeps the source video's aspect ratio ({source_aspect}); "
            "remove aspect_ratio or make it match."
        )
    if aspect not in rules.ASPECT_RATIOS:
        aspect = "16:9"
    default_resolution = "1080p" if task == "upscale" else "720p"
    resolution = options["resolution"] or default_resolution
    if resolution not in spec.resolutions:
        resolution = spec.resolutions[0]
    if (
        task == "upscale"
        and source is not None
        and min(VIDEO_SIZES[(aspect, resolution)]) <= min(source["width"], source["height"])
    ):
        raise rules.bad(f"{where}.resolution: upscale needs a resolution above the source's; use 1080p or 4k.")
    if task in ("edit", "upscale") and source is not None:
        duration = float(source["duration"])
    elif task == "extend" and source is not None:
        duration = float(source["duration"]) + (options["duration"] or rules.EXTEND_DEFAULT_S)
    else:
        duration = float(options["duration"] or rules.DEFAULT_VIDEO_S)
    media = hashlib.sha256()
    for block in request.blocks:
        media.update((block.data or (block.uri or "").encode()) if block.kind != "text" else b"")
    width, height = VIDEO_SIZES[(aspect, resolution)]
    seed = "|".join(
        [
            request.name,
            task,
            request.prompt,
            request.previous_id or "",
            aspect,
            resolution,
            f"{duration:g}",
            media.hexdigest(),
        ]
    )
    return {
        "task": task,
        "width": width,
        "height": height,
        "duration": duration,
        "aspect": aspect,
        "resolution": resolution,
        "seed": seed,
        "size": int(state.config.extra.get("video_bytes", 48_000)),  # fixed at create, like the video itself
    }


def output_bytes(state: EmulatorState, interaction_id: str) -> bytes:
    """The exact bytes of an interaction's video or audio output (for tests comparing what they saved)."""
    record = state.interactions[interaction_id]
    return _media(state, record)[0]


def output_text(state: EmulatorState, interaction_id: str) -> str:
    """The text a finished interaction answered (a research report, a transcript, Lyria's lyrics), for tests."""
    record = state.interactions[interaction_id]
    outcome = record.get("outcome") or {}
    return "\n\n".join(
        block["text"]
        for step in outcome.get("steps") or []
        if step.get("type") == "model_output"
        for block in step.get("content") or []
        if block.get("type") == "text"
    )


def _media(state: EmulatorState, record: dict[str, Any]) -> tuple[bytes, str, dict[str, Any]]:
    """(bytes, mime type, extra content fields) of a video or music interaction's output."""
    request: rules.Request = record["request"]
    if request.kind == "video":
        video = record["video"]
        return mp4(video["width"], video["height"], video["duration"], video["seed"], video["size"]), "video/mp4", {}
    options = request.options
    seed = f"{request.name}|{request.prompt}|{request.previous_id or ''}"
    if options["mime_type"] == "audio/mp3":
        data = _mp3(seed, options["seconds"], options["sample_rate"], options["bit_rate"])
        return data, "audio/mp3", {"sample_rate": options["sample_rate"], "channels": 2}
    pcm = _tone(seed, options["seconds"], options["sample_rate"])
    if options["mime_type"] == "audio/l16":
        return pcm, "audio/l16", {"sample_rate": options["sample_rate"], "channels": 1}
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(options["sample_rate"])
        wav.writeframes(pcm)
    return out.getvalue(), "audio/wav", {"sample_rate": options["sample_rate"], "channels": 1}


def _mp3(seed: str, seconds: float, rate: int, bit_rate: int) -> bytes:
    """Real MPEG-1 Layer III frames (stereo) that decode to silence: their side information is all zero, so
    the seeded bytes after it are ancillary data. Any MP3 reader gets the right duration from them."""
    header = bytes([0xFF, 0xFB, MP3_BIT_RATE_INDEX[bit_rate] << 4 | MP3_RATE_INDEX[rate] << 2, 0x04])
    size = 144 * bit_rate // rate
    filler = hashlib.sha256(seed.encode()).digest()
    frame = header + bytes(32) + (filler * (size // len(filler) + 1))[: size - 36]
    return frame * max(1, round(seconds * rate / 1152))


def _lyrics(request: rules.Request) -> str:
    """What Lyria always answers besides the audio: the lyrics and the song's structure."""
    head = f"[emulated {request.name}] Lyrics and structure for: {request.prompt}\n\n"
    if "instrumental" in request.prompt.lower():
        return head + "[Intro]\n(instrumental)\n\n[Main theme]\n(instrumental)\n\n[Outro]\n(instrumental)"
    return head + f"[Verse 1]\nA song about {request.prompt}\n\n[Chorus]\n{request.prompt}, all night long\n\n[Outro]"


def _tone(seed: str, seconds: float, rate: int) -> bytes:
    """One second of a chord picked by `seed`, repeated: cheap to make however long the track is."""
    digest = hashlib.sha256(seed.encode()).digest()
    pitches = [110.0 * 2 ** (digest[i] / 64) for i in range(3)]
    second = b"".join(
        struct.pack("<h", int(3000 * sum(math.sin(2 * math.pi * p * i / rate) for p in pitches))) for i in range(rate)
    )
    whole, part = divmod(int(seconds * rate), rate)
    return second * whole + second[: part * 2]


# State and rendering --------------------------------------------------------------------------------------
def _status(state: EmulatorState, record: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(status, operation error) as a get sees it now."""
    name = record["operation"]
    if name is None:
        return _final_status(record), None
    job = state.operation(name)
    if job is None or not job["done"]:
        return "in_progress", None
    error = job["error"]
    if error is not None:
        return ("cancelled" if error.get("code") == CANCELLED else "failed"), error
    return _final_status(record), None


def _final_status(record: dict[str, Any]) -> str:
    prompt = record["request"].prompt
    return "failed" if "[[fail]]" in prompt or "unsafe" in prompt.lower() else "completed"


def _render(
    call: Call, record: dict[str, Any], *, running: bool = False, include_input: bool = False
) -> dict[str, Any]:
    request: rules.Request = record["request"]
    status, error = ("in_progress", None) if running else _status(call.state, record)
    body: dict[str, Any] = {"id": record["id"], "status": status, "created": record["created"]}
    body["agent" if request.is_agent else "model"] = request.name
    for key in (
        "previous_interaction_id",
        "generation_config",
        "response_format",
        "agent_config",
        "system_instruction",
    ):
        if request.body.get(key) is not None:
            body[key] = request.body[key]
    steps: list[dict[str, Any]] = []
    if include_input:
        body["input"] = request.body.get("input")
        steps.append({"type": "user_input", "content": [_echo(b) for b in request.blocks]})
    if status == "in_progress":
        if request.kind == "research":
            steps += _research_thoughts(call.state, record, finished=False)
        if steps:
            body["steps"] = steps
        body["updated"] = record["updated"]
        return body
    outcome = _outcome(call, record, status, error)
    body["updated"] = record["updated"]
    body["steps"] = steps + outcome["steps"]
    if outcome.get("errors"):
        body["errors"] = outcome["errors"]
    if outcome.get("usage"):
        body["usage"] = outcome["usage"]
    return body


def _echo(block: rules.Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": block.text}
    echoed: dict[str, Any] = {"type": block.kind}
    if block.uri is not None:
        echoed["uri"] = block.uri
    if block.data is not None:
        echoed["data"] = base64.b64encode(block.data).decode()
    if block.mime_type:
        echoed["mime_type"] = block.mime_type
    return echoed


def _outcome(call: Call, record: dict[str, Any], status: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """The finished interaction's steps, errors and usage: made once, so every get sees the same answer."""
    cached: dict[str, Any] | None = record.get("outcome")
    if cached is not None and cached["status"] == status:
        return cached
    request: rules.Request = record["request"]
    outcome: dict[str, Any] = {"status": status, "steps": [], "errors": [], "usage": _usage(request, {})}
    if error is not None:
        code = int(error.get("code") or 13)
        outcome["errors"] = [{"code": RPC_NAMES.get(code, "UNKNOWN"), "message": str(error.get("message") or "")}]
    elif "[[fail]]" in request.prompt:
        outcome["errors"] = [{"code": "INTERNAL", "message": FAIL_MESSAGE}]
    elif "unsafe" in request.prompt.lower():
        outcome["errors"] = [{"code": "SAFETY", "message": SAFETY_MESSAGE}]
        reason = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SAFETY", "domain": "googleapis.com"}
        step_error = {"code": 3, "message": SAFETY_MESSAGE, "details": [reason]}
        outcome["steps"] = [{"type": "model_output", "content": [], "error": step_error}]
    else:
        content = _content(call, record)
        steps = _research_thoughts(call.state, record, finished=True) if request.kind == "research" else []
        outcome["steps"] = [*steps, {"type": "model_output", "content": content}]
        outcome["usage"] = _usage(request, {c["type"]: c for c in content}, record)
    record["outcome"] = outcome
    record["updated"] = _now()
    return outcome


def _content(call: Call, record: dict[str, Any]) -> list[dict[str, Any]]:
    request: rules.Request = record["request"]
    if request.kind in ("video", "music"):
        data, mime, extra = _media(call.state, record)
        block: dict[str, Any] = {"type": "video" if request.kind == "video" else "audio", "mime_type": mime, **extra}
        as_uri = request.options.get("delivery") == "uri"
        if request.kind == "video":
            as_uri = as_uri or bool(call.state.config.extra.get("interactions_video_as_uri"))
        gcs_uri = request.options.get("gcs_uri")
        if as_uri and gcs_uri:
            block["uri"] = f"{str(gcs_uri).rstrip('/')}/{record['id']}/output-0.{mime.split('/')[1]}"
        elif as_uri:
            blob = f"{record['id']}-0"
            call.state.blobs[blob] = (data, mime)
            block["uri"] = f"{call.prefix}/interactionMedia/{blob}:download?alt=media"
        else:
            block["data"] = base64.b64encode(data).decode()
        if request.kind == "music":
            return [{"type": "text", "text": _lyrics(request)}, block]
        if "text" in (request.body.get("response_modalities") or []):
            video = record["video"]
            said = f"[emulated {request.name}] {video['task']} video for: {request.prompt or '(no text)'}"
            return [{"type": "text", "text": said}, block]
        return [block]
    if request.kind == "transcribe":
        return [_transcript(request, call.state)]
    if request.kind == "research":
        return [_report(request)]
    return [{"type": "text", "text": _answer(request, record)}]


def _answer(request: rules.Request, record: dict[str, Any]) -> str:
    lines = [f"[emulated {request.name}] Answer to: {request.prompt or '(no text)'}"]
    system = request.body.get("system_instruction")
    if system:
        lines.append(f"System instruction followed: {system}")
    media = [
        f"{b.mime_type or b.kind} ({len(b.data)} bytes inline)" if b.data else f"{b.kind} ({b.uri})"
        for b in request.blocks
        if b.kind != "text"
    ]
    if media:
        lines.append("Media received: " + "; ".join(media))
    turns = record["turns"]
    if len(turns) > 1:
        lines.append(f"Conversation turns seen: {len(turns)}")
        lines.append(f"Previous turn: {turns[-2]}")
    text = "\n".join(lines)
    text_format = request.options.get("text_format") or {}
    if text_format.get("mime_type") == "application/json":
        return json.dumps({"answer": text})
    return text


def _usage(
    request: rules.Request, content: dict[str, dict[str, Any]], record: dict[str, Any] | None = None
) -> dict[str, Any]:
    text_in = estimate_tokens(request.prompt)
    media_in = MEDIA_TOKENS * sum(1 for b in request.blocks if b.kind != "text")
    usage: dict[str, Any] = {"total_input_tokens": text_in + media_in}
    by_modality = [{"modality": "text", "tokens": text_in}]
    if media_in:
        by_modality.append({"modality": "image", "tokens": media_in})
    usage["input_tokens_by_modality"] = by_modality
    output = 0
    modality = "text"
    if "video" in content and record is not None:
        output, modality = int(record["video"]["duration"] * TOKENS_PER_VIDEO_SECOND), "video"
    elif "audio" in content:
        output, modality = int(request.options["seconds"] * 25), "audio"
    elif "text" in content:
        output = estimate_tokens(str(content["text"].get("text", "")))
    usage["total_output_tokens"] = output
    usage["output_tokens_by_modality"] = [{"modality": modality, "tokens": output}]
    usage["total_tokens"] = usage["total_input_tokens"] + output
    return usage


def _seconds(block: rules.Block, state: EmulatorState) -> float:
    # An uploaded file (Files API URI) is as long as its bytes, like inline audio.
    data = block.data or _source_video(state, block) or b""
    if data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as wav:
                return wav.getnframes() / float(wav.getframerate())
        except (wave.Error, EOFError):
            pass
    return max(1.0, len(data) / 32_000)  # 16 kHz 16-bit mono


def _offset(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def _transcript(request: rules.Request, state: EmulatorState) -> dict[str, Any]:
    config = request.options["config"]
    audio = (request.media("audio") or request.media("video"))[0]
    seconds = _seconds(audio, state)
    vocabulary = list(config.get("custom_vocabulary") or []) + list(config.get("adaptation_phrases") or [])
    words = ["this", "is", "an", "emulated", "transcript", *vocabulary]
    diarize = str(config.get("diarization_mode") or "").lower() not in ("", "off", "disabled", "none")
    annotations: list[dict[str, Any]] = []
    parts: list[str] = []
    position = 0
    step = seconds / max(1, len(words))
    for i, word in enumerate(words):
        speaker = f"speaker_{1 + (i * 2 // len(words))}" if diarize else None
        start = position + (1 if parts else 0)
        parts.append(word)
        position = start + len(word)
        info: dict[str, Any] = {"type": "word_info", "text": word, "start_index": start, "end_index": position}
        info |= {"start_offset": _offset(i * step), "end_offset": _offset((i + 1) * step)}
        if speaker:
            info["speaker"] = speaker
        annotations.append(info)
    text = " ".join(parts)
    block: dict[str, Any] = {"type": "text", "text": text}
    if "word" in (config.get("timestamp_granularities") or ["word"]) or diarize:
        block["annotations"] = annotations
    return block


def _research_thoughts(state: EmulatorState, record: dict[str, Any], *, finished: bool) -> list[dict[str, Any]]:
    """One `thought` step per phase the agent reached, so a poller can say what it is doing."""
    reached = len(RESEARCH_PHASES)
    if not finished:
        job = state.operation(record["operation"]) if record["operation"] else None
        percent = (job or {}).get("progress") or 0
        reached = 1 + min(len(RESEARCH_PHASES) - 1, int(percent) * len(RESEARCH_PHASES) // 100)
    question = record["request"].prompt
    return [
        {"type": "thought", "summary": [{"type": "text", "text": f"{phase}: {question}"}]}
        for phase in RESEARCH_PHASES[:reached]
    ]


def _sources(question: str) -> list[dict[str, str]]:
    slug = hashlib.sha256(question.encode()).hexdigest()[:8]
    return [
        {"title": f"Emulated source {i} on {question[:40]}", "url": f"https://example.org/research/{slug}/{i}"}
        for i in (1, 2, 3)
    ]


def _report(request: rules.Request) -> dict[str, Any]:
    question = request.prompt
    sources = _sources(question)
    text = f"# Research report: {question}\n\n## Findings\n\n"
    annotations: list[dict[str, Any]] = []
    for i, source in enumerate(sources, 1):
        sentence = f"Finding {i} about {question} comes from an emulated source [{i}]."
        start = len(text)
        text += sentence + "\n\n"
        annotations.append(
            {"type": "url_citation", "url": source["url"], "title": source["title"], "start_index": start}
            | {"end_index": start + len(sentence)}
        )
    text += "## Sources\n\n" + "".join(f"{i}. [{s['title']}]({s['url']})\n" for i, s in enumerate(sources, 1))
    return {"type": "text", "text": text, "annotations": annotations}


# Get, cancel, delete, download ---------------------------------------------------------------------------
def _stored(call: Call) -> dict[str, Any]:
    interaction_id = call.request.path_params["iid"]
    record = call.state.interactions.get(interaction_id)
    if record is None:
        raise ApiError(404, f"Interaction {interaction_id} was not found.", "NOT_FOUND")
    return record


def _flag(call: Call, name: str) -> bool:
    return call.request.query_params.get(name, "").lower() in ("true", "1")


async def get_or_delete(call: Call) -> Response:
    record = _stored(call)
    if call.request.method == "DELETE":
        name = record["operation"]
        if name is not None and _status(call.state, record)[0] == "in_progress":
            with contextlib.suppress(ValueError):  # it finished meanwhile
                call.state.finish_operation(name, error={"code": CANCELLED, "message": "The interaction was deleted."})
        call.state.interactions.pop(record["id"], None)
        for blob in [b for b in call.state.blobs if b.startswith(f"{record['id']}-")]:
            call.state.blobs.pop(blob, None)
        return JSONResponse({})
    if _flag(call, "stream"):
        last = call.request.query_params.get("last_event_id")
        return _sse(call, record, int(last) if last and last.isdigit() else None)
    return JSONResponse(_render(call, record, include_input=_flag(call, "include_input")))


async def cancel(call: Call) -> Response:
    record = _stored(call)
    status, _ = _status(call.state, record)
    if status == "cancelled":
        return JSONResponse(_render(call, record))
    if record["operation"] is None or status != "in_progress":
        raise ApiError(
            400,
            f"Interaction {record['id']} is {status}: only background interactions that are still running can be "
            "cancelled.",
            "FAILED_PRECONDITION",
        )
    # Finished between the check and the cancel: the interaction below shows how.
    with contextlib.suppress(ValueError):
        call.state.finish_operation(
            record["operation"], error={"code": CANCELLED, "message": "The interaction was cancelled."}
        )
    return JSONResponse(_render(call, record))


async def download(call: Call) -> Response:
    blob = call.request.path_params["blob"]
    found = call.state.blobs.get(blob)
    if found is None:
        raise ApiError(404, f"Media {blob} was not found.", "NOT_FOUND")
    return Response(found[0], media_type=found[1])


# Server-sent events ----------------------------------------------------------------------------------------
def _sse(call: Call, record: dict[str, Any], last_event_id: int | None) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        number = 0
        delay = call.state.config.stream_chunk_delay_s

        async def emit(event: dict[str, Any]) -> bytes:
            nonlocal number
            number += 1
            if last_event_id is not None and number <= last_event_id:
                return b""
            if delay and number > 1:
                await anyio.sleep(delay)
            event["event_id"] = str(number)
            return f"id: {number}\ndata: {json.dumps(event)}\n\n".encode()

        head = _head(record, "in_progress")
        yield await emit({"event_type": "interaction.created", "interaction": head})
        yield await emit(
            {"event_type": "interaction.status_update", "interaction_id": record["id"], "status": "in_progress"}
        )
        await _wait_done(call.state, record)
        final = _render(call, record)
        for index, step in enumerate(final.get("steps") or []):
            shell = {k: v for k, v in step.items() if k != "content"}
            if "content" in step:
                shell["content"] = []
            yield await emit({"event_type": "step.start", "index": index, "step": shell})
            for block in step.get("content") or []:
                yield await emit({"event_type": "step.delta", "index": index, "delta": _delta(block)})
            yield await emit({"event_type": "step.stop", "index": index})
        for error in final.get("errors") or []:
            yield await emit({"event_type": "error", "error": error})
        tail = _head(record, final["status"]) | {"updated": final["updated"]}
        if final.get("usage"):
            tail["usage"] = final["usage"]
        yield await emit({"event_type": "interaction.completed", "interaction": tail})

    return StreamingResponse(events(), media_type="text/event-stream")


def _head(record: dict[str, Any], status: str) -> dict[str, Any]:
    request: rules.Request = record["request"]
    head = {"id": record["id"], "status": status, "created": record["created"], "object": "interaction"}
    head["agent" if request.is_agent else "model"] = request.name
    return head


def _delta(block: dict[str, Any]) -> dict[str, Any]:
    if block["type"] == "text":
        return {"type": "text", "text": block["text"]}
    return {k: v for k, v in block.items() if k in ("type", "data", "uri", "mime_type")}


async def _wait_done(state: EmulatorState, record: dict[str, Any]) -> None:
    """Until a background interaction finishes (by its timer or on command), without blocking the loop."""
    name = record["operation"]
    if name is None:
        return

    def over() -> bool:
        job = state.operations.get(name)
        return (
            job is None
            or bool(job["done"])
            or (job["finishes_at"] is not None and time.monotonic() >= job["finishes_at"])
        )

    while not over():
        job = state.operations.get(name) or {}
        finishes_at = job.get("finishes_at")
        timeout = max(0.01, finishes_at - time.monotonic()) if finishes_at is not None else 5.0
        gone = threading.Event()
        try:
            await anyio.to_thread.run_sync(
                functools.partial(state.wait_until, over, timeout, f"interaction {record['id']}", gone),
                abandon_on_cancel=True,
            )
        except TimeoutError:
            continue
        finally:
            gone.set()
            state.wake()
