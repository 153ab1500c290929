"""Video: generate_video, extend_video, get_video_operation, on either backend.

google-genai 3.x serves video differently by backend, so one tool runs one of two job kinds (framework/jobs.py,
`JobKind.on_backends`):

- Gemini Developer API (a Gemini API key): Gemini Omni through the Interactions API, job kind `OMNI`: a
  background interaction, polled with `interactions.get`, cancelled upstream with `interactions.cancel` when
  the call is cancelled, continued with `previous_interaction_id` ("now make it night").
- Vertex AI: Veo, job kind `VEO`: an operation, polled with `operations.get`; Veo cannot cancel a started
  operation. `get_video_operation` collects by operation name (an alias of get_job kept for this release).

The framework sends progress while waiting, stops polling when the call is cancelled, ends it at
GEMINI_MCP_VIDEO_DEADLINE, answers `wait: false` with the job id, and serves the job through get_job and the MCP
tasks extension. The seed's aliases (`veo`, `veo fast`, `veo quality`) and video defaults resolve per backend
(`models.resolve`): Omni on the Developer API, the Veo 3.1 GA ids on Vertex; the result's notes say so.

Every video is paid for, so the job id is handed out as soon as it is known — the first progress message, an
INFO log line, every error after the start, and a WARNING when the call is cut off (cancelled, deadline,
shutdown) — so that a client never has to start a second, billed generation to get its video.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import anyio
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started, collect
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import Task, resolve
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.gemini.omni import (
    LIMITS,
    MAX_IMAGES,
    Media,
    OmniClip,
    cancel_interaction,
    get_interaction,
    interaction_state,
    is_omni,
    read_interaction,
    start_omni_video,
)
from gemini_mcp.gemini.omni import download as download_omni
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
from gemini_mcp.tools._costs import extend_video_cost, video_cost

logger = logging.getLogger("gemini_mcp.tools.video")

REFERENCE_MODEL = "veo-3.1-generate-001"  # the only Veo on Vertex that takes reference images
VEO_RESOLUTIONS = ("720p", "1080p")
VEO_SECONDS = (4, 8)
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
OMNI_MESSAGES = (
    "Gemini Omni is reading your prompt and planning the shots…",
    "Gemini Omni is composing the scene…",
    "Directing the camera and the light…",
    "Animating the action and adding sound…",
    "Polishing the details — all is well, videos take a minute or two…",
    "Still working: Gemini Omni usually needs 1 to 3 minutes…",
)
VIDEO_OUTPUT_DESCRIPTION = "Always saved and linked; both/inline: also embed if small."

AspectRatio = Literal["16:9", "9:16"]
Resolution = Literal["360p", "720p", "1080p", "4k"]


class VideoInfo(SavedMedia):
    duration_s: Annotated[float | None, Field(description="Length in seconds.")] = None
    width: int | None = None
    height: int | None = None
    resolution: Annotated[str | None, Field(description="360p, 720p, 1080p or 4k.")] = None
    aspect_ratio: Annotated[str | None, Field(description="16:9 or 9:16.")] = None


class VideoOutput(JobOutput, ToolOutput):
    operation_name: Annotated[
        str | None, Field(description="Veo operation (Vertex); get_video_operation collects it too.")
    ] = None
    interaction_id: Annotated[
        str | None, Field(description="Gemini Omni interaction: pass as previous_interaction_id to change it.")
    ] = None
    status: Annotated[Literal["running", "done"], Field(description="'running' until the video is ready.")]
    model: str | None = None
    progress_percent: Annotated[float | None, Field(description="Progress the API reports, when running.")] = None
    videos: Annotated[list[VideoInfo] | None, Field(description="The saved videos (when done).")] = None
    gcs_uris: Annotated[list[str] | None, Field(description="Cloud Storage URIs, when Veo wrote there.")] = None
    notes: list[str] | None = None


# --- inputs -------------------------------------------------------------------------------------------
class GenerateVideoInput(ToolInput):
    """Arguments of generate_video."""

    prompt: Annotated[
        str | None, Field(description="Subject, action, camera, style, sound. Required without `image`.")
    ] = None
    model: Annotated[str | None, Field(description="omni (API key), veo fast/quality (Vertex), or an id.")] = None
    quality: Annotated[Literal["standard", "high"], Field(description="high: veo quality, if no model.")] = "standard"
    aspect_ratio: Annotated[AspectRatio, Field(description="Landscape or portrait.")] = "16:9"
    resolution: Annotated[Resolution, Field(description="Veo: 720p or 1080p.")] = "720p"
    duration_seconds: Annotated[int | None, Field(ge=3, le=15, description="Veo: 4-8, default 8.")] = None
    negative_prompt: Annotated[str | None, Field(description="What to keep out (Veo).")] = None
    # Not advertised: only 1 is allowed; an agent that asks for more anyway gets the rule, not a "no such field".
    number_of_videos: SkipJsonSchema[int] = 1
    image: Annotated[
        MediaInput | None, Field(description="Starting frame: one of path, url, data (base64), file_uri.")
    ] = None
    last_frame: Annotated[MediaInput | None, Field(description="Final frame, like `image`.")] = None
    reference_images: Annotated[
        list[MediaInput] | None,
        Field(description="Assets to keep. Veo: up to 3, veo quality, 16:9, 720p."),
    ] = None
    video: Annotated[MediaInput | None, Field(description="Omni: a video to edit, as `image`.")] = None
    previous_interaction_id: Annotated[
        str | None, Field(description="Omni: interaction_id of a video to change ('now make it night').")
    ] = None
    wait: Annotated[bool, Field(description="false: return a job_id at once (get_job).")] = True
    output: Annotated[Literal["inline", "link", "both"], Field(description=VIDEO_OUTPUT_DESCRIPTION)] = "link"


class ExtendVideoInput(ToolInput):
    """Arguments of extend_video."""

    video: Annotated[
        MediaInput, Field(description="file_uri gemini://media/<id> of a video made here, or a path. Veo: 720p.")
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


# --- shared checks --------------------------------------------------------------------------------------
async def _image(item: MediaInput | None, call: Call, field: str) -> Picture | None:
    if item is None:
        return None
    media = await load_media(item, call, field=field)
    if media.data is None or not media.mime_type.startswith("image/"):
        raise UserInputError(f"{field}: must be an image (PNG or JPEG), got {media.mime_type or media.source}")
    return Picture(media.data, media.mime_type)


async def _video(item: MediaInput, call: Call, field: str) -> LoadedMedia:
    media = await load_media(item, call, field=field)
    if media.data is None or media.mime_type != "video/mp4":
        raise UserInputError(
            f"{field}: must be an MP4 video (file_uri gemini://media/<id> of one made here, or a path), got "
            f"{media.mime_type or media.source}"
        )
    return media


def _model(call: Call, name: str | None, task: Task) -> str:
    """The model for this backend, with a note when a seed alias or default maps to a successor."""
    backend = call.settings.backend
    chosen = resolve(name, task, backend)
    if chosen.note:
        call.notes.append(chosen.note)
    call.model = chosen.model
    entry = getattr(chosen, "entry", None)  # the catalog's entry says which API serves the model
    omni = entry.api == "interactions" if entry is not None else is_omni(chosen.model)
    if backend == "gemini" and not omni:
        raise UserInputError(
            f"model: '{chosen.model}' is not served for video on the Gemini Developer API, where video is Gemini "
            "Omni (gemini-omni-1.2-flash, gemini-omni-1.1-flash, gemini-omni-flash-preview; 'veo' and 'veo fast' "
            f"map to it): use one of those or leave model out. For Veo itself: {VERTEX_HINT}"
        )
    if backend == "vertex" and omni:
        raise UserInputError(
            f"model: this server runs Gemini Omni ('{chosen.model}') on the Gemini Developer API only (a Gemini API "
            "key, GOOGLE_GENAI_USE_VERTEXAI unset); in Vertex AI mode use Veo ('veo fast', 'veo quality')"
        )
    return chosen.model


def _one_video(count: int) -> None:
    if count != 1:
        raise UserInputError(f"number_of_videos: must be 1 (this server asks for exactly one video), got {count}")


# --- Veo (Vertex AI) --------------------------------------------------------------------------------------
def _check_veo(args: GenerateVideoInput, model: str) -> None:
    _one_video(args.number_of_videos)
    if args.video is not None:
        raise UserInputError(
            "video: Veo does not edit videos; extend one with extend_video (editing is Gemini Omni's, on the "
            "Gemini Developer API)"
        )
    if args.previous_interaction_id is not None:
        raise UserInputError(
            "previous_interaction_id: only Gemini Omni (Gemini Developer API) continues an earlier video; with Veo "
            "describe the whole video in `prompt`, or extend one with extend_video"
        )
    if args.resolution not in VEO_RESOLUTIONS:
        raise UserInputError(f"resolution: Veo makes '720p' or '1080p' videos, got '{args.resolution}'")
    low, high = VEO_SECONDS
    if args.duration_seconds is not None and not low <= args.duration_seconds <= high:
        raise UserInputError(f"duration_seconds: Veo makes {low} to {high} s videos, got {args.duration_seconds}")
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


async def _generate_veo(args: GenerateVideoInput, call: Call, model: str) -> Started:
    _check_veo(args, model)
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
    return _veo_started(operation, args.output, args.wait, hint=args.prompt or "video")


# --- Gemini Omni (Developer API) ---------------------------------------------------------------------------
def _check_omni(args: GenerateVideoInput, model: str) -> None:
    """Omni's rules, from its types (VideoResponseFormat, VideoConfig.task) and, where they are silent, its model
    pages (`omni.LIMITS`): none of Veo's."""
    _one_video(args.number_of_videos)
    if args.negative_prompt is not None:
        raise UserInputError(
            "negative_prompt: only Veo (Vertex AI mode) takes one; with Gemini Omni say what to leave out in `prompt`"
        )
    limits = LIMITS.get(model)
    if limits is not None and args.resolution not in limits.resolutions:
        raise UserInputError(
            f"resolution: {model} makes {' or '.join(limits.resolutions)} video, not {args.resolution}"
        )
    changes = args.video is not None or args.previous_interaction_id is not None
    if args.duration_seconds is not None:
        if changes:
            raise UserInputError(
                "duration_seconds: an edit keeps the source video's length; remove it (extend_video makes it longer)"
            )
        if limits is not None and not limits.min_s <= args.duration_seconds <= limits.max_s:
            raise UserInputError(
                f"duration_seconds: {model} makes {limits.min_s} to {limits.max_s} s videos, "
                f"got {args.duration_seconds}"
            )
    if not args.prompt and (args.image is None or changes):
        what = "say what to change" if changes else "describe the video"
        raise UserInputError(f"prompt: {what} (a prompt is required unless you give only a starting `image`)")
    if args.last_frame is not None and args.image is None:
        raise UserInputError("last_frame: give `image` too — first + last frame needs both frames")
    if args.image is not None and (args.reference_images or args.video is not None):
        other = "reference_images" if args.reference_images else "video"
        raise UserInputError(
            f"image: a starting frame cannot be combined with `{other}` (one task per video: animate an image, "
            "keep reference assets, or edit a video)"
        )
    if args.reference_images and len(args.reference_images) > MAX_IMAGES:
        raise UserInputError(
            f"reference_images: at most {MAX_IMAGES} for Gemini Omni, got {len(args.reference_images)}"
        )
    if args.previous_interaction_id is not None:
        if not args.previous_interaction_id.strip():
            raise UserInputError("previous_interaction_id: blank; pass the interaction_id an earlier video returned")
        if args.video is not None:
            raise UserInputError(
                "video: leave it out with previous_interaction_id (that interaction already holds its video)"
            )


