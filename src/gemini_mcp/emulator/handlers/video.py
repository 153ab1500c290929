"""Veo: `:predictLongRunning` starts an operation, `:fetchPredictOperation` polls it (Vertex AI).

Operations finish `config.operation_duration_s` after they start (0: at the first poll) and report a
`progressPercent` in their metadata meanwhile; with `config.hold_operations` they run until a test finishes
or fails them (`Emulator.finish_operation` / `fail_operation`, or POST /_emulator/operations/{id}:finish),
reporting only the progress a test set. The finished response carries the MP4 inline
(`bytesBase64Encoded`), as Vertex does when no `storageUri` is given. Scripted outcomes, by prompt: a
prompt containing "unsafe" is filtered (`raiMediaFilteredCount`), one containing "[[fail]]" ends the
operation with an error; and `config.extra["veo_billing"] = False` answers 404 "Requested entity was not
found." like a key whose project cannot use Veo. `config.extra["video_bytes"]` sets the size of the MP4.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from gemini_mcp.emulator import validate
from gemini_mcp.emulator.movies import RESOLUTIONS, mp4
from gemini_mcp.emulator.state import Registry, RpcContext
from gemini_mcp.emulator.wire import ApiError, get

RESPONSE_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
REFERENCE_MODELS = ("veo-3.1-generate-001", "veo-3.1-generate-preview")  # the quality models, GA and preview
EXTENSION_SECONDS = 7


def register(registry: Registry) -> None:
    registry.rpc("predictLongRunning", start, kind="veo")
    registry.rpc("fetchPredictOperation", fetch, kind="veo")


def _image(value: Any, where: str) -> bytes:
    if not isinstance(value, dict):
        raise validate.bad(f"{where}: expected an image object")
    if get(value, "gcs_uri"):
        return str(get(value, "gcs_uri")).encode()
    data = get(value, "bytes_base64_encoded")
    if not data:
        raise validate.bad(f"{where}.bytesBase64Encoded: image bytes are required")
    mime = get(value, "mime_type")
    if mime not in ("image/png", "image/jpeg", "image/webp"):
        raise validate.bad(f"{where}.mimeType: unsupported image type {mime}; use image/png or image/jpeg")
    return validate.b64decode(data)


def _check(ctx: RpcContext, instance: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    prompt = str(get(instance, "prompt") or "")
    image = get(instance, "image")
    last_frame = get(instance, "last_frame")
    references = get(instance, "reference_images") or []
    video = get(instance, "video")
    count = int(get(parameters, "sample_count") or 1)
    aspect = str(get(parameters, "aspect_ratio") or "16:9")
    resolution = str(get(parameters, "resolution") or "720p")
    duration = int(get(parameters, "duration_seconds") or 8)
    if not prompt and image is None:
        raise validate.bad("instances[0].prompt: a prompt (or a starting image) is required")
    if not 1 <= count <= 4:
        raise validate.bad(f"sampleCount must be between 1 and 4, got {count}.")
    if aspect not in ("16:9", "9:16"):
        raise validate.bad(f"aspectRatio {aspect} is not supported; use 16:9 or 9:16.")
    if resolution not in ("720p", "1080p"):
        raise validate.bad(f"resolution {resolution} is not supported; use 720p or 1080p.")
    if not 4 <= duration <= 8:
        raise validate.bad(f"durationSeconds must be between 4 and 8, got {duration}.")
    if image is not None:
        _image(image, "instances[0].image")
    if last_frame is not None:
        if image is None:
            raise validate.bad("instances[0].lastFrame requires instances[0].image (the first frame).")
        _image(last_frame, "instances[0].lastFrame")
    if references:
        if ctx.model not in REFERENCE_MODELS:
            raise validate.bad(f"referenceImages are not supported by {ctx.model}; use veo-3.1-generate-001.")
        if len(references) > 3:
            raise validate.bad(f"At most 3 referenceImages are supported, got {len(references)}.")
        if aspect != "16:9" or resolution != "720p":
            raise validate.bad("referenceImages require aspectRatio 16:9 and resolution 720p.")
        for i, reference in enumerate(references):
            if str(get(reference, "reference_type") or "").upper() != "ASSET":
                raise validate.bad(f"referenceImages[{i}].referenceType must be ASSET.")
            _image(get(reference, "image"), f"instances[0].referenceImages[{i}].image")
    extended = 0.0
    if video is not None:
        if not prompt:
            raise validate.bad("instances[0].prompt is required to extend a video.")
        if resolution != "720p":
            raise validate.bad("Video extension is only supported at 720p.")
        data = get(video, "bytes_base64_encoded")
        if not data:
            raise validate.bad("instances[0].video.bytesBase64Encoded: video bytes are required")
        from gemini_mcp.media.mp4 import aspect_ratio, probe

        source = probe(validate.b64decode(data))
        if source.height is not None and min(source.width or 0, source.height) != 720:
            raise validate.bad("Only 720p videos can be extended.")
        if aspect_ratio(source.width, source.height) not in (None, aspect):
            raise validate.bad("The extension must keep the source video's aspect ratio.")
        extended = source.duration_s or 0.0
    return {
        "prompt": prompt,
        "count": count,
        "aspect": aspect,
        "resolution": resolution,
        "duration": extended + EXTENSION_SECONDS if video is not None else float(duration),
    }


async def start(ctx: RpcContext) -> dict[str, Any]:
    if ctx.state.config.extra.get("veo_billing") is False:
        raise ApiError(404, "Requested entity was not found.", "NOT_FOUND")
    instances = ctx.body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise validate.bad("instances: exactly one instance is required")
    job = _check(ctx, instances[0], ctx.body.get("parameters") or {})
    project = ctx.request.path_params.get("project") or "emulated-project"
    location = "us-central1"
    path_parts = ctx.request.url.path.split("/")
    if "projects" in path_parts:
        project = path_parts[path_parts.index("projects") + 1]
        location = path_parts[path_parts.index("locations") + 1]
    model_path = f"projects/{project}/locations/{location}/publishers/google/models/{ctx.model}"
    name = f"{model_path}/operations/{secrets.token_hex(8)}"
    ctx.state.add_operation(name, {**job, "model": ctx.model})
    return {"name": name}


async def fetch(ctx: RpcContext) -> dict[str, Any]:
    name = str(get(ctx.body, "operation_name") or "")
    job = ctx.state.operation(name)
    if job is None:
        raise ApiError(404, f"Operation {name} was not found.", "NOT_FOUND")
    if not job["done"]:
        running: dict[str, Any] = {"name": name, "done": False}
        if job["progress"] is not None:
            running["metadata"] = {"progressPercent": job["progress"]}
        return running
    if job["error"] is not None:
        return {"name": name, "done": True, "error": job["error"]}
    if "[[fail]]" in job["prompt"]:
        return {
            "name": name,
            "done": True,
            "error": {"code": 13, "message": "Video generation failed: internal error."},
        }
    if "unsafe" in job["prompt"].lower():
        reasons = ["The video was filtered by Responsible AI practices. Support codes: 29310472"]
        return {
            "name": name,
            "done": True,
            "response": {
                "@type": RESPONSE_TYPE,
                "raiMediaFilteredCount": job["count"],
                "raiMediaFilteredReasons": reasons,
            },
        }
    width, height = RESOLUTIONS[(job["aspect"], job["resolution"])]
    size = int(ctx.state.config.extra.get("video_bytes", 48_000))
    videos = []
    for index in range(job["count"]):
        data = mp4(width, height, job["duration"], f"{name}|{index}", size)
        videos.append({"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "video/mp4"})
    return {"name": name, "done": True, "response": {"@type": RESPONSE_TYPE, "videos": videos}}


def video_of(state_operations: dict[str, Any], name: str, index: int = 0, size: int = 48_000) -> bytes:
    """The exact bytes `fetch` returns for a finished operation (for tests)."""
    job = state_operations[name]
    width, height = RESOLUTIONS[(job["aspect"], job["resolution"])]
    return mp4(width, height, job["duration"], f"{name}|{index}", size)
