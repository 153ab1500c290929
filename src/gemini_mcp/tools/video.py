"""Video with Veo: generate_video, extend_video, get_video_operation.

Veo works as a long-running operation, declared once as the job kind `VEO` (framework/jobs.py): start it,
poll `operations.get` until `done`, then download the video. The framework sends progress while waiting,
stops polling when the call is cancelled, ends it at GEMINI_MCP_VIDEO_DEADLINE, answers `wait: false` with
the job id, and serves the job through get_job and the MCP tasks extension. `get_video_operation` collects
by operation name (an alias of get_job kept for this release) — from any server process, because Google
keeps the operation and the name is all that is needed. Veo cannot cancel a started operation.

Every video is paid for, so the operation name is handed out as soon as it is known — the first progress
message, an INFO log line, every error after the start, and a WARNING when the call is cut off (cancelled,
deadline, shutdown) — so that a client never has to start a second, billed generation to get its video.

google-genai 3.x serves Veo only in Vertex AI mode (express-mode key, or project + location).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import anyio
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.config.settings import Backend
from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started, collect
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import Task, resolve_model
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.gemini.veo import (
    Operation,
    Picture,
    download,
    get_operation,
    operation_progress,
    read_operation,
    start_video,
)
from gemini_mcp.media.cpu import off_loop
from gemini_mcp.media.inputs import LoadedMedia, MediaInput, load_media
from gemini_mcp.media.mp4 import aspect_ratio, probe, probe_file, resolution
from gemini_mcp.media.store import OutputMode, SavedMedia

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
VIDEO_OUTPUT_DESCRIPTION = "link: a resource link to the saved MP4. both/inline also embed it if small."

AspectRatio = Literal["16:9", "9:16"]
Resolution = Literal["720p", "1080p"]


class VideoInfo(SavedMedia):
    duration_s: Annotated[float | None, Field(description="Length in seconds.")] = None
    width: int | None = None
    height: int | None = None
    resolution: Annotated[str | None, Field(description="720p or 1080p.")] = None
    aspect_ratio: Annotated[str | None, Field(description="16:9 or 9:16.")] = None


class VideoOutput(JobOutput, ToolOutput):
    operation_name: Annotated[str, Field(description="Veo operation; get_video_operation collects it too.")]
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
        str | None, Field(description="Subject, action, camera, style, sound. Required without `image`.")
    ] = None
    model: Annotated[str | None, Field(description="veo fast (default) or veo quality, or an id.")] = None
    quality: Annotated[Literal["standard", "high"], Field(description="high: veo quality, if no model.")] = "standard"
    aspect_ratio: Annotated[AspectRatio, Field(description="Landscape or portrait.")] = "16:9"
    resolution: Annotated[Resolution, Field(description="Frame height.")] = "720p"
    duration_seconds: Annotated[int | None, Field(ge=4, le=8, description="Default 8 on Veo 3.")] = None
    negative_prompt: Annotated[str | None, Field(description="What to keep out.")] = None
    number_of_videos: Annotated[int, Field(description="Only 1.")] = 1
    image: Annotated[
        MediaInput | None, Field(description="Starting frame: one of path, url, data (base64), file_uri.")
    ] = None
    last_frame: Annotated[MediaInput | None, Field(description="Final frame; needs `image`.")] = None
    reference_images: Annotated[
        list[MediaInput] | None,
        Field(description="Up to 3 assets to keep, media items as `image`; veo quality, 16:9, 720p only."),
    ] = None
    wait: Annotated[bool, Field(description="false: answer with a job_id at once; collect with get_job.")] = True
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


class ExtendVideoInput(ToolInput):
    """Arguments of extend_video."""

    video: Annotated[
        MediaInput, Field(description="A 720p Veo video: file_uri gemini://media/<id> of one made here, or a path.")
    ]
    prompt: Annotated[str, Field(min_length=1, description="What happens next (about 7 s).")]
    model: Annotated[str | None, Field(description="Default veo fast.")] = None
    wait: Annotated[bool, Field(description="false: answer with a job_id at once.")] = True
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


class GetVideoOperationInput(ToolInput):
    """Arguments of get_video_operation."""

    operation_name: Annotated[str, Field(min_length=1, description="From generate_video.")]
    wait: Annotated[bool, Field(description="true: poll, with progress, until ready.")] = False
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


# --- handlers -----------------------------------------------------------------------------------------
async def _image(item: MediaInput | None, call: Call, field: str) -> Picture | None:
    if item is None:
        return None
    media = await load_media(item, call, field=field)
    if media.data is None or not media.mime_type.startswith("image/"):
        raise UserInputError(f"{field}: must be an image (PNG or JPEG), got {media.mime_type or media.source}")
    return Picture(media.data, media.mime_type)


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


async def generate_video(args: GenerateVideoInput, call: Call) -> Started:
    task = Task.VIDEO_HQ if args.quality == "high" and args.model is None else Task.VIDEO
    call.model = model = resolve_model(args.model, task)
    _check_modes(args, model)
    references = [
        await _image(item, call, f"reference_images[{i}]") for i, item in enumerate(args.reference_images or [])
    ]
    operation = await start_video(
        call,
        model,
        prompt=args.prompt,
        image=await _image(args.image, call, "image"),
        last_frame=await _image(args.last_frame, call, "last_frame"),
        reference_images=[picture for picture in references if picture is not None],
        aspect_ratio=args.aspect_ratio,
        resolution=args.resolution,
        duration_seconds=args.duration_seconds,
        negative_prompt=args.negative_prompt,
    )
    return _started(operation, args.output, args.wait, hint=args.prompt or "video")


async def extend_video(args: ExtendVideoInput, call: Call) -> Started:
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
    operation = await start_video(
        call, model, prompt=args.prompt, video=media.data, aspect_ratio=ratio, resolution="720p"
    )
    call.notes.append(f"extending keeps the source's aspect ratio ({ratio}) at 720p")
    return _started(operation, args.output, args.wait, hint=f"extended {args.prompt}")


async def get_video_operation(args: GetVideoOperationInput, call: Call) -> CallToolResult:
    name = args.operation_name.strip()
    if "/operations/" not in name:
        raise UserInputError("operation_name: expected the name generate_video returned (…/operations/ID)")
    return await collect(VEO, JobRef(VEO.name, name, {"out": args.output}), call, wait=args.wait)


# --- the Veo job: poll, running, delivery ------------------------------------------------------------------
def _started(operation: Operation, output: str, wait: bool, *, hint: str) -> Started:
    # The output choice travels in the job id (any replica delivers it the same way); the hint names the file.
    return Started(operation.name or "", _state(operation), {"out": output}, {"hint": hint}, wait=wait)


def _state(operation: Operation) -> JobState:
    done, percent = operation_progress(operation)
    return JobState(done=done, percent=percent, upstream=operation)


def _model_of(name: str) -> str | None:
    return name.split("/models/")[1].split("/")[0] if "/models/" in name else None


def _output_of(ref: JobRef) -> str:
    output = ref.options.get("out", "link")
    return output if output in ("inline", "link", "both") else "link"


async def _poll(ref: JobRef, call: Call) -> JobState:
    return _state(await get_operation(call, ref.upstream))


def _running(ref: JobRef, state: JobState, call: Call) -> VideoOutput:
    call.model = call.model or _model_of(ref.upstream)
    return VideoOutput(
        job_id=ref.id,
        operation_name=ref.upstream,
        status="running",
        model=call.model,
        progress_percent=state.percent,
        notes=call.notes or None,
    )


async def _collected(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    call.model = call.model or _model_of(ref.upstream)
    return await _deliver(call, state.upstream, call.model, _output_of(ref), str(ref.local.get("hint", "video")))


VEO = JobKind(
    name="veo",
    title="Veo",
    noun="video",
    label="Veo operation",
    poll=_poll,
    deliver=_collected,
    running=_running,
    cancel=None,  # the Veo API has no cancel: a started video runs to the end and is billed
    messages=MESSAGES,
    deadline_setting="GEMINI_MCP_VIDEO_DEADLINE",
    deadline=lambda settings: settings.video_deadline_s,
    poll_interval=lambda settings: settings.video_poll_s,
    collect_hint=lambda ref: f"get_video_operation(operation_name='{ref.upstream}')",
    done_message="Veo finished: downloading the video",
    started_message="Veo started: the video usually takes 1 to 3 minutes",
    kept_s=48 * 3600,  # Google keeps finished operations for about two days
    logger=logger,
)


async def _deliver(call: Call, operation: Operation, model: str | None, output: str, hint: str) -> CallToolResult:
    finished = read_operation(operation)
    if finished.problem is not None:
        call.resume_hint = None  # the operation is over: there is nothing left to collect
        raise finished.problem
    videos: list[VideoInfo] = []
    gcs: list[str] = []
    blocks: list[ContentBlock] = []
    for clip in finished.clips:
        # A large inline video was streamed to disk by the transport: that file is adopted, never loaded.
        media: bytes | Path | None = offloaded_path(call.media.root, clip.uri or "")
        if media is None and clip.in_cloud_storage:
            gcs.append(clip.uri or "")
            continue
        if media is None:
            media = clip.data if clip.data is not None else await download(call, clip)
        delivered = await deliver(
            call,
            media,
            mime_type="video/mp4",
            kind="video",
            hint=hint,
            output=cast("OutputMode", output),  # the tools' `output` fields are this Literal
            description=hint[:80],
        )
        data = delivered.data
        if data is not None:
            info = await off_loop(probe, data, size=len(data))
        else:
            info = await anyio.to_thread.run_sync(probe_file, delivered.saved.path)
        videos.append(
            VideoInfo(
                **delivered.saved.model_dump(),
                duration_s=info.duration_s,
                width=info.width,
                height=info.height,
                resolution=resolution(info.width, info.height),
                aspect_ratio=aspect_ratio(info.width, info.height),
            )
        )
        blocks.extend(delivered.content)
    if gcs:
        call.notes.append("Veo wrote the video to Cloud Storage: download it with your GCS tools")
    result = VideoOutput(
        operation_name=finished.name,
        status="done",
        model=model,
        videos=videos,
        gcs_uris=gcs or None,
        notes=call.notes or None,
    )
    lines = [
        f"Video ready ({v.duration_s or '?'} s, {v.resolution or '?'}, {v.aspect_ratio or '?'}): {v.path}"
        for v in videos
    ]
    blocks.append(TextContent(type="text", text="\n".join(lines + gcs)))
    return structured_result(result, blocks)


_STARTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
_VERTEX: frozenset[Backend] = frozenset({"vertex"})

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_video",
        title="Generate a video with Veo",
        description=(
            "Make a 4-8 second video with Veo (with sound on Veo 3): from a prompt; from a starting `image`; from "
            "first + `last_frame`; or keeping up to 3 `reference_images` (veo quality = veo-3.1-generate-preview, "
            "16:9, 720p). veo fast = veo-3.1-fast-generate-preview. Exactly one video. Takes 1-3 minutes: progress "
            "is reported while you wait, or set wait=false and collect the job_id later with get_job. Returns a "
            "resource link to the saved MP4 (never the raw URL). Vertex AI mode only."
        ),
        input_model=GenerateVideoInput,
        output_model=VideoOutput,
        handler=generate_video,
        annotations=_STARTS,
        backends=_VERTEX,
        backend_hint=VERTEX_HINT,
        job=VEO,
    ),
    ToolSpec(
        name="extend_video",
        title="Extend a Veo video",
        description=(
            "Continue a 720p video this server made (its gemini://media/<id> URI) by about 7 seconds, following "
            "`prompt`; same aspect ratio. Long-running like generate_video (job_id, get_job). Vertex AI mode only."
        ),
        input_model=ExtendVideoInput,
        output_model=VideoOutput,
        handler=extend_video,
        annotations=_STARTS,
        backends=_VERTEX,
        backend_hint=VERTEX_HINT,
        job=VEO,
    ),
    ToolSpec(
        name="get_video_operation",
        title="Collect a Veo video",
        description=(
            "Alias of get_job by Veo operation name, kept for this release. Checks a Veo operation started by "
            "generate_video/extend_video: status 'running' with progress, or the finished video. wait=true "
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
        job=VEO,
    ),
]