def _omni_task(args: GenerateVideoInput) -> str | None:
    if args.previous_interaction_id is not None:
        return None  # a conversational change: the model reads it from the prompt and the earlier interaction
    if args.video is not None:
        return "edit"
    if args.reference_images:
        return "reference_to_video"
    return "image_to_video" if args.image is not None else "text_to_video"


def _media(picture: Picture | None) -> Media | None:
    return Media(picture.data, picture.mime_type) if picture is not None else None


async def _generate_omni(args: GenerateVideoInput, call: Call, model: str) -> Started:
    _check_omni(args, model)
    references = [
        await _image(item, call, f"reference_images[{i}]") for i, item in enumerate(args.reference_images or [])
    ]
    image = await _image(args.image, call, "image")
    last_frame = await _image(args.last_frame, call, "last_frame")
    video = await _video(args.video, call, "video") if args.video is not None else None
    # An edit keeps the source's shape: its aspect ratio and resolution are sent only when the caller set them.
    keeps_shape = video is not None or args.previous_interaction_id is not None
    given = args.model_fields_set
    interaction = await start_omni_video(
        call,
        model,
        prompt=args.prompt,
        image=_media(image),
        last_frame=_media(last_frame),
        reference_images=[m for m in map(_media, references) if m is not None],
        video=Media(video.data, "video/mp4") if video is not None and video.data is not None else None,
        task=_omni_task(args),
        aspect_ratio=args.aspect_ratio if not keeps_shape or "aspect_ratio" in given else None,
        resolution=args.resolution if not keeps_shape or "resolution" in given else None,
        duration_seconds=args.duration_seconds,
        previous_interaction_id=(args.previous_interaction_id or "").strip() or None,
    )
    return _omni_started(interaction, args.output, args.wait, hint=args.prompt or "video")


