"""Images: generate_image (Gemini image model or Imagen) and edit_image (Gemini image model).

The calls and their rules are `gemini/images.py`; google-genai 3.x serves Imagen only in Vertex mode.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import BackendUnsupported, UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.progress import reporting
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.images import draw, imagen
from gemini_mcp.gemini.models import ModelError, Task, entry_of, pick, plan_image, task_models
from gemini_mcp.gemini.request import user_contents
from gemini_mcp.gemini.response import Answer, EmptyAnswer, Media, Usage
from gemini_mcp.media.cpu import off_loop
from gemini_mcp.media.imaging import dimensions
from gemini_mcp.media.inputs import MEDIA_ITEM_DESCRIPTION, MediaInput
from gemini_mcp.media.store import OUTPUT_FIELD_DESCRIPTION, OutputMode, SavedMedia
from gemini_mcp.tools._costs import edit_image_cost, image_cost

AspectRatio = Literal["1:1", "3:4", "4:3", "9:16", "16:9"]  # what every image model of the catalog takes
ImageSize = Literal["1K", "2K", "4K"]  # types.ImageConfig.image_size
DRAWING = ["Gemini is drawing your image", "Adding the details", "Still painting: images take 5-20 s"]

VERTEX_HINT = (
    "Imagen needs Vertex AI mode in google-genai 3.x: set GOOGLE_GENAI_USE_VERTEXAI=true with a Vertex "
    "express-mode GOOGLE_API_KEY (or GOOGLE_CLOUD_PROJECT + GOOGLE_CLOUD_LOCATION and application default "
    "credentials) and restart the server; or leave `model` unset to use the Gemini image model "
    "(gemini-2.5-flash-image), which works with a Gemini API key"
)


def is_imagen(model: str) -> bool:
    entry = entry_of(model)
    return entry.api == "predict" if entry is not None else model.startswith("imagen-")


class GeneratedImage(SavedMedia):
    width: Annotated[int | None, Field(description="Width in pixels.")] = None
    height: Annotated[int | None, Field(description="Height in pixels.")] = None


class ImagesOutput(ToolOutput):
    model: Annotated[str, Field(description="The model that made the images.")]
    images: Annotated[list[GeneratedImage], Field(description="The saved images, in order.")]
    text: Annotated[str | None, Field(description="Any text the model returned with the images.")] = None
    filtered: Annotated[
        list[str] | None, Field(description="Why images were withheld by safety filters, one reason per image.")
    ] = None
    usage: Usage | None = None
    notes: list[str] | None = None


# --- generate_image ------------------------------------------------------------------------------------
class GenerateImageInput(ToolInput):
    """Arguments of generate_image."""

    prompt: Annotated[str, Field(min_length=1, description="Subject, style, lighting, composition, text to render.")]
    model: Annotated[
        str | None,
        Field(description="nano banana (default), nano banana pro, nano banana 2; imagen… (Vertex only)."),
    ] = None
    quality: Annotated[Literal["standard", "high"], Field(description="high: Imagen 4 in Vertex mode.")] = "standard"
    number_of_images: Annotated[int, Field(ge=1, le=4, description="How many.")] = 1
    aspect_ratio: Annotated[AspectRatio, Field(description="Width:height.")] = "1:1"
    image_size: Annotated[ImageSize | None, Field(description="image_config models (nano banana pro, 2).")] = None
    output_mime_type: Annotated[
        Literal["image/png", "image/jpeg"], Field(description="Imagen only; Gemini returns PNG.")
    ] = "image/png"
    negative_prompt: Annotated[str | None, Field(description="What to avoid; Imagen 3 only.")] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


def choose_model(args: GenerateImageInput, call: Call) -> str:
    if args.model is not None:
        model = pick(call, args.model, Task.IMAGE).model
    elif args.quality == "high" and call.settings.backend == "vertex":
        model = pick(call, None, Task.IMAGE_HQ).model
    else:
        # The Developer API serves no Imagen: today's high-quality Gemini image model stands in for it.
        best = (
            task_models(Task.IMAGE_HQ, call.settings.backend, api="generateContent") if args.quality == "high" else []
        )
        model = best[0] if best else pick(call, None, Task.IMAGE).model
        if args.quality == "high":
            call.notes.append(f"quality 'high' uses Imagen in Vertex mode only; used {model}. {VERTEX_HINT}")
    if is_imagen(model) and call.settings.backend != "vertex":
        raise BackendUnsupported(f"model '{model}' is an Imagen model. {VERTEX_HINT}")
    return model


async def generate_image(args: GenerateImageInput, call: Call) -> CallToolResult:
    call.model = model = choose_model(args, call)
    if is_imagen(model):
        return await _imagen(args, call, model)
    if args.negative_prompt is not None:
        raise UserInputError(
            "negative_prompt: the Gemini image model takes no negative prompt; describe what to avoid in the prompt "
            "(e.g. 'no text, no people'), or use Imagen 3 (model 'imagen-3.0-generate-002', Vertex mode)"
        )
    # image_config where the model takes it; gemini-2.5-flash-image takes none, so it gets the shape in words.
    plan = plan_image(model, args.aspect_ratio, args.image_size)
    prompt = f"{args.prompt}\n\n{plan.prompt_suffix}" if plan.prompt_suffix else args.prompt
    if args.output_mime_type != "image/png":
        call.notes.append("the Gemini image model returns PNG; output_mime_type applies to Imagen only")
    return await _gemini_images(call, model, prompt, None, args.number_of_images, args.output, plan.image_config)


async def _imagen(args: GenerateImageInput, call: Call, model: str) -> CallToolResult:
    if args.negative_prompt is not None and model.startswith("imagen-4"):
        raise UserInputError(
            "negative_prompt: Imagen 4 models do not take a negative prompt; describe what to avoid in the prompt "
            "or use 'imagen-3.0-generate-002'"
        )
    if args.image_size is not None:
        raise ModelError(f"image_size: Imagen ('{model}') takes no image_size; leave it out or use 'nano banana pro'")
    async with reporting(call, DRAWING, expected_s=15, done="Imagen finished; saving"):
        answer = await imagen(
            call,
            model,
            args.prompt,
            count=args.number_of_images,
            aspect_ratio=args.aspect_ratio,
            mime_type=args.output_mime_type,
            negative_prompt=args.negative_prompt,
        )
    if not answer.images:
        raise EmptyAnswer(
            "Imagen returned no image: " + ("; ".join(answer.filtered) or "no reason given") + ". Rephrase the prompt"
        )
    if answer.filtered:
        call.notes.append(
            f"{len(answer.filtered)} of {args.number_of_images} images were withheld by the safety filter"
        )
    return await deliver_images(call, model, answer.images, args.prompt, args.output, filtered=answer.filtered)


async def _gemini_images(
    call: Call,
    model: str,
    prompt: str,
    inputs: list[MediaInput] | None,
    count: int,
    output: OutputMode,
    image_config: dict[str, str] | None = None,
) -> CallToolResult:
    contents = await user_contents(prompt, inputs, call, field="images")
    drawn: dict[int, Answer] = {}

    async def one(index: int) -> None:
        drawn[index] = await draw(call, model, contents, image_config)

    finished = f"{model} finished; saving"
    async with reporting(call, DRAWING, expected_s=15, done=finished), anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    answers = [drawn[index] for index in range(count)]  # in the order asked, whichever finished first
    images = [image for answer in answers for image in answer.inline]
    texts = [answer.text for answer in answers if answer.text]
    filtered = [
        answer.finish_reason or answer.prompt_block or "no image returned" for answer in answers if not answer.inline
    ]
    if not images:
        raise EmptyAnswer(
            f"{model} returned no image ({'; '.join(filtered)}). "
            + (" ".join(texts) + " " if texts else "")
            + "Rephrase the prompt (safety filters block some subjects)"
        )
    return await deliver_images(
        call, model, images, prompt, output, text="\n".join(texts) or None, filtered=filtered, usage=answers[0].usage
    )


async def deliver_images(
    call: Call,
    model: str,
    images: list[Media],
    hint: str,
    output: OutputMode,
    *,
    text: str | None = None,
    filtered: list[str] | None = None,
    usage: Usage | None = None,
) -> CallToolResult:
    """Save each image, and answer with inline images and/or resource links plus structured metadata."""
    saved: list[GeneratedImage] = []
    blocks: list[ContentBlock] = []
    if text:
        blocks.append(TextContent(type="text", text=text))
    for image in images:
        data = image.data or b""
        delivered = await deliver(
            call,
            data,
            mime_type=image.mime_type or "image/png",
            kind="image",
            hint=hint,
            output=output,
            description=hint[:80],
        )
        size = await off_loop(dimensions, data, size=len(data))
        width, height = size if size else (None, None)
        saved.append(GeneratedImage(**delivered.saved.model_dump(), width=width, height=height))
        blocks.extend(delivered.content)
    summary = f"{len(saved)} image(s) from {model}, saved: " + ", ".join(s.path for s in saved)
    if filtered:
        summary += f". Withheld by safety filters: {'; '.join(filtered)}"
    blocks.append(TextContent(type="text", text=summary))
    result = ImagesOutput(
        model=model, images=saved, text=text, filtered=filtered or None, usage=usage, notes=call.notes or None
    )
    return structured_result(result, blocks)


# --- edit_image ----------------------------------------------------------------------------------------
class EditImageInput(ToolInput):
    """Arguments of edit_image."""

    instruction: Annotated[
        str, Field(min_length=1, description="E.g. 'remove the background', 'put the cat of image 2 on the sofa'.")
    ]
    images: Annotated[
        list[MediaInput],
        Field(min_length=1, max_length=3, description=f"The images, {MEDIA_ITEM_DESCRIPTION}"),
    ]
    model: Annotated[str | None, Field(description="A Gemini image model; default nano banana.")] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


async def edit_image(args: EditImageInput, call: Call) -> CallToolResult:
    call.model = model = pick(call, args.model, Task.IMAGE).model
    if is_imagen(model):
        raise UserInputError(
            f"model: '{model}' is an Imagen model; edit_image uses Gemini image models ('gemini-2.5-flash-image')"
        )
    return await _gemini_images(call, model, args.instruction, args.images, 1, args.output)


_ANNOTATIONS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="generate_image",
        title="Generate images",
        description=(
            "Create images from a text prompt. Default: Gemini's image model ('nano banana' = gemini-2.5-flash-"
            "image, any backend); 'imagen'/'imagen fast'/'imagen ultra' or quality 'high' use Imagen 4 (Vertex "
            "mode only). negative_prompt: Imagen 3 only (refused elsewhere). Images are saved on the server and "
            "returned inline (when small) and as gemini://media/ resource links; pass one to edit_image to "
            "refine it."
        ),
        input_model=GenerateImageInput,
        output_model=ImagesOutput,
        handler=generate_image,
        cost=image_cost,
        annotations=_ANNOTATIONS,
    ),
    ToolSpec(
        name="edit_image",
        title="Edit images",
        description=(
            "Edit or combine 1-3 images with an instruction using Gemini's image model: change the background, "
            "add or remove objects, restyle, merge subjects. Images come by path, URL, base64 or the "
            "gemini://media/<id> URI of an image this server made. Returns the edited image like generate_image."
        ),
        input_model=EditImageInput,
        output_model=ImagesOutput,
        handler=edit_image,
        cost=edit_image_cost,
        annotations=_ANNOTATIONS,
    ),
]
