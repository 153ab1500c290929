"""Gemini Omni video through the Interactions API: start one (a paid background create, never sent twice), follow
it, read what a finished interaction holds, and fetch a video whose bytes did not come inline.

The options and their values come from the SDK's types (`google/genai/_gaos/types/interactions/`):
`VideoResponseFormat` (aspect ratio 16:9 or 9:16; resolution 360p, 720p, 1080p or 4k; a duration; inline or
URI delivery) and `VideoConfig.task` (text_to_video, image_to_video, reference_to_video, edit, extend, upscale).
The input is a list of content blocks: the prompt as text, images and a video as base64 `data`.

A finished interaction's video is a `model_output` step's video block: its bytes (`data`), a file the
transport streamed to disk (`offload.offloaded_path` of its `uri`), or a download URI that needs the API key:
`download` fetches that one server-side into the output folder, so the URI is never handed out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.gemini.interaction_results import output_blocks, problem, status_of
from gemini_mcp.gemini.interactions import RUNNING, cancel_interaction, create_background, get_interaction
from gemini_mcp.gemini.offload import offloaded_path
from gemini_mcp.media.cpu import b64decode, b64encode, off_loop
from gemini_mcp.media.store import partial_owner

if TYPE_CHECKING:
    from google.genai import interactions as itypes

    from gemini_mcp.gemini.context import GeminiCall

__all__ = [
    "ASPECT_RATIOS",
    "LIMITS",
    "MAX_IMAGES",
    "RESOLUTIONS",
    "Finished",
    "Media",
    "OmniClip",
    "cancel_interaction",
    "download",
    "get_interaction",
    "interaction_state",
    "is_omni",
    "read_interaction",
    "start_omni_video",
]

ASPECT_RATIOS = ("16:9", "9:16")  # VideoResponseFormatAspectRatio
RESOLUTIONS = ("360p", "720p", "1080p", "4k")  # VideoResponseFormat.resolution (default 720p)
MAX_IMAGES = 6  # "text and up to six images" (the Gemini Omni model page; the types set no limit)


@dataclass(frozen=True)
class OmniLimits:
    """What one Omni model makes, where the types are silent (Google's Gemini Omni model pages)."""

    min_s: int
    max_s: int
    resolutions: tuple[str, ...]


LIMITS: dict[str, OmniLimits] = {
    "gemini-omni-1.2-flash": OmniLimits(3, 15, RESOLUTIONS),
    "gemini-omni-1.1-flash": OmniLimits(3, 10, RESOLUTIONS),
    "gemini-omni-flash-preview": OmniLimits(3, 10, ("720p",)),
}
REPHRASE = "Rephrase the prompt (avoid real people, brands and unsafe content)"


def is_omni(model: str) -> bool:
    return model.removeprefix("models/").startswith("gemini-omni")


@dataclass(frozen=True)
class Media:
    """An image or video for Omni, already loaded and checked."""

    data: bytes
    mime_type: str


def _block(kind: str, media: Media) -> dict[str, Any]:
    return {"type": kind, "data": b64encode(media.data), "mime_type": media.mime_type}


async def start_omni_video(
    call: GeminiCall,
    model: str,
    *,
    prompt: str | None = None,
    image: Media | None = None,
    last_frame: Media | None = None,
    reference_images: Sequence[Media] = (),
    video: Media | None = None,
    task: str | None = None,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    duration_seconds: int | None = None,
    previous_interaction_id: str | None = None,
) -> itypes.Interaction:
    """Start one Omni video in the background. The rules of which inputs go together are checked by the caller,
    before any call; `task` (VideoConfig.task) says what to do when the inputs alone leave it open."""

    def blocks() -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}] if prompt else []
        # A first and a last frame are image_to_video's two images, in that order.
        content += [_block("image", item) for item in (image, last_frame) if item is not None]
        content += [_block("image", item) for item in reference_images]
        content += [_block("video", video)] if video is not None else []
        return content

    items = [item for item in (image, last_frame, *reference_images, video) if item is not None]
    # base64 of a video is CPU work: off the event loop when it is large.
    size = sum(len(item.data) for item in items)
    content: str | list[dict[str, Any]] = await off_loop(blocks, size=size) if items else (prompt or "")
    response_format: dict[str, Any] = {"type": "video"}
    if aspect_ratio is not None:
        response_format["aspect_ratio"] = aspect_ratio
    if resolution is not None:
        response_format["resolution"] = resolution
    if duration_seconds is not None:
        response_format["duration"] = f"{duration_seconds}s"  # a google.protobuf.Duration in JSON
    return await create_background(
        call,
        model=model,
        input=content,
        response_format=response_format,
        generation_config={"video_config": {"task": task}} if task else None,
        previous_interaction_id=previous_interaction_id,
    )