# --- handlers -----------------------------------------------------------------------------------------
async def generate_video(args: GenerateVideoInput, call: Call) -> Started:
    task = Task.VIDEO_HQ if args.quality == "high" and args.model is None else Task.VIDEO
    model = _model(call, args.model, task)
    if call.settings.backend == "gemini":
        return await _generate_omni(args, call, model)
    return await _generate_veo(args, call, model)


async def extend_video(args: ExtendVideoInput, call: Call) -> Started:
    model = _model(call, args.model, Task.VIDEO)
    media = await _video(args.video, call, "video")
    assert media.data is not None  # _video checked it
    info = await off_loop(probe, media.data, size=len(media.data))
    ratio = aspect_ratio(info.width, info.height) or "16:9"
    if call.settings.backend == "gemini":
        interaction = await start_omni_video(
            call, model, prompt=args.prompt, video=Media(media.data, "video/mp4"), task="extend", aspect_ratio=ratio
        )
        call.notes.append(f"extending keeps the source's aspect ratio ({ratio})")
        return _omni_started(interaction, args.output, args.wait, hint=f"extended {args.prompt}")
    if resolution(info.width, info.height) not in (None, "720p"):
        raise UserInputError(
            f"video: only 720p videos can be extended; this one is {resolution(info.width, info.height)}"
        )
    operation = await start_video(
        call, model, prompt=args.prompt, video=media.data, aspect_ratio=ratio, resolution="720p"
    )
    call.notes.append(f"extending keeps the source's aspect ratio ({ratio}) at 720p")
    return _veo_started(operation, args.output, args.wait, hint=f"extended {args.prompt}")


