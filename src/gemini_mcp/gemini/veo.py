"""Veo: start a video (a paid create: the transport never sends it twice), follow its operation, read what a
finished operation holds, and download a video whose bytes did not come inline.

A finished operation carries the video as bytes, as a file the transport streamed to disk
(`offload.offloaded_path` of its URI), as a Cloud Storage URI, or as a Developer-API download URI that needs
the API key: `download` fetches that one server-side, so the URI is never handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


Operation = Any  # the SDK's GenerateVideosOperation: callers only pass it back here


@dataclass(frozen=True)
class Picture:
    """An image for Veo (a starting or last frame, or a reference "asset"), already loaded and checked."""

    data: bytes
    mime_type: str


async def start_video(
    call: GeminiCall,
    model: str,
    *,
    prompt: str | None = None,
    image: Picture | None = None,
    last_frame: Picture | None = None,
    reference_images: Sequence[Picture] = (),
    video: bytes | None = None,
    aspect_ratio: str = "16:9",
    resolution: str = "720p",
    duration_seconds: int | None = None,
    negative_prompt: str | None = None,
) -> Operation:
    """Start one video (always exactly one): from a prompt, frames or reference images, or extending an MP4
    (`video`). The rules of which combinations Veo takes are checked by the caller, before any call."""
    from google.genai import types

    def picture(item: Picture | None) -> types.Image | None:
        return None if item is None else types.Image(image_bytes=item.data, mime_type=item.mime_type)

    references = [
        types.VideoGenerationReferenceImage(
            image=picture(item), reference_type=types.VideoGenerationReferenceType.ASSET
        )
        for item in reference_images
    ]
    source = types.GenerateVideosSource(
        prompt=prompt,
        image=picture(image),
        video=types.Video(video_bytes=video, mime_type="video/mp4") if video is not None else None,
    )
    config = types.GenerateVideosConfig(
        number_of_videos=1,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        duration_seconds=duration_seconds,
        negative_prompt=negative_prompt,
        last_frame=picture(last_frame),
        reference_images=references or None,
    )
    client = await call.client()
    return await client.aio.models.generate_videos(model=model, source=source, config=config)


def operation_progress(operation: Operation) -> tuple[bool, float | None]:
    """Whether the operation is done, and the percentage Veo reports while it runs (when it does)."""
    metadata = operation.metadata or {}
    value = metadata.get("progressPercent", metadata.get("progress_percent"))
    return bool(operation.done), float(value) if isinstance(value, (int, float)) else None


async def get_operation(
    call: GeminiCall, operation: types.GenerateVideosOperation | str
) -> types.GenerateVideosOperation:
    """The operation's current state; `operation` may be just its name (from another process, days later)."""
    from google.genai import types

    if isinstance(operation, str):
        operation = types.GenerateVideosOperation.model_validate({"name": operation})
    client = await call.client()
    return await client.aio.operations.get(operation)


@dataclass(frozen=True)
class Clip:
    """One generated video: its bytes when they came inline, else where it is (`uri`)."""

    data: bytes | None
    uri: str | None
    video: Any  # the SDK's Video, for `download`

    @property
    def in_cloud_storage(self) -> bool:
        return self.data is None and (self.uri or "").startswith("gs://")


@dataclass(frozen=True)
class Finished:
    """What a done operation holds: its clips, or the failure to report (`problem`)."""

    name: str
    clips: list[Clip]
    problem: GeminiCallError | None


def read_operation(operation: types.GenerateVideosOperation) -> Finished:
    name = operation.name or ""
    if operation.error:
        message = operation.error.get("message") or str(operation.error)
        return Finished(
            name,
            [],
            GeminiCallError(f"Veo could not make the video: {message} (operation {name}). Adjust the prompt and retry"),
        )
    response = operation.response
    clips = [
        Clip(item.video.video_bytes, item.video.uri, item.video)
        for item in (response.generated_videos or [] if response else [])
        if item.video is not None
    ]
    if response is None or not response.generated_videos:
        reasons = "; ".join(response.rai_media_filtered_reasons or []) if response else ""
        count = response.rai_media_filtered_count if response else None
        return Finished(
            name,
            [],
            GeminiCallError(
                f"Veo returned no video: {count or 'all'} filtered by its safety rules"
                + (f" ({reasons})" if reasons else "")
                + ". Rephrase the prompt (avoid real people, brands and unsafe content)"
            ),
        )
    return Finished(name, clips, None)


async def download(call: GeminiCall, clip: Clip) -> bytes:
    """The bytes of a clip that has only a download URI (it carries the key: fetched here, never handed out)."""
    client = await call.client()
    return await client.aio.files.download(file=clip.video)
