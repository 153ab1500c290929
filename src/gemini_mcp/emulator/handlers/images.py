"""Images: Imagen `:predict` (Vertex) and the IMAGE response modality of Gemini image models.

Pictures are real PNG/JPEG files of the asked aspect ratio whose colours derive from the prompt (and, for
edits, from the input image), so the same request always gets the same bytes. A prompt containing
"unsafe" is filtered the way Imagen's responsible-AI filter reports it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from gemini_mcp.emulator import catalog, pictures, validate
from gemini_mcp.emulator.handlers.generate import prompt_text
from gemini_mcp.emulator.state import Registry, RpcContext
from gemini_mcp.emulator.wire import estimate_tokens, get

ASPECT_RATIOS = tuple(pictures.ASPECT_SIZES)  # Imagen's
LONG_SIDE = {"1K": 96, "2K": 128, "4K": 192}  # pixels of the emulated picture's long side, by imageSize
IMAGEN_MIME_TYPES = ("image/png", "image/jpeg")
RAI_REASON = (
    "Your current safety filter threshold filtered out a generated image. Please rephrase your prompt. "
    "Support codes: 58061214"
)


def register(registry: Registry) -> None:
    registry.rpc("predict", imagen_predict, kind="imagen")
    registry.modality("IMAGE", gemini_image)


def is_unsafe(prompt: str) -> bool:
    return "unsafe" in prompt.lower()


async def imagen_predict(ctx: RpcContext) -> dict[str, Any]:
    instances = ctx.body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise validate.bad("instances: exactly one instance with a prompt is required")
    prompt = str(get(instances[0], "prompt") or "")
    if not prompt.strip():
        raise validate.bad("instances[0].prompt: prompt is required")
    if estimate_tokens(prompt) > ctx.spec.input_token_limit:
        raise validate.bad(f"The prompt is too long: at most {ctx.spec.input_token_limit} tokens")
    parameters = ctx.body.get("parameters") or {}
    count = int(get(parameters, "sample_count") or 1)
    if not 1 <= count <= 4:
        raise validate.bad(f"sampleCount must be between 1 and 4, got {count}.")
    aspect = str(get(parameters, "aspect_ratio") or "1:1")
    if aspect not in ASPECT_RATIOS:
        raise validate.bad(f"Unsupported aspect ratio: {aspect}. Supported: {', '.join(ASPECT_RATIOS)}.")
    options = get(parameters, "output_options") or {}
    mime = str(get(options, "mime_type") or "image/png")
    if mime not in IMAGEN_MIME_TYPES:
        raise validate.bad(f"Unsupported output mime type: {mime}. Supported: image/png, image/jpeg.")
    negative = get(parameters, "negative_prompt")
    if negative is not None and ctx.model.startswith("imagen-4"):
        raise validate.bad("negativePrompt is not supported by this model.")
    predictions: list[dict[str, Any]] = []
    for index in range(count):
        if is_unsafe(prompt) and index % 2 == 0:
            if get(parameters, "include_rai_reason"):
                predictions.append({"raiFilteredReason": RAI_REASON})
            continue
        seed = f"{ctx.model}|{prompt}|{negative}|{index}"
        data = pictures.image(mime, aspect, seed)
        predictions.append({"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": mime})
    return {"predictions": predictions}


async def gemini_image(ctx: RpcContext) -> dict[str, Any]:
    if ctx.spec.kind != "image":
        raise validate.bad(f"The model {ctx.model} does not support image output.")
    config = get(ctx.body, "generation_config") or {}
    modalities = [str(m).upper() for m in get(config, "response_modalities") or ["TEXT", "IMAGE"]]
    if get(config, "response_mime_type") not in (None, "text/plain"):
        raise validate.bad("response_mime_type is not supported with image output.")
    image_config = get(config, "image_config") or {}
    catalog.check_image_config(image_config, ctx.spec)
    last = ctx.body["contents"][-1]
    prompt = prompt_text(last)
    aspect = str(get(image_config, "aspect_ratio") or _aspect_in(prompt) or "1:1")
    supported = ctx.spec.images.aspect_ratios if ctx.spec.images else ASPECT_RATIOS
    if aspect not in supported:
        raise validate.bad(f"Unsupported aspect ratio: {aspect}. Supported: {', '.join(supported)}.")
    size = str(get(image_config, "image_size") or "1K")
    inputs = [decoded for p in get(last, "parts") or [] if (decoded := validate.decode_inline(p)) is not None]
    parts: list[dict[str, Any]] = []
    if is_unsafe(prompt):
        return {
            "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY", "index": 0}],
            "usageMetadata": {"promptTokenCount": estimate_tokens(prompt), "totalTokenCount": estimate_tokens(prompt)},
            "modelVersion": ctx.model,
            **catalog.status_field(ctx.spec, ctx.backend),
        }
    seed = f"{ctx.model}|{prompt}|" + "|".join(hashlib.sha256(data).hexdigest() for _, data in inputs)
    if "TEXT" in modalities:
        verb = f"Edited {len(inputs)} image(s)" if inputs else "Generated an image"
        parts.append({"text": f"[emulated {ctx.model}] {verb} for: {prompt}"})
    data = _picture(aspect, size, seed)
    parts.append({"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}})
    prompt_tokens = estimate_tokens(prompt) + 258 * len(inputs)
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": 1290,
            "totalTokenCount": prompt_tokens + 1290,
        },
        "modelVersion": ctx.model,
        **catalog.status_field(ctx.spec, ctx.backend),
    }


def _picture(aspect: str, size: str, seed: str) -> bytes:
    """A PNG of the asked shape; its long side grows with imageSize, so a test sees the size was applied."""
    if aspect in pictures.ASPECT_SIZES and size == "1K":
        return pictures.image("image/png", aspect, seed)
    wide, high = (int(n) for n in aspect.split(":"))
    long_side = LONG_SIDE.get(size, 96)
    width, height = (
        (long_side, round(long_side * high / wide)) if wide >= high else (round(long_side * wide / high), long_side)
    )
    return pictures.png(max(1, width), max(1, height), seed)


def _aspect_in(prompt: str) -> str | None:
    match = re.search(r"aspect ratio (\d+:\d+)", prompt, re.IGNORECASE)
    return match.group(1) if match else None