async def get_video_operation(args: GetVideoOperationInput, call: Call) -> CallToolResult:
    name = args.operation_name.strip()
    if "/operations/" not in name:
        raise UserInputError("operation_name: expected the name generate_video returned (…/operations/ID)")
    return await collect(VEO, JobRef(VEO.name, name, {"out": args.output}), call, wait=args.wait)


def _output_of(ref: JobRef) -> str:
    output = ref.options.get("out", "link")
    return output if output in ("inline", "link", "both") else "link"


# --- the Omni job: poll, cancel, running, delivery ----------------------------------------------------------
def _omni_started(interaction: Any, output: str, wait: bool, *, hint: str) -> Started:
    # The output choice travels in the job id (any replica delivers it the same way); the hint names the file.
    return Started(interaction.id or "", _omni_state(interaction), {"out": output}, {"hint": hint}, wait=wait)


def _omni_state(interaction: Any) -> JobState:
    done, message = interaction_state(interaction)
    cancelled = str(interaction.status) == "cancelled"
    return JobState(done=done and not cancelled, cancelled=cancelled, upstream=interaction, message=message)


def _check_interaction_id(ref: JobRef) -> None:
    if "/operations/" in ref.upstream:
        raise UserInputError(
            f"job_id: {ref.upstream} is a Veo operation (Vertex AI mode); this server makes Gemini Omni videos: "
            "collect it from a server in Vertex AI mode"
        )


