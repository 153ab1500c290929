"""Video with Veo: generate_video, extend_video, get_video_operation.

Veo works as a long-running operation: start it, poll `operations.get` until `done`, then download the
video. While waiting the tool sends progress notifications (never more than 10 s apart) with reassuring
messages; cancelling the call stops polling at once. `wait: false` returns the operation name at once,
and `get_video_operation` collects it later — from any server process, because Google keeps the
operation and the name is all that is needed.

Every video is paid for, so the operation name is handed out as soon as it is known — the first progress
message, an INFO log line, every error after the start, and a WARNING when the call is cut off (cancelled,
deadline, shutdown) — so that a client never has to start a second, billed generation to get its video.

google-genai 3.x serves Veo only in Vertex AI mode (express-mode key, or project + location).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp_types import BlobResourceContents, CallToolResult, ContentBlock, EmbeddedResource, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.config.settings import Backend
from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import media_content
from gemini_mcp.framework.progress import MAX_SILENCE_S, Heartbeat
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import Task, resolve_model
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.media.cpu import b64encode, off_loop
from gemini_mcp.media.inputs import LoadedMedia, MediaInput, load_media
from gemini_mcp.media.mp4 import aspect_ratio, probe, probe_file, resolution
from gemini_mcp.media.store import SavedMedia

if TYPE_CHECKING:
    from google.genai import types

logger = logging.getLogger("gemini_mcp.tools.video")

REFERENCE_MODEL = "veo-3.1-generate-preview"
CHUNK = 1024 * 1024
VERTEX_HINT = (
    "Veo needs Vertex AI mode in google-genai 3.x: set GOOGLE_GENAI_USE_VERTEXAI=true with a Vertex express-mode "
    "GOOGLE_API_KEY (or GOOGLE_CLOUD_PROJECT + GOOGLE_CLOUD_LOCATION and application default credentials), "
    "then restart the server"
)
MESSAGES = (
    "Veo is reading your prompt and planning the shots…",
    "Veo is composing the first frames…",
    "Setting up lighting and camera movement…",
    "Animating the scene frame by frame…",
    "Adding sound and polishing details…",
    "Rendering the final cut — good videos take a few minutes…",
    "Still working: Veo usually needs 1 to 3 minutes…",
)
VIDEO_OUTPUT_DESCRIPTION = (
    "'link' (default) = a resource link to the saved MP4 (keeps megabytes out of the context window); "
    "'both' or 'inline' also embed the video as a base64 resource when it is at most GEMINI_MCP_INLINE_MAX_BYTES."
)

AspectRatio = Literal["16:9", "9:16"]
Resolution = Literal["720p", "1080p"]


class VideoInfo(SavedMedia):
    duration_s: Annotated[float | None, Field(description="Length in seconds.")] = None
    width: int | None = None
    height: int | None = None
    resolution: Annotated[str | None, Field(description="720p or 1080p.")] = None
    aspect_ratio: Annotated[str | None, Field(description="16:9 or 9:16.")] = None


class VideoOutput(ToolOutput):
    operation_name: Annotated[str, Field(description="Veo operation; pass to get_video_operation to collect it.")]
    status: Annotated[Literal["running", "done"], Field(description="'running' until the video is ready.")]
    model: str | None = None
    progress_percent: Annotated[float | None, Field(description="Progress Veo reports, when running.")] = None
    videos: Annotated[list[VideoInfo] | None, Field(description="The saved videos (when done).")] = None
    gcs_uris: Annotated[list[str] | None, Field(description="Cloud Storage URIs, when Veo wrote there.")] = None
    notes: list[str] | None = None


# --- inputs -------------------------------------------------------------------------------------------
class GenerateVideoInput(ToolInput):
    """Arguments of generate_video."""

    prompt: Annotated[
        str | None,
        Field(description="The scene: subject, action, camera, style, sound. Required unless `image` is given."),
    ] = None
    model: Annotated[
        str | None,
        Field(
            description="'veo' / 'veo fast' (veo-3.1-fast-generate-preview, default) or 'veo quality' "
            "(veo-3.1-generate-preview)."
        ),
    ] = None
    quality: Annotated[
        Literal["standard", "high"], Field(description="'high' picks veo-3.1-generate-preview when no model is given.")
    ] = "standard"
    aspect_ratio: Annotated[AspectRatio, Field(description="16:9 (landscape) or 9:16 (portrait).")] = "16:9"
    resolution: Annotated[Resolution, Field(description="720p or 1080p.")] = "720p"
    duration_seconds: Annotated[int | None, Field(ge=4, le=8, description="Length, 4-8 s (Veo 3 default 8).")] = None
    negative_prompt: Annotated[str | None, Field(description="What to keep out of the video.")] = None
    number_of_videos: Annotated[int, Field(description="Must be 1: this server asks Veo for exactly one video.")] = 1
    image: Annotated[MediaInput | None, Field(description="Starting frame (image → video).")] = None
    last_frame: Annotated[MediaInput | None, Field(description="Final frame (with `image`: first + last frame).")] = (
        None
    )
    reference_images: Annotated[
        list[MediaInput] | None,
        Field(
            description="Up to 3 asset images (a character, a product) to keep in the video; "
            "veo-3.1-generate-preview, 16:9, 720p only."
        ),
    ] = None
    wait: Annotated[
        bool,
        Field(
            description="true (default): wait for the video, with progress. false: return the operation name "
            "at once and collect it with get_video_operation."
        ),
    ] = True
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


class ExtendVideoInput(ToolInput):
    """Arguments of extend_video."""

    video: Annotated[
        MediaInput,
        Field(
            description="The video to extend: the gemini://media/<id> URI of a video this server made (or a "
            "path); 720p only."
        ),
    ]
    prompt: Annotated[str, Field(min_length=1, description="What happens next (about 7 more seconds).")]
    model: Annotated[str | None, Field(description="Veo model (default veo-3.1-fast-generate-preview).")] = None
    wait: Annotated[bool, Field(description="As in generate_video.")] = True
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


class GetVideoOperationInput(ToolInput):
    """Arguments of get_video_operation."""

    operation_name: Annotated[str, Field(min_length=1, description="The operation_name generate_video returned.")]
    wait: Annotated[bool, Field(description="true: keep polling (with progress) until the video is ready.")] = False
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


# --- handlers -----------------------------------------------------------------------------------------
async def _image(item: MediaInput | None, call: Call, field: str) -> types.Image | None:
    from google.genai import types

    if item is None:
        return None
    media = await load_media(item, call, field=field)
    if media.data is None or not media.mime_type.startswith("image/"):
        raise UserInputError(f"{field}: must be an image (PNG or JPEG), got {media.mime_type or media.source}")
    return types.Image(image_bytes=media.data, mime_type=media.mime_type)


def _check_modes(args: GenerateVideoInput, model: str) -> None:
    if args.number_of_videos != 1:
        raise UserInputError(
            f"number_of_videos: must be 1 (this server asks Veo for exactly one video), got {args.number_of_videos}"
        )
    if not args.prompt and args.image is None:
        raise UserInputError("prompt: describe the video (a prompt is required unless you give a starting `image`)")
    if args.last_frame is not None and args.image is None:
        raise UserInputError("last_frame: give `image` too — first + last frame needs both frames")
    if args.reference_images:
        if len(args.reference_images) > 3:
            raise UserInputError(f"reference_images: at most 3, got {len(args.reference_images)}")
        if model != REFERENCE_MODEL:
            raise UserInputError(
                f"reference_images: only '{REFERENCE_MODEL}' (model 'veo quality') takes reference images, "
                f"not '{model}'"
            )
        if args.aspect_ratio != "16:9" or args.resolution != "720p":
            raise UserInputError("reference_images: need aspect_ratio 16:9 and resolution 720p")
        if args.image is not None:
            raise UserInputError("reference_images: cannot be combined with a starting `image`")


async def generate_video(args: GenerateVideoInput, call: Call) -> CallToolResult:
    from google.genai import types

    task = Task.VIDEO_HQ if args.quality == "high" and args.model is None else Task.VIDEO
    call.model = model = resolve_model(args.model, task)
    _check_modes(args, model)
    image = await _image(args.image, call, "image")
    last_frame = await _image(args.last_frame, call, "last_frame")
    references = [
        types.VideoGenerationReferenceImage(
            image=await _image(item, call, f"reference_images[{i}]"),
            reference_type=types.VideoGenerationReferenceType.ASSET,
        )
        for i, item in enumerate(args.reference_images or [])
    ]
    config = types.GenerateVideosConfig(
        number_of_videos=1,
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        duration_seconds=args.duration_seconds,
        negative_prompt=args.negative_prompt,
        last_frame=last_frame,
        reference_images=references or None,
    )
    client = await call.client()
    operation = await client.aio.models.generate_videos(
        model=model, source=types.GenerateVideosSource(prompt=args.prompt, image=image), config=config
    )
    _started(call, operation, model)
    return await _finish(call, operation, model, args.wait, args.output, hint=args.prompt or "video")


async def extend_video(args: ExtendVideoInput, call: Call) -> CallToolResult:
    from google.genai import types

    call.model = model = resolve_model(args.model, Task.VIDEO)
    media: LoadedMedia = await load_media(args.video, call, field="video")
    if media.data is None or media.mime_type != "video/mp4":
        raise UserInputError(f"video: must be an MP4 video made by Veo, got {media.mime_type or media.source}")
    info = await off_loop(probe, media.data, size=len(media.data))
    if resolution(info.width, info.height) not in (None, "720p"):
        raise UserInputError(
            f"video: only 720p videos can be extended; this one is {resolution(info.width, info.height)}"
        )
    ratio = aspect_ratio(info.width, info.height) or "16:9"
    client = await call.client()
    operation = await client.aio.models.generate_videos(
        model=model,
        source=types.GenerateVideosSource(
            prompt=args.prompt, video=types.Video(video_bytes=media.data, mime_type="video/mp4")
        ),
        config=types.GenerateVideosConfig(number_of_videos=1, aspect_ratio=ratio, resolution="720p"),
    )
    _started(call, operation, model)
    call.notes.append(f"extending keeps the source's aspect ratio ({ratio}) at 720p")
    return await _finish(call, operation, model, args.wait, args.output, hint=f"extended {args.prompt}")


async def get_video_operation(args: GetVideoOperationInput, call: Call) -> CallToolResult:
    from google.genai import types

    name = args.operation_name.strip()
    if "/operations/" not in name:
        raise UserInputError("operation_name: expected the name generate_video returned (…/operations/ID)")
    client = await call.client()
    operation = await client.aio.operations.get(types.GenerateVideosOperation.model_validate({"name": name}))
    model = name.split("/models/")[1].split("/")[0] if "/models/" in name else None
    call.model = model
    return await _finish(call, operation, model, args.wait, args.output, hint="video")


# --- waiting and delivery ------------------------------------------------------------------------------
def _started(call: Call, operation: types.GenerateVideosOperation, model: str) -> None:
    """Hand the new operation's name out before anything else can fail: it is what the video was paid for."""
    name = operation.name or ""
    logger.info("%s: Veo operation %s started (model %s)", call.tool, name, model)
    call.resume_hint = (
        f"Do not call {call.tool} again (that starts, and bills, another video): Veo operation {name} was started "
        f"and keeps running at Google, which keeps it for about 2 days; retry by collecting it with "
        f"get_video_operation(operation_name='{name}')."
    )