def interaction_state(interaction: itypes.Interaction) -> tuple[bool, str | None]:
    """Whether the interaction is over, and what to tell a waiting user about it when the status says more."""
    status = status_of(interaction)
    if status in RUNNING:
        message = "Gemini Omni: waiting in Google's queue, the video starts soon…" if status == "queued" else None
        return False, message
    return True, None


@dataclass(frozen=True)
class OmniClip:
    """One generated video: its bytes when they came inline and small, a file the transport wrote, or a URI."""

    data: bytes | None
    path: Path | None
    uri: str | None
    mime_type: str


@dataclass(frozen=True)
class Finished:
    """What a finished interaction holds: its clips, or the failure to report (`problem`)."""

    interaction_id: str
    clips: list[OmniClip]
    problem: GeminiCallError | None
    model: str | None = None


def read_interaction(interaction: itypes.Interaction, folder: Path) -> Finished:
    """The video(s) of a finished interaction, or why there are none. Files the transport offloaded for other
    blocks (an image the model added, say) are removed: only videos are delivered."""
    name = interaction.id or ""
    model = str(interaction.model) if interaction.model else None
    clips: list[OmniClip] = []
    for block in output_blocks(interaction):
        uri = getattr(block, "uri", None)
        offloaded = offloaded_path(folder, uri) if isinstance(uri, str) else None
        if getattr(block, "type", None) != "video":
            if offloaded is not None:
                offloaded.unlink(missing_ok=True)
            continue
        data = getattr(block, "data", None)
        clips.append(
            OmniClip(
                data=b64decode(data) if isinstance(data, str) and data else None,
                path=offloaded,
                uri=None if offloaded is not None else uri,
                mime_type=str(block.mime_type or "video/mp4"),
            )
        )
    failure = problem(interaction, who="Gemini Omni", noun="video", rephrase=REPHRASE)
    if failure is not None:
        return Finished(name, [], failure, model)
    if not clips:
        reason = " ".join(
            str(block.text) for block in output_blocks(interaction) if getattr(block, "type", None) == "text"
        ).strip()
        return Finished(
            name,
            [],
            GeminiCallError(
                "Gemini Omni returned no video"
                + (f": {reason[:300]}" if reason else " (most likely held back by its safety rules)")
                + f" (interaction {name}). {REPHRASE}"
            ),
            model,
        )
    return Finished(name, clips, None, model)


async def download(call: GeminiCall, clip: OmniClip, folder: Path) -> Path:
    """Fetch a clip that came as a URI, streamed into a temporary file in the output folder (which the media store
    then adopts). The URI needs the API key: it is sent in the header, and only to the API's own address (a
    signed link elsewhere needs none), and neither the URI nor the key leaves this function."""
    uri = clip.uri or ""
    client = await call.client()
    api: Any = client._api_client  # the SDK keeps its HTTP client, base URL and key there
    headers = {}
    if _origin(uri) == _origin(str(api._http_options.base_url or "")) and api.api_key:
        headers["x-goog-api-key"] = api.api_key
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    path = folder / f".offload-{secrets.token_hex(8)}.{partial_owner()}.partial"
    try:
        async with api._async_httpx_client.stream("GET", uri, headers=headers) as response:
            if response.status_code != 200:
                raise GeminiCallError(
                    f"Downloading the finished {clip.mime_type.split('/')[0]} failed (HTTP {response.status_code}); "
                    "it stays at Google for a while: collect the job again with get_job"
                )
            async with await anyio.open_file(path, "xb") as file:
                async for chunk in response.aiter_bytes():
                    await file.write(chunk)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(path).unlink(missing_ok=True)
        raise
    return path


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