async def _omni_poll(ref: JobRef, call: Call) -> JobState:
    _check_interaction_id(ref)
    return _omni_state(await get_interaction(call, ref.upstream))


async def _omni_cancel(ref: JobRef, call: Call) -> None:
    _check_interaction_id(ref)
    await cancel_interaction(call, ref.upstream)


def _omni_running(ref: JobRef, state: JobState, call: Call) -> VideoOutput:
    interaction = state.upstream
    call.model = call.model or (str(interaction.model) if interaction is not None and interaction.model else None)
    return VideoOutput(
        job_id=ref.id, interaction_id=ref.upstream, status="running", model=call.model, notes=call.notes or None
    )


async def _omni_collected(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    folder = call.media.root
    finished = await off_loop(read_interaction, state.upstream, folder, size=0)
    call.model = call.model or finished.model
    if finished.problem is not None:
        call.resume_hint = None  # the interaction is over: there is nothing left to collect
        raise finished.problem
    media: list[bytes | Path] = []
    for clip in finished.clips:
        media.append(await _omni_media(call, clip, folder))
    return await _deliver(
        call,
        media,
        model=call.model,
        output=_output_of(ref),
        hint=str(ref.local.get("hint", "video")),
        fields={"interaction_id": finished.interaction_id},
    )


async def _omni_media(call: Call, clip: OmniClip, folder: Path) -> bytes | Path:
    if clip.path is not None:
        return clip.path  # streamed to disk by the transport: adopted, never loaded
    if clip.data is not None:
        return clip.data
    return await download_omni(call, clip, folder)


OMNI = JobKind(
    name="omni",
    title="Gemini Omni",
    noun="video",
    label="Gemini Omni interaction",
    poll=_omni_poll,
    deliver=_omni_collected,
    running=_omni_running,
    cancel=_omni_cancel,
    messages=OMNI_MESSAGES,
    deadline_setting="GEMINI_MCP_VIDEO_DEADLINE",
    deadline=lambda settings: settings.video_deadline_s,
    poll_interval=lambda settings: settings.video_poll_s,
    done_message="Gemini Omni finished: saving the video",
    started_message="Gemini Omni started: the video usually takes 1 to 3 minutes",
    kept_s=24 * 3600,  # stored interactions outlive this; a day is the safe promise
    logger=logger,
)


# --- the Veo job: poll, running, delivery ------------------------------------------------------------------
def _veo_started(operation: Operation, output: str, wait: bool, *, hint: str) -> Started:
    return Started(operation.name or "", _veo_state(operation), {"out": output}, {"hint": hint}, wait=wait)


def _veo_state(operation: Operation) -> JobState:
    done, percent = operation_progress(operation)
    return JobState(done=done, percent=percent, upstream=operation)


def _model_of(name: str) -> str | None:
    return name.split("/models/")[1].split("/")[0] if "/models/" in name else None


async def _veo_poll(ref: JobRef, call: Call) -> JobState:
    return _veo_state(await get_operation(call, ref.upstream))


def _veo_running(ref: JobRef, state: JobState, call: Call) -> VideoOutput:
    call.model = call.model or _model_of(ref.upstream)
    return VideoOutput(
        job_id=ref.id,
        operation_name=ref.upstream,
        status="running",
        model=call.model,
        progress_percent=state.percent,
        notes=call.notes or None,
    )


async def _veo_collected(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    call.model = call.model or _model_of(ref.upstream)
    finished = read_operation(state.upstream)
    if finished.problem is not None:
        call.resume_hint = None  # the operation is over: there is nothing left to collect
        raise finished.problem
    media: list[bytes | Path] = []
    gcs: list[str] = []
    for clip in finished.clips:
        # A large inline video was streamed to disk by the transport: that file is adopted, never loaded.
        found: bytes | Path | None = offloaded_path(call.media.root, clip.uri or "")
        if found is None and clip.in_cloud_storage:
            gcs.append(clip.uri or "")
            continue
        media.append(found if found is not None else clip.data if clip.data is not None else await download(call, clip))
    if gcs:
        call.notes.append("Veo wrote the video to Cloud Storage: download it with your GCS tools")
    return await _deliver(
        call,
        media,
        model=call.model,
        output=_output_of(ref),
        hint=str(ref.local.get("hint", "video")),
        fields={"operation_name": finished.name, "gcs_uris": gcs or None},
        extra_lines=gcs,
    )


VEO = JobKind(
    name="veo",
    title="Veo",
    noun="video",
    label="Veo operation",
    poll=_veo_poll,
    deliver=_veo_collected,
    running=_veo_running,
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
    on_backends={"gemini": OMNI},  # generate_video and extend_video run Omni with a Gemini API key
)


# --- delivery (both families) ------------------------------------------------------------------------------
async def _deliver(
    call: Call,
    media: list[bytes | Path],
    *,
    model: str | None,
    output: str,
    hint: str,
    fields: dict[str, Any],
    extra_lines: list[str] | None = None,
) -> CallToolResult:
    videos: list[VideoInfo] = []
    blocks: list[ContentBlock] = []
    for item in media:
        delivered = await deliver(
            call,
            item,
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
    result = VideoOutput(status="done", model=model, videos=videos, notes=call.notes or None, **fields)
    lines = [
        f"Video ready ({v.duration_s or '?'} s, {v.resolution or '?'}, {v.aspect_ratio or '?'}): {v.path}"
        for v in videos
    ]
    if result.interaction_id:
        lines.append(f"To change it, call generate_video with previous_interaction_id='{result.interaction_id}'.")
    blocks.append(TextContent(type="text", text="\n".join(lines + (extra_lines or []))))
    return structured_result(result, blocks)


_STARTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_video",
        title="Generate a video",
        description=(
            "Make one short video with sound: from a prompt, a starting `image` (+ `last_frame`), or "
            "`reference_images`. With a Gemini API key: Gemini Omni (gemini-omni-1.2-flash; 'veo' and 'veo fast' map "
            "to it), 3-15 s, 360p-4k; it also edits a `video`, and previous_interaction_id changes an earlier one "
            "('now make it night'). Vertex AI: Veo (veo fast = veo-3.1-fast-generate-001, veo quality = "
            "veo-3.1-generate-001), 4-8 s, 720p/1080p, up to 3 reference_images on veo quality at 16:9/720p. Takes "
            "1-3 minutes: progress is reported while you wait, or set wait=false and collect the job_id later with "
            "get_job. Returns a resource link to the saved MP4 (never the raw URL)."
        ),
        input_model=GenerateVideoInput,
        output_model=VideoOutput,
        handler=generate_video,
        cost=video_cost,
        annotations=_STARTS,
        job=VEO,
    ),
    ToolSpec(
        name="extend_video",
        title="Extend a video",
        description=(
            "Continue a video this server made (its gemini://media/<id> URI), following `prompt`; same aspect "
            "ratio. Veo (Vertex AI): 720p videos only, about +7 s. Long-running like generate_video (job_id, get_job)."
        ),
        input_model=ExtendVideoInput,
        output_model=VideoOutput,
        handler=extend_video,
        cost=extend_video_cost,
        annotations=_STARTS,
        job=VEO,
    ),
    ToolSpec(
        name="get_video_operation",
        title="Collect a Veo video",
        description=(
            "Alias of get_job by Veo operation name, kept for this release. Checks a Veo operation started by "
            "generate_video/extend_video: status 'running' with progress, or the finished video. wait=true "
            "keeps polling with progress until it is done. Vertex AI mode only."
        ),
        input_model=GetVideoOperationInput,
        output_model=VideoOutput,
        handler=get_video_operation,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
        backends=frozenset({"vertex"}),
        backend_hint=VERTEX_HINT,
        job=VEO,
    ),
]
