"""Images: Imagen (`generate_images`, Vertex mode in google-genai 3.x) and the Gemini image models.

The seed's Gemini image model (`gemini-2.5-flash-image`) is called with `response_modalities=[IMAGE]` and no
other config; the Gemini 3 image models also take `image_config` (aspect ratio, size); Imagen takes
`number_of_images`, `output_mime_type` and `aspect_ratio`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.response import Answer, Media

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


@dataclass(frozen=True)
class ImagenAnswer:
    images: list[Media]
    filtered: list[str]  # why each withheld image was withheld, one entry per image


async def imagen(
    call: GeminiCall,
    model: str,
    prompt: str,
    *,
    count: int,
    aspect_ratio: str,
    mime_type: str,
    negative_prompt: str | None = None,
) -> ImagenAnswer:
    """`count` images from Imagen; those its safety filter withheld are counted in `filtered`."""
    from google.genai import types

    client = await call.client()
    # google-genai marks generate_images deprecated in favour of Gemini image models; Imagen is still served and
    # is what the caller asked for. A filter for this warning at this call site, set just before the call:
    # `catch_warnings()` would swap the process-wide filters for everyone while other tasks and threads run.
    warnings.filterwarnings("ignore", message="The generate_images method is deprecated", module=__name__)
    response = await client.aio.models.generate_images(
        model=model,
        prompt=prompt,
        config=types.GenerateImagesConfig(
            number_of_images=count,
            aspect_ratio=aspect_ratio,
            output_mime_type=mime_type,
            negative_prompt=negative_prompt,
            include_rai_reason=True,
        ),
    )
    images: list[Media] = []
    filtered: list[str] = []
    for generated in response.generated_images or []:
        image = generated.image
        if image is not None and image.image_bytes:
            images.append(Media(image.mime_type or mime_type, data=image.image_bytes))
        elif generated.rai_filtered_reason:
            filtered.append(generated.rai_filtered_reason)
    missing = count - len(images) - len(filtered)
    if missing > 0:
        filtered.extend(["withheld by the safety filter (no reason given)"] * missing)
    return ImagenAnswer(images, filtered)


async def draw(
    call: GeminiCall, model: str, contents: list[types.Content], image_config: dict[str, str] | None = None
) -> Answer:
    """One answer of a Gemini image model: images as inline media, with any text it wrote. `image_config`
    (aspect_ratio, image_size) only for the models whose catalog entry takes it (`models.plan_image`)."""
    from google.genai import types

    shape = None
    if image_config:
        shape = types.ImageConfig(
            aspect_ratio=image_config.get("aspect_ratio"), image_size=image_config.get("image_size")
        )
    config = types.GenerateContentConfig(response_modalities=["IMAGE"], image_config=shape)
    return await generate(call, model, contents, config, stream=False)
