"""What the Interactions API accepts: the models and agents it serves, and the checks it makes on a create.

The allowed values come from the google-genai 3.6.1 generated types (`google/genai/_gaos/types/interactions/`:
`CreateModelInteraction`, `CreateAgentInteraction`, `GenerationConfig`, `VideoResponseFormat`,
`AudioResponseFormat`, the content blocks). Where the types are silent (duration ranges, image counts), the
limits are the ones Google's model pages give for the Gemini Omni family, and are named as such in the
messages. Every refusal is a 400 INVALID_ARGUMENT whose message starts with the field path, the way the
real API words its field violations.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from gemini_mcp.emulator import validate
from gemini_mcp.emulator.wire import ApiError


@dataclass(frozen=True)
class VideoModel:
    min_s: int
    max_s: int
    resolutions: tuple[str, ...]


@dataclass(frozen=True)
class MusicModel:
    seconds: float  # how long a track is unless the prompt asks otherwise (the clip model: always 30 s)
    max_s: float  # the longest track a prompt can ask for


ALL_RESOLUTIONS = ("360p", "720p", "1080p", "4k")
VIDEO_MODELS: dict[str, VideoModel] = {
    "gemini-omni-1.2-flash": VideoModel(3, 15, ALL_RESOLUTIONS),
    "gemini-omni-1.1-flash": VideoModel(3, 10, ALL_RESOLUTIONS),
    "gemini-omni-flash-preview": VideoModel(3, 10, ("720p",)),
}
TEXT_MODELS = frozenset(
    {
        "gemma-4-26b-a4b-it",
        "gemma-4-31b-it",
        "gemini-flash-latest",
        "gemini-flash-lite-latest",
        "gemini-pro-latest",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-2.5-flash-lite",
        "gemini-3.5-flash-lite",
        "gemini-3-flash-preview",
        "gemini-3.1-pro-preview",
        "gemini-3.1-pro-preview-customtools",
        "gemini-3.1-flash-lite",
        "gemini-3.5-flash",
        "gemini-3.6-flash",
        "gemini-3.7-flash",
        "gemini-3.8-flash",
        "gemini-4-argon",
        "gemini-4-carbon",
        "gemini-4-hydrogen",
        "gemini-4-neon",
        "gemini-robotics-er-1.6-preview",
        "gemini-robotics-er-2-preview",
    }
)
MUSIC_MODELS: dict[str, MusicModel] = {
    "lyria-3-clip-preview": MusicModel(30.0, 30.0),
    "lyria-3-pro-preview": MusicModel(120.0, 300.0),
    "lyria-3.5": MusicModel(120.0, 300.0),
}
MIN_SONG_S = 10
MP3_SAMPLE_RATES = (32000, 44100, 48000)
MP3_BIT_RATES = tuple(k * 1000 for k in (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320))
TRANSCRIBE_MODELS = frozenset({"gemini-3.5-transcribe"})
RESEARCH_AGENTS = frozenset(
    {"deep-research-pro-preview-12-2025", "deep-research-preview-04-2026", "deep-research-max-preview-04-2026"}
)
# Named by the SDK's types but not emulated: a create for them is refused as not implemented, not as unknown.
UNEMULATED = frozenset(
    {
        "gemini-2.5-flash-image",
        "gemini-3.1-flash-lite-image",
        "gemini-3-pro-image",
        "nano-banana-pro-preview",
        "gemini-3.1-flash-image",
        "gemini-nano-banana-2.1",
        "gemini-3.1-flash-tts-preview",
        "gemini-3.8-flash-tts",
        "gemini-3.8-flash-lite-tts",
        "antigravity-preview-05-2026",
        "antigravity-preview-09-2026",
    }
)
# Models the Interactions API no longer serves (or never served: Veo runs on Vertex's predictLongRunning).
RETIRED = {
    "gemini-1.5-flash": "gemini-2.5-flash",
    "gemini-1.5-pro": "gemini-2.5-pro",
    "gemini-pro": "gemini-2.5-flash",
    "veo-3.1-generate-preview": "gemini-omni-1.2-flash",
    "veo-3.1-fast-generate-preview": "gemini-omni-1.2-flash",
}

CREATE_FIELDS = frozenset(
    {
        "model",
        "agent",
        "agent_config",
        "background",
        "cached_content",
        "continuation_token",
        "environment",
        "generation_config",
        "input",
        "labels",
        "previous_interaction_id",
        "response_format",
        "response_mime_type",
        "response_modalities",
        "safety_settings",
        "service_tier",
        "store",
        "stream",
        "system_instruction",
        "tools",
        "webhook_config",
    }
)
GENERATION_FIELDS = frozenset(
    {
        "image_config",
        "max_output_tokens",
        "seed",
        "speech_config",
        "stop_sequences",
        "temperature",
        "thinking_level",
        "thinking_summaries",
        "tool_choice",
        "top_p",
        "transcription_config",
        "video_config",
    }
)
MODALITIES = ("text", "image", "audio", "video", "document")
SERVICE_TIERS = ("flex", "standard", "priority", "deferred")
THINKING_LEVELS = ("minimal", "low", "medium", "high", "xhigh")
VIDEO_TASKS = ("text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale")
ASPECT_RATIOS = ("16:9", "9:16")
DELIVERIES = ("inline", "uri")
VIDEO_FORMAT_FIELDS = frozenset({"type", "aspect_ratio", "delivery", "duration", "gcs_uri", "resolution"})
AUDIO_FORMAT_FIELDS = frozenset({"type", "bit_rate", "delivery", "mime_type", "sample_rate"})
TEXT_FORMAT_FIELDS = frozenset({"type", "mime_type", "schema"})
AUDIO_OUTPUT_TYPES = ("audio/mp3", "audio/ogg_opus", "audio/l16", "audio/wav", "audio/alaw", "audio/mulaw")
EMULATED_AUDIO_OUTPUT = ("audio/mp3", "audio/wav", "audio/l16")
MIME_TYPES: dict[str, tuple[str, ...]] = {
    "image": (
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/gif",
        "image/bmp",
        "image/tiff",
    ),
    "video": (
        "video/mp4",
        "video/mpeg",
        "video/mpg",
        "video/mov",
        "video/avi",
        "video/x-flv",
        "video/webm",
        "video/wmv",
        "video/3gpp",
    ),
    "audio": (
        "audio/wav",
        "audio/mp3",
        "audio/aiff",
        "audio/aac",
        "audio/ogg",
        "audio/flac",
        "audio/mpeg",
        "audio/m4a",
        "audio/l16",
        "audio/opus",
        "audio/alaw",
        "audio/mulaw",
        "audio/webm",
    ),
    "document": ("application/pdf", "text/plain", "text/html", "text/markdown", "text/csv"),
}
MAX_IMAGES = 6  # "text and up to six images" (Gemini Omni model page)
DEFAULT_VIDEO_S = 8
EXTEND_DEFAULT_S = 7
_STEP_TYPES = frozenset({"user_input", "model_output", "thought", "function_call", "function_result"})
_DURATION = re.compile(r"^(?P<seconds>\d+)(?:\.0+)?s?$")


def bad(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


@dataclass
class Block:
    """One content block of the input, checked."""

    kind: str  # text | image | video | audio | document
    where: str
    text: str = ""
    data: bytes | None = None
    uri: str | None = None
    mime_type: str | None = None


@dataclass
class Request:
    """A create request, checked: what the handler needs to run it."""

    kind: str  # video | text | music | transcribe | research
    name: str  # the model or agent
    is_agent: bool
    blocks: list[Block]
    body: dict[str, Any]
    background: bool
    store: bool
    stream: bool
    previous_id: str | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return " ".join(b.text for b in self.blocks if b.kind == "text").strip()

    def media(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]


def model_kind(name: str, api_version: str, *, agent: bool) -> str:
    """The kind of a model or agent the emulator serves; 404 (unknown or retired) or 501 (not emulated)."""
    if agent:
        if name in RESEARCH_AGENTS:
            return "research"
        if name in UNEMULATED:
            raise ApiError(501, f"emulator: the agent {name} is not emulated", "UNIMPLEMENTED")
        raise ApiError(404, f"Agent {name} is not found for API version {api_version}.", "NOT_FOUND")
    if name in VIDEO_MODELS:
        return "video"
    if name in TEXT_MODELS:
        return "text"
    if name in MUSIC_MODELS:
        return "music"
    if name in TRANSCRIBE_MODELS:
        return "transcribe"
    if name in UNEMULATED:
        raise ApiError(501, f"emulator: interactions with {name} are not emulated", "UNIMPLEMENTED")
    if name in RESEARCH_AGENTS:
        raise bad(f"model: {name} is an agent; pass it as `agent`, not `model`.")
    message = f"models/{name} is not found for API version {api_version}, or is not supported for interactions."
    if name in RETIRED:
        message += f" It is no longer served through the Interactions API; use {RETIRED[name]}."
    raise ApiError(404, message, "NOT_FOUND")


def parse(
    body: dict[str, Any], api_version: str, backend: str, files: dict[str, dict[str, Any]], now: float
) -> Request:
    """Check a create body the way the API does, and say what to run."""
    for key in body:
        if key not in CREATE_FIELDS:
            raise bad(f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    model = body.get("model")
    agent = body.get("agent")
    if model is not None and agent is not None:
        raise bad("model and agent cannot both be set: an interaction is with a model or with an agent.")
    if model is None and agent is None:
        raise bad("model: a model (or an agent) is required.")
    name = str(agent if agent is not None else model)
    is_agent = agent is not None
    if not is_agent and body.get("agent_config") is not None:
        raise bad("agent_config: only agent interactions take an agent_config.")
    if is_agent and body.get("generation_config") is not None:
        raise bad("generation_config: agent interactions take agent_config, not generation_config.")
    kind = model_kind(name, api_version, agent=is_agent)
    background = _bool(body, "background", False)
    store = _bool(body, "store", True)
    stream = _bool(body, "stream", False)
    if background and not store:
        raise bad("store: background interactions must be stored; remove store=false or run in the foreground.")
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        raise bad(f"service_tier: {tier!r} is not one of {', '.join(SERVICE_TIERS)}.")
    previous = body.get("previous_interaction_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise bad("previous_interaction_id: must be the id of an earlier interaction.")
    if body.get("continuation_token") is not None:
        raise bad("continuation_token: no interaction of this emulator needs continuing.")
    system = body.get("system_instruction")
    if system is not None and not isinstance(system, str):
        raise bad("system_instruction: must be a string.")
    request = Request(
        kind=kind,
        name=name,
        is_agent=is_agent,
        blocks=_blocks(body.get("input"), files, now),
        body=body,
        background=background,
        store=store,
        stream=stream,
        previous_id=previous,
    )
    _check_generation_config(body.get("generation_config"))
    modalities = _modalities(body.get("response_modalities"))
    formats = _formats(body.get("response_format"))
    if body.get("response_mime_type") is not None and not formats:
        raise bad("response_mime_type: requires response_format to be set.")
    if not request.blocks and previous is None:
        raise bad("input: is required (a prompt, or content blocks).")
    check = {"video": _video, "text": _text, "music": _music, "transcribe": _transcribe, "research": _research}
    check[kind](request, modalities, formats, backend)
    return request


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad(f"{name}: must be true or false, got {value!r}.")
    return value


def _blocks(value: Any, files: dict[str, dict[str, Any]], now: float) -> list[Block]:
    if value is None:
        return []
    if isinstance(value, str):
        return [Block("text", "input", text=value)] if value else []
    if isinstance(value, dict):
        return [_block(value, "input", files, now)]
    if not isinstance(value, list):
        raise bad("input: must be a string, a content block, a list of content blocks or a list of steps.")
    blocks: list[Block] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise bad(f"input[{i}]: must be an object.")
        if item.get("type") in _STEP_TYPES:
            if item["type"] != "user_input":
                continue  # earlier model turns sent back by the caller: context, not new input
            content = item.get("content") or []
            if not isinstance(content, list):
                raise bad(f"input[{i}].content: must be a list of content blocks.")
            blocks += [_block(c, f"input[{i}].content[{j}]", files, now) for j, c in enumerate(content)]
        else:
            blocks.append(_block(item, f"input[{i}]", files, now))
    return blocks


def _block(value: Any, where: str, files: dict[str, dict[str, Any]], now: float) -> Block:
    if not isinstance(value, dict):
        raise bad(f"{where}: must be a content block object.")
    kind = value.get("type")
    if kind == "text":
        text = value.get("text")
        if not isinstance(text, str):
            raise bad(f"{where}.text: a text block needs a text string.")
        return Block("text", where, text=text)
    if kind not in MIME_TYPES:
        raise bad(f"{where}.type: {kind!r} is not a content type; use text, image, audio, video or document.")
    data, uri = value.get("data"), value.get("uri")
    if (data is None) == (uri is None):
        raise bad(f"{where}: set exactly one of data (base64) and uri.")
    mime = value.get("mime_type")
    if mime is not None and mime not in MIME_TYPES[kind]:
        raise bad(
            f"{where}.mime_type: {mime!r} is not a supported {kind} type; use one of {', '.join(MIME_TYPES[kind])}."
        )
    block = Block(kind, where, mime_type=mime)
    if data is not None:
        if mime is None:
            raise bad(f"{where}.mime_type: is required with inline data.")
        try:
            block.data = validate.b64decode(data)
        except (binascii.Error, ValueError) as exc:
            raise bad(f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed.") from exc
        if not block.data:
            raise bad(f"{where}.data: is empty.")
        return block
    block.uri = str(uri)
    file_id = validate.file_id_of(block.uri)
    if file_id is not None:
        entry = validate.known_file(files, file_id)
        if entry["ready_at"] > now:
            raise bad(f"{where}.uri: the File {file_id} is not in an ACTIVE state and usage is not allowed.")
    elif not block.uri.startswith(("https://", "http://", "gs://")):
        raise bad(f"{where}.uri: {block.uri!r} is not a Files API, https or gs:// URI.")
    return block


def _check_generation_config(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise bad("generation_config: must be an object.")
    for key in config:
        if key not in GENERATION_FIELDS:
            raise bad(
                f"Invalid JSON payload received. Unknown name \"{key}\" at 'generation_config': Cannot find field."
            )
    _range(config, "temperature", 0.0, 2.0)
    _range(config, "top_p", 0.0, 1.0)
    maximum = config.get("max_output_tokens")
    if maximum is not None and (not isinstance(maximum, int) or maximum < 1):
        raise bad(f"generation_config.max_output_tokens: must be a positive integer, got {maximum!r}.")
    seed = config.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise bad(f"generation_config.seed: must be an integer, got {seed!r}.")
    stops = config.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 5):
        raise bad("generation_config.stop_sequences: at most 5 sequences.")
    _choice(config, "thinking_level", THINKING_LEVELS, "generation_config")
    _choice(config, "thinking_summaries", ("auto", "none"), "generation_config")
    video = config.get("video_config")
    if video is not None:
        if not isinstance(video, dict) or set(video) - {"task"}:
            raise bad("generation_config.video_config: only `task` can be set.")
        _choice(video, "task", VIDEO_TASKS, "generation_config.video_config")


def _range(config: dict[str, Any], name: str, low: float, high: float) -> None:
    value = config.get(name)
    if value is None:
        return
    if not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad(f"generation_config.{name}: {value!r} is out of range; use {low:g} to {high:g}.")


def _choice(obj: dict[str, Any], name: str, allowed: tuple[str, ...], where: str) -> None:
    value = obj.get(name)
    if value is not None and value not in allowed:
        raise bad(f"{where}.{name}: {value!r} is not one of {', '.join(allowed)}.")


def _modalities(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise bad("response_modalities: must be a non-empty list.")
    for item in value:
        if item not in MODALITIES:
            raise bad(f"response_modalities: {item!r} is not one of {', '.join(MODALITIES)}.")
    return [str(v) for v in value]


def _formats(value: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """The response formats by type, each with its field path."""
    if value is None:
        return {}
    items = value if isinstance(value, list) else [value]
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for i, item in enumerate(items):
        where = f"response_format[{i}]" if isinstance(value, list) else "response_format"
        if not isinstance(item, dict):
            raise bad(f"{where}: must be an object.")
        kind = item.get("type")
        if kind not in ("text", "image", "audio", "video"):
            raise bad(f"{where}.type: {kind!r} is not one of text, image, audio, video.")
        if kind in found:
            raise bad(f"{where}.type: only one {kind} response format may be given.")
        found[str(kind)] = (where, item)
    return found


def _only(request: Request, allowed: set[str], what: str) -> None:
    for block in request.blocks:
        if block.kind not in allowed:
            raise bad(f"{block.where}.type: {request.name} does not take {block.kind} input ({what}).")


def _refuse_formats(request: Request, formats: dict[str, tuple[str, dict[str, Any]]], allowed: set[str]) -> None:
    for kind, (where, _) in formats.items():
        if kind not in allowed:
            raise bad(
                f"{where}.type: {request.name} does not produce {kind}; a {kind} response format is not supported."
            )


def _refuse_config(request: Request, allowed: set[str]) -> None:
    config = request.body.get("generation_config") or {}
    for key in ("speech_config", "transcription_config", "video_config", "image_config"):
        if key in config and key not in allowed:
            raise bad(f"generation_config.{key}: not supported by {request.name}.")


def _check_modalities(request: Request, modalities: list[str] | None, output: str, extra: set[str]) -> None:
    if modalities is None:
        return
    wrong = [m for m in modalities if m != output and m not in extra]
    if output not in modalities or wrong:
        raise bad(f'response_modalities: {request.name} returns {output}; use ["{output}"].')


def text_format(formats: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any] | None:
    if "text" not in formats:
        return None
    where, item = formats["text"]
    for key in item:
        if key not in TEXT_FORMAT_FIELDS:
            raise bad(f"{where}.{key}: unknown field of a text response format.")
    _choice(item, "mime_type", ("application/json", "text/plain"), where)
    if item.get("schema") is not None and item.get("mime_type") != "application/json":
        raise bad(f"{where}.mime_type: must be application/json when a schema is given.")
    return item


def parse_duration(value: Any, where: str) -> int:
    match = _DURATION.match(str(value)) if isinstance(value, (str, int)) else None
    if match is None:
        raise bad(f'{where}: {value!r} is not a duration; give whole seconds like "8s".')
    return int(match["seconds"])


def _video(request: Request, modalities: list[str] | None, formats: dict[str, Any], backend: str) -> None:
    spec = VIDEO_MODELS[request.name]
    _only(request, {"text", "image", "video", "audio"}, "video models take text, images, audio and one video")
    _check_modalities(request, modalities, "video", {"text"})
    _refuse_formats(request, formats, {"video", "text"})
    _refuse_config(request, {"video_config"})
    text_format(formats)
    where, fmt = formats.get("video", ("response_format", {}))
    for key in fmt:
        if key not in VIDEO_FORMAT_FIELDS:
            raise bad(f"{where}.{key}: unknown field of a video response format.")
    _choice(fmt, "aspect_ratio", ASPECT_RATIOS, where)
    _choice(fmt, "resolution", ALL_RESOLUTIONS, where)
    _choice(fmt, "delivery", DELIVERIES, where)
    resolution = fmt.get("resolution")
    if resolution is not None and resolution not in spec.resolutions:
        raise bad(f"{where}.resolution: {request.name} makes {', '.join(spec.resolutions)} video, not {resolution}.")
    duration = None
    if fmt.get("duration") is not None:
        duration = parse_duration(fmt["duration"], f"{where}.duration")
        if not spec.min_s <= duration <= spec.max_s:
            raise bad(
                f"{where}.duration: {request.name} makes videos of {spec.min_s}s to {spec.max_s}s, not {duration}s."
            )
    gcs_uri = fmt.get("gcs_uri")
    if gcs_uri is not None:
        if backend != "vertex":
            raise bad(f"{where}.gcs_uri: Cloud Storage output is only supported on Vertex AI; remove gcs_uri.")
        if not str(gcs_uri).startswith("gs://"):
            raise bad(f"{where}.gcs_uri: must be a gs:// URI, got {gcs_uri!r}.")
    if fmt.get("delivery") == "uri" and backend == "vertex" and gcs_uri is None:
        raise bad(f"{where}.gcs_uri: is required on Vertex AI when delivery is uri.")
    images, videos = request.media("image"), request.media("video")
    if len(images) > MAX_IMAGES:
        raise bad(f"{images[MAX_IMAGES].where}: at most {MAX_IMAGES} images can be given to {request.name}.")
    if len(videos) > 1:
        raise bad(f"{videos[1].where}: only one video can be edited or extended at a time.")
    task = ((request.body.get("generation_config") or {}).get("video_config") or {}).get("task")
    task_where = "generation_config.video_config.task"
    given = task is not None
    if task is None:
        # Editing the previous interaction's video is decided by the handler, which knows that interaction.
        if videos:
            task = "edit"
        elif len(images) == 1:
            task = "image_to_video"
        elif images:
            task = "reference_to_video"
        else:
            task = "text_to_video"
    elif task in ("text_to_video",) and (images or videos):
        raise bad(f"{task_where}: text_to_video takes no images or video; use image_to_video or edit.")
    elif task in ("image_to_video", "reference_to_video") and not images:
        raise bad(f"{task_where}: {task} needs at least one image in the input.")
    elif task == "image_to_video" and len(images) > 2:
        raise bad(f"{task_where}: image_to_video takes a first frame and at most a last frame (2 images).")
    elif task in ("image_to_video", "reference_to_video") and videos:
        raise bad(f"{task_where}: {task} takes no video; use edit or extend.")
    elif task in ("edit", "extend", "upscale") and not videos and request.previous_id is None:
        raise bad(f"{task_where}: {task} needs a video in the input (or previous_interaction_id of a video).")
    if task not in ("image_to_video", "upscale") and not request.prompt:
        raise bad(f"input: a text prompt is required for {task}.")
    if task == "edit" and duration is not None:
        raise bad(f"{where}.duration: an edit keeps the source video's length; remove duration.")
    request.options = {
        "task": task,
        "task_given": given,
        "aspect_ratio": fmt.get("aspect_ratio"),
        "resolution": resolution,
        "duration": duration,
        "delivery": fmt.get("delivery"),
        "gcs_uri": gcs_uri,
        "format_where": where,
    }


def _text(request: Request, modalities: list[str] | None, formats: dict[str, Any], backend: str) -> None:
    _only(request, {"text", "image", "video", "audio", "document"}, "")
    _check_modalities(request, modalities, "text", set())
    _refuse_formats(request, formats, {"text"})
    _refuse_config(request, set())
    request.options = {"text_format": text_format(formats)}


def _music(request: Request, modalities: list[str] | None, formats: dict[str, Any], backend: str) -> None:
    spec = MUSIC_MODELS[request.name]
    _only(request, {"text", "image"}, "music models take a text prompt and optional images")
    _check_modalities(request, modalities, "audio", {"text"})
    _refuse_formats(request, formats, {"audio", "text"})
    _refuse_config(request, set())
    if not request.prompt:
        raise bad("input: a text prompt describing the music is required.")
    where, fmt = formats.get("audio", ("response_format", {}))
    for key in fmt:
        if key not in AUDIO_FORMAT_FIELDS:
            raise bad(f"{where}.{key}: unknown field of an audio response format.")
    _choice(fmt, "mime_type", AUDIO_OUTPUT_TYPES, where)
    _choice(fmt, "delivery", DELIVERIES, where)
    mime = fmt.get("mime_type") or "audio/mp3"
    if mime not in EMULATED_AUDIO_OUTPUT:
        message = f"emulator: {where}.mime_type {mime} is not emulated; use {', '.join(EMULATED_AUDIO_OUTPUT)}"
        raise ApiError(501, message, "UNIMPLEMENTED")
    rate = fmt.get("sample_rate")
    bit_rate = fmt.get("bit_rate")
    if mime == "audio/mp3":
        if rate is not None and rate not in MP3_SAMPLE_RATES:
            raise bad(f"{where}.sample_rate: MP3 output is {', '.join(map(str, MP3_SAMPLE_RATES))} Hz, not {rate!r}.")
        if bit_rate is not None and bit_rate not in MP3_BIT_RATES:
            raise bad(f"{where}.bit_rate: {bit_rate!r} is not an MP3 bit rate; use one of 32000 … 320000 bps.")
    else:
        if rate is not None and (not isinstance(rate, int) or not 8000 <= rate <= 48000):
            raise bad(f"{where}.sample_rate: {rate!r} is out of range; use 8000 to 48000 Hz.")
        if bit_rate is not None:
            raise bad(f"{where}.bit_rate: only applies to compressed formats (audio/mp3, audio/ogg_opus).")
    seconds = spec.seconds
    asked = _asked_seconds(request.prompt)
    if asked is not None and spec.max_s > spec.seconds:
        seconds = float(min(max(asked, MIN_SONG_S), spec.max_s))
    request.options = {
        "mime_type": mime,
        "sample_rate": rate or (44100 if mime == "audio/mp3" else 8000),
        "bit_rate": bit_rate or 32000,
        "seconds": seconds,
        "delivery": fmt.get("delivery"),
    }


def _asked_seconds(prompt: str) -> int | None:
    """A length the prompt asks for ("a 45 second …", "3 minutes"): the longer models follow it."""
    minutes = re.search(r"(\d+)\s*(?:-\s*)?(?:minutes?|mins?)\b", prompt)
    if minutes:
        return int(minutes[1]) * 60
    seconds = re.search(r"(\d+)\s*(?:-\s*)?(?:s|secs?|seconds?)\b", prompt)
    return int(seconds[1]) if seconds else None


def _transcribe(request: Request, modalities: list[str] | None, formats: dict[str, Any], backend: str) -> None:
    _only(request, {"text", "audio", "video"}, "a transcription model takes audio (or video) and an optional prompt")
    _check_modalities(request, modalities, "text", set())
    _refuse_formats(request, formats, {"text"})
    _refuse_config(request, {"transcription_config"})
    if not request.media("audio") and not request.media("video"):
        raise bad(f"input: {request.name} needs an audio block to transcribe.")
    config = (request.body.get("generation_config") or {}).get("transcription_config") or {}
    if not isinstance(config, dict):
        raise bad("generation_config.transcription_config: must be an object.")
    known = {"adaptation_phrases", "custom_vocabulary", "diarization_mode", "language_codes", "language_hints"}
    known |= {"mode", "timestamp_granularities"}
    for key in config:
        if key not in known:
            raise bad(f"generation_config.transcription_config.{key}: unknown field.")
    for key in (
        "adaptation_phrases",
        "custom_vocabulary",
        "language_codes",
        "language_hints",
        "timestamp_granularities",
    ):
        value = config.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise bad(f"generation_config.transcription_config.{key}: must be a list of strings.")
    for i, granularity in enumerate(config.get("timestamp_granularities") or []):
        if granularity not in ("word", "segment"):
            raise bad(f"generation_config.transcription_config.timestamp_granularities[{i}]: use word or segment.")
    if len(config.get("custom_vocabulary") or []) > 1000:
        raise bad("generation_config.transcription_config.custom_vocabulary: at most 1000 entries.")
    request.options = {"config": config, "text_format": text_format(formats)}


def _research(request: Request, modalities: list[str] | None, formats: dict[str, Any], backend: str) -> None:
    if not request.background:
        raise bad(f"background: {request.name} runs only in the background; set background=true.")
    _only(request, {"text", "document", "image"}, "the research agent takes a question and optional documents")
    _check_modalities(request, modalities, "text", set())
    _refuse_formats(request, formats, {"text"})
    if not request.prompt:
        raise bad("input: a research question is required.")
    config = request.body.get("agent_config")
    if config is not None:
        if not isinstance(config, dict) or config.get("type") != "deep-research":
            raise bad('agent_config.type: must be "deep-research" for a Deep Research agent.')
        known = {"type", "collaborative_planning", "enable_bigquery_tool", "thinking_summaries", "visualization"}
        for key in config:
            if key not in known:
                raise bad(f"agent_config.{key}: unknown field of a deep-research agent config.")
        _choice(config, "thinking_summaries", ("auto", "none"), "agent_config")
        _choice(config, "visualization", ("off", "auto"), "agent_config")
    request.options = {"text_format": text_format(formats), "agent_config": config or {}}
