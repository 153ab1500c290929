"""Images: generate_image (Gemini image model or Imagen) and edit_image (Gemini image model).

Rules from the Gemini guidance: the Gemini image model (`gemini-2.5-flash-image`, "nano banana") is called
with `response_modalities=[IMAGE]` and no other config; Imagen takes `number_of_images`,
`output_mime_type` and `aspect_ratio`. google-genai 3.x serves Imagen only in Vertex mode.
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Literal

import anyio
from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from gemini_mcp.errors import BackendUnsupported, UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import media_content
from gemini_mcp.framework.progress import reporting
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.models import Task, resolve_model
from gemini_mcp.gemini.parts import parts_of
from gemini_mcp.gemini.response import EmptyAnswer, Usage, usage_of
from gemini_mcp.media.cpu import off_loop
from gemini_mcp.media.imaging import dimensions
from gemini_mcp.media.inputs import MediaInput
from gemini_mcp.media.store import OUTPUT_FIELD_DESCRIPTION, OutputMode, SavedMedia

AspectRatio = Literal["1:1", "3:4", "4:3", "9:16", "16:9"]
DRAWING = ["Gemini is drawing your image", "Adding the details", "Still painting: images take 5-20 s"]

VERTEX_HINT = (
    "Imagen needs Vertex AI mode in google-genai 3.x: set GOOGLE_GENAI_USE_VERTEXAI=true with a Vertex "
    "express-mode GOOGLE_API_KEY (or GOOGLE_CLOUD_PROJECT + GOOGLE_CLOUD_LOCATION and application default "
    "credentials) and restart the server; or leave `model` unset to use the Gemini image model "
    "(gemini-2.5-flash-image), which works with a Gemini API key"
)


def is_imagen(model: str) -> bool:
    return model.startswith("imagen-")


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

    prompt: Annotated[
        str, Field(min_length=1, description="What to draw: subject, style, lighting, composition, text to render.")
    ]
    model: Annotated[
        str | None,
        Field(
            description="'nano banana' / 'gemini-2.5-flash-image' (default: Gemini image model, any backend) or "
            "Imagen: 'imagen', 'imagen fast', 'imagen ultra' (Vertex mode only)."
        ),
    ] = None
    quality: Annotated[
        Literal["standard", "high"],
        Field(description="'high' uses Imagen 4 in Vertex mode; on the Developer API it stays on the Gemini model."),
    ] = "standard"
    number_of_images: Annotated[int, Field(ge=1, le=4, description="How many images, 1-4.")] = 1
    aspect_ratio: Annotated[AspectRatio, Field(description="One of 1:1, 3:4, 4:3, 9:16, 16:9.")] = "1:1"
    output_mime_type: Annotated[
        Literal["image/png", "image/jpeg"], Field(description="File type (Imagen); the Gemini model returns PNG.")
    ] = "image/png"
    negative_prompt: Annotated[
        str | None, Field(description="What to avoid (Imagen 3 only; Imagen 4 and Gemini ignore it, so it is refused).")
    ] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


def choose_model(args: GenerateImageInput, call: Call) -> str:
    if args.model is not None:
        model = resolve_model(args.model, Task.IMAGE)
    elif args.quality == "high" and call.settings.backend == "vertex":
        model = resolve_model(None, Task.IMAGE_HQ)
    else:
        model = resolve_model(None, Task.IMAGE)
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
    prompt = args.prompt
    if args.aspect_ratio != "1:1":
        # The Gemini image model takes no config besides response_modalities: ask for the shape in words.
        prompt = f"{prompt}\n\nAspect ratio {args.aspect_ratio}."
    if args.output_mime_type != "image/png":
        call.notes.append("the Gemini image model returns PNG; output_mime_type applies to Imagen only")
    return await _gemini_images(call, model, prompt, None, args.number_of_images, args.output)


async def _imagen(args: GenerateImageInput, call: Call, model: str) -> CallToolResult:
    from google.genai import types

    if args.negative_prompt is not None and model.startswith("imagen-4"):
        raise UserInputError(
            "negative_prompt: Imagen 4 models do not take a negative prompt; describe what to avoid in the prompt "
            "or use 'imagen-3.0-generate-002'"
        )
    client = await call.client()
    # google-genai marks generate_images deprecated in favour of Gemini image models; Imagen is still served and
    # is what the caller asked for. A filter for this warning at this call site, set just before the call:
    # `catch_warnings()` would swap the process-wide filters for everyone while other tasks and threads run.
    warnings.filterwarnings("ignore", message="The generate_images method is deprecated", module=__name__)
    async with reporting(call, DRAWING, expected_s=15, done="Imagen finished; saving"):
        response = await client.aio.models.generate_images(
            model=model,
            prompt=args.prompt,
            config=types.GenerateImagesConfig(
                number_of_images=args.number_of_images,
                aspect_ratio=args.aspect_ratio,
                output_mime_type=args.output_mime_type,
                negative_prompt=args.negative_prompt,
                include_rai_reason=True,
            ),
        )
    images: list[tuple[bytes, str]] = []
    filtered: list[str] = []
    for generated in response.generated_images or []:
        image = generated.image
        if image is not None and image.image_bytes:
            images.append((image.image_bytes, image.mime_type or args.output_mime_type))
        elif generated.rai_filtered_reason:
            filtered.append(generated.rai_filtered_reason)
    missing = args.number_of_images - len(images) - len(filtered)
    if missing > 0:
        filtered.extend(["withheld by the safety filter (no reason given)"] * missing)
    if not images:
        raise EmptyAnswer(
            "Imagen returned no image: " + ("; ".join(filtered) or "no reason given") + ". Rephrase the prompt"
        )
    if filtered:
        call.notes.append(f"{len(filtered)} of {args.number_of_images} images were withheld by the safety filter")
    return await deliver(call, model, images, args.prompt, args.output, filtered=filtered)


async def _gemini_images(
    call: Call, model: str, prompt: str, inputs: list[MediaInput] | None, count: int, output: OutputMode
) -> CallToolResult:
    from google.genai import types

    client = await call.client()
    contents = [types.Content(role="user", parts=await parts_of(prompt, inputs, call, field="images"))]
    config = types.GenerateContentConfig(response_modalities=["IMAGE"])
    responses: list[Any] = [None] * count

    async def one(index: int) -> None:
        responses[index] = await client.aio.models.generate_content(model=model, contents=contents, config=config)

    finished = f"{model} finished; saving"
    async with reporting(call, DRAWING, expected_s=15, done=finished), anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    images: list[tuple[bytes, str]] = []
    texts: list[str] = []
    filtered: list[str] = []
    for response in responses:
        candidate = response.candidates[0] if response.candidates else None
        parts = candidate.content.parts if candidate and candidate.content and candidate.content.parts else []
        found = [
            (p.inline_data.data, p.inline_data.mime_type or "image/png")
            for p in parts
            if p.inline_data and p.inline_data.data
        ]
        images.extend(found)
        texts.extend(p.text for p in parts if p.text and not p.thought)
        if not found:
            reason = candidate.finish_reason if candidate else None
            block = response.prompt_feedback.block_reason if response.prompt_feedback else None
            filtered.append(str(getattr(reason or block, "value", reason or block) or "no image returned"))
    if not images:
        raise EmptyAnswer(
            f"{model} returned no image ({'; '.join(filtered)}). "
            + (" ".join(texts) + " " if texts else "")
            + "Rephrase the prompt (safety filters block some subjects)"
        )
    usage = usage_of(responses[0])
    return await deliver(
        call, model, images, prompt, output, text="\n".join(texts) or None, filtered=filtered, usage=usage
    )


async def deliver(
    call: Call,
    model: str,
    images: list[tuple[bytes, str]],
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
    for data, mime in images:
        item = await call.media.save(data, mime_type=mime, kind="image", hint=hint)
        size = await off_loop(dimensions, data, size=len(data))
        saved.append(
            GeneratedImage(**item.model_dump(), width=size[0] if size else None, height=size[1] if size else None)
        )
        blocks.extend(media_content(call.media, item, data, output, description=hint[:80]))
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
        str,
        Field(
            min_length=1,
            description="The edit: 'remove the background', 'make it night time', 'put the cat from image 2 on the "
            "sofa of image 1'.",
        ),
    ]
    images: Annotated[
        list[MediaInput],
        Field(
            min_length=1,
            max_length=3,
            description="1-3 input images: path, url, base64 data, or file_uri (including the gemini://media/<id> "
            "URI of an image this server generated, to chain generate → edit).",
        ),
    ]
    model: Annotated[
        str | None, Field(description="A Gemini image model (default 'gemini-2.5-flash-image' / 'nano banana').")
    ] = None
    output: Annotated[OutputMode, Field(description=OUTPUT_FIELD_DESCRIPTION)] = "both"


async def edit_image(args: EditImageInput, call: Call) -> CallToolResult:
    call.model = model = resolve_model(args.model, Task.IMAGE)
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
            "Create images from a text prompt. Default: Gemini's image model ('nano banana', any backend); "
            "'imagen'/'imagen fast'/'imagen ultra' or quality 'high' use Imagen 4 (Vertex mode). Options: "
            "number_of_images 1-4, aspect_ratio (1:1, 3:4, 4:3, 9:16, 16:9), output_mime_type (Imagen). Images are "
            "saved on the server and returned inline (when small) and as gemini://media/ resource links; pass a "
            "link to edit_image to refine it."
        ),
        input_model=GenerateImageInput,
        output_model=ImagesOutput,
        handler=generate_image,
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
        annotations=_ANNOTATIONS,
    ),
]
