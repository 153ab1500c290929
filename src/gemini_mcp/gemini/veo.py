"""Veo: start a video (a paid create: the transport never sends it twice), follow its operation, read what a
finished operation holds, and download a video whose bytes did not come inline.

A finished operation carries the video as bytes, as a file the transport streamed to disk
(`offload.offloaded_path` of its URI), as a Cloud Storage URI, or as a Developer-API download URI that needs
the API key: `download` fetches that one server-side, so the URI is never handed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


async def start_video(
    call: GeminiCall, model: str, source: types.GenerateVideosSource, config: types.GenerateVideosConfig
) -> types.GenerateVideosOperation:
    client = await call.client()
    return await client.aio.models.generate_videos(model=model, source=source, config=config)


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