def _percent(operation: types.GenerateVideosOperation) -> float | None:
    metadata = operation.metadata or {}
    value = metadata.get("progressPercent", metadata.get("progress_percent"))
    return float(value) if isinstance(value, (int, float)) else None


async def _finish(
    call: Call, operation: types.GenerateVideosOperation, model: str | None, wait: bool, output: str, *, hint: str
) -> CallToolResult:
    name = operation.name or ""
    try:
        if wait and not operation.done:
            operation = await _poll(call, operation)
        if operation.done:
            return await _deliver(call, operation, model, output, hint)
    except anyio.get_cancelled_exc_class():
        logger.warning(
            "%s was cut off (cancelled, deadline or server shutdown) while handling Veo operation %s; it keeps "
            "running at Google: collect it with get_video_operation(operation_name='%s')",
            call.tool,
            name,
            name,
        )
        raise
    result = VideoOutput(
        operation_name=name,
        status="running",
        model=model,
        progress_percent=_percent(operation),
        notes=call.notes or None,
    )
    text = f"Veo is working on it. Collect the video with get_video_operation(operation_name='{name}')."
    return structured_result(result, text=text)


async def _poll(call: Call, operation: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    client = await call.client()
    heartbeat = Heartbeat(call, MESSAGES)
    poll_every = call.settings.video_poll_s
    tick = min(poll_every, MAX_SILENCE_S)
    name = operation.name
    # The first message a client sees names the operation: whatever happens to this call, it can collect it.
    await heartbeat.beat(
        _percent(operation),
        f"Veo operation {name} is running; if this call is cut off, collect it with get_video_operation",
    )
    next_poll = heartbeat.elapsed + poll_every
    while not operation.done:
        if heartbeat.elapsed > call.settings.video_deadline_s:
            logger.warning("%s: Veo operation %s passed GEMINI_MCP_VIDEO_DEADLINE; it keeps running", call.tool, name)
            call.resume_hint = None  # the message says it all
            raise UserInputError(
                f"Veo did not finish within {call.settings.video_deadline_s:g} s (GEMINI_MCP_VIDEO_DEADLINE). It keeps "
                f"running at Google: collect it later with get_video_operation(operation_name='{name}') instead of "
                "starting another, billed video"
            )
        await anyio.sleep(min(tick, max(0.0, next_poll - heartbeat.elapsed)) or tick)
        if heartbeat.elapsed >= next_poll:
            operation = await client.aio.operations.get(operation)
            next_poll = heartbeat.elapsed + poll_every
        if not operation.done:
            await heartbeat.beat(_percent(operation))
    await heartbeat.done("Veo finished: downloading the video")
    return operation


async def _deliver(
    call: Call, operation: types.GenerateVideosOperation, model: str | None, output: str, hint: str
) -> CallToolResult:
    name = operation.name or ""
    if operation.error or not (operation.response and operation.response.generated_videos):
        call.resume_hint = None  # the operation is over: there is nothing left to collect
    if operation.error:
        message = operation.error.get("message") or str(operation.error)
        raise UserInputError(f"Veo could not make the video: {message} (operation {name}). Adjust the prompt and retry")
    response = operation.response
    generated = list(response.generated_videos or []) if response else []
    if not generated:
        reasons = "; ".join(response.rai_media_filtered_reasons or []) if response else ""
        count = response.rai_media_filtered_count if response else None
        raise UserInputError(
            f"Veo returned no video: {count or 'all'} filtered by its safety rules"
            + (f" ({reasons})" if reasons else "")
            + ". Rephrase the prompt (avoid real people, brands and unsafe content)"
        )
    videos: list[VideoInfo] = []
    gcs: list[str] = []
    blocks: list[ContentBlock] = []
    client = await call.client()
    for item in generated:
        video = item.video
        if video is None:
            continue
        data = video.video_bytes
        offloaded = offloaded_path(call.media.root, video.uri or "")
        if offloaded is not None:
            # Streamed to disk by the transport (a large inline video): adopt the file, never load it.
            saved = await call.media.adopt(offloaded, mime_type="video/mp4", kind="video", hint=hint)
            info = await anyio.to_thread.run_sync(probe_file, saved.path)
            if output != "link" and saved.size_bytes <= call.media.inline_max_bytes:
                data = await anyio.Path(saved.path).read_bytes()  # small enough to embed, as asked
        elif data is None and video.uri and video.uri.startswith("gs://"):
            gcs.append(video.uri)
            continue
        else:
            if data is None:
                # Developer-API download URIs carry the key: the SDK fetches them server-side; never hand them out.
                data = await client.aio.files.download(file=video)
            saved = await _save(call, data, hint)
            info = await off_loop(probe, data, size=len(data))
        videos.append(
            VideoInfo(
                **saved.model_dump(),
                duration_s=info.duration_s,
                width=info.width,
                height=info.height,
                resolution=resolution(info.width, info.height),
                aspect_ratio=aspect_ratio(info.width, info.height),
            )
        )
        blocks.extend(await _content(call, saved, data, output, hint))
    if gcs:
        call.notes.append("Veo wrote the video to Cloud Storage: download it with your GCS tools")
    result = VideoOutput(
        operation_name=name, status="done", model=model, videos=videos, gcs_uris=gcs or None, notes=call.notes or None
    )
    lines = [
        f"Video ready ({v.duration_s or '?'} s, {v.resolution or '?'}, {v.aspect_ratio or '?'}): {v.path}"
        for v in videos
    ]
    blocks.append(TextContent(type="text", text="\n".join(lines + gcs)))
    return structured_result(result, blocks)


async def _save(call: Call, data: bytes, hint: str) -> SavedMedia:
    view = memoryview(data)
    async with call.media.writer(mime_type="video/mp4", kind="video", hint=hint) as write:
        for start in range(0, len(view), CHUNK):
            await write(bytes(view[start : start + CHUNK]))
    assert write.saved is not None
    return write.saved


async def _content(call: Call, saved: SavedMedia, data: bytes | None, output: str, hint: str) -> list[ContentBlock]:
    """An embedded video when asked and small enough (`data` is None for a file streamed to disk), and a link."""
    blocks: list[ContentBlock] = []
    if output in ("inline", "both") and data is not None and len(data) <= call.media.inline_max_bytes:
        encoded = await off_loop(b64encode, data, size=len(data))
        blob = BlobResourceContents(uri=saved.uri, mime_type="video/mp4", blob=encoded)
        blocks.append(EmbeddedResource(type="resource", resource=blob))
    elif output == "inline":
        call.notes.append(f"the video ({saved.size_bytes} bytes) is above the inline limit: returned as a link")
    if output in ("link", "both") or not blocks:
        blocks.extend(media_content(call.media, saved, None, "link", description=hint[:80]))
    return blocks


_STARTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_VERTEX: frozenset[Backend] = frozenset({"vertex"})

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_video",
        title="Generate a video with Veo",
        description=(
            "Make an 8-second video with Veo (with sound on Veo 3): from a prompt; from a starting `image`; from "
            "first + `last_frame`; or keeping up to 3 `reference_images` (veo quality, 16:9, 720p). Takes 1-3 "
            "minutes: progress is reported while you wait, or set wait=false and collect later with "
            "get_video_operation. Returns a resource link to the saved MP4 (never the raw URL). Vertex AI mode only."
        ),
        input_model=GenerateVideoInput,
        output_model=VideoOutput,
        handler=generate_video,
        annotations=_STARTS,
        backends=_VERTEX,
        backend_hint=VERTEX_HINT,
        long_running=True,
    ),
    ToolSpec(
        name="extend_video",
        title="Extend a Veo video",
        description=(
            "Continue a 720p video this server made (its gemini://media/<id> URI) by about 7 seconds, following "
            "`prompt`; same aspect ratio. Long-running like generate_video. Vertex AI mode only."
        ),
        input_model=ExtendVideoInput,
        output_model=VideoOutput,
        handler=extend_video,
        annotations=_STARTS,
        backends=_VERTEX,
        backend_hint=VERTEX_HINT,
        long_running=True,
    ),
    ToolSpec(
        name="get_video_operation",
        title="Collect a Veo video",
        description=(
            "Check a Veo operation started by generate_video/extend_video (wait=false, or after a deadline): "
            "returns status 'running' with progress, or downloads and returns the finished video. wait=true "
            "keeps polling with progress until it is done."
        ),
        input_model=GetVideoOperationInput,
        output_model=VideoOutput,
        handler=get_video_operation,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
        backends=_VERTEX,
        backend_hint=VERTEX_HINT,
        long_running=True,
    ),
]
