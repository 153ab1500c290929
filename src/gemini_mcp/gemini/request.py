"""The request vocabulary text tools share: prompt or messages, sampling, thinking; and their SDK form.

Input models here are mixed into each tool's own input model, so every text tool takes the same field
names with the same descriptions. `build_config` applies the model rules (thinking) in one place;
`user_contents` and `builtin_tools` build the rest of a request, so tools never spell SDK types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from gemini_mcp.gemini.models import Task, plan_thinking, resolve_model
from gemini_mcp.media.inputs import MediaInput

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


class TextPart(BaseModel):
    """A part of a message: text."""

    model_config = {"extra": "forbid"}
    text: Annotated[str, Field(description="Text of this part.")]


class MediaPart(MediaInput):
    """A part of a message: media (exactly one of path, url, data, file_uri)."""


class Message(BaseModel):
    """One turn of a conversation."""

    model_config = {"extra": "forbid"}
    role: Annotated[
        Literal["user", "model"],
        Field(description="'user' for the caller's turns, 'model' for earlier answers of the model."),
    ] = "user"
    parts: Annotated[
        list[TextPart | MediaPart],
        Field(
            min_length=1,
            description="The parts of this turn, in order: {'text': ...} or media {'path'|'url'|'data'|'file_uri': "
            "..., 'mime_type'?: ...}.",
        ),
    ]


MEDIA_DESCRIPTION = (
    "Images, PDFs, audio or video for the model to read with the prompt (added to the last user turn). Each "
    "item gives exactly one of: `path` (a local file inside the allowed folders), `url` (http(s), or a "
    "YouTube link), `data` (base64, with `mime_type`), or `file_uri` (a Gemini Files API URI, or a "
    "gemini://media/... URI of media this server generated). Large files are uploaded automatically."
)


class PromptFields(BaseModel):
    """Either a single prompt or a whole conversation."""

    prompt: Annotated[
        str | None,
        Field(
            description="The instruction or question. Give this, or `contents` for a multi-turn/multi-part request.",
            min_length=1,
        ),
    ] = None
    contents: Annotated[
        list[Message] | None,
        Field(
            description="A conversation as messages with roles and parts, oldest first, ending with a 'user' "
            "turn. Use instead of `prompt`.",
            min_length=1,
        ),
    ] = None
    media: Annotated[list[MediaInput] | None, Field(description=MEDIA_DESCRIPTION, max_length=50)] = None
    system_instruction: Annotated[
        str | None,
        Field(description="Standing instructions for the model (persona, rules, output style)."),
    ] = None

    @model_validator(mode="after")
    def _prompt_or_contents(self) -> PromptFields:
        if (self.prompt is None) == (self.contents is None):
            raise ValueError(
                "give exactly one of `prompt` (a string) or `contents` (a list of messages)"
                if self.prompt is None
                else "give `prompt` or `contents`, not both"
            )
        if self.contents is not None and self.contents[-1].role != "user":
            raise ValueError("contents: the last message must have role 'user' (the turn to answer)")
        return self


class ModelField(BaseModel):
    model: Annotated[
        str | None,
        Field(
            description="Model id (e.g. 'gemini-2.5-flash') or alias ('flash', 'flash lite', 'pro'). Default: "
            "gemini-2.5-flash; use 'pro' for complex reasoning, coding and math.",
        ),
    ] = None


class SamplingFields(BaseModel):
    """Generation settings; leave unset for the model's defaults."""

    temperature: Annotated[
        float | None, Field(ge=0.0, le=2.0, description="Randomness, 0.0-2.0 (lower = more focused).")
    ] = None
    top_p: Annotated[float | None, Field(ge=0.0, le=1.0, description="Nucleus sampling mass, 0.0-1.0.")] = None
    top_k: Annotated[int | None, Field(ge=1, description="Sample from the k most likely tokens.")] = None
    seed: Annotated[int | None, Field(description="Seed for more repeatable outputs.")] = None
    max_output_tokens: Annotated[
        int | None,
        Field(
            ge=1,
            description="Cap on output tokens, thinking included. Leave unset unless asked: when set on a "
            "thinking model without thinking_budget, a budget is chosen so the answer keeps room.",
        ),
    ] = None
    stop_sequences: Annotated[
        list[str] | None, Field(max_length=5, description="Up to 5 strings that end the output.")
    ] = None
    thinking_budget: Annotated[
        int | None,
        Field(
            ge=-1,
            description="Thinking tokens for Gemini 2.5 models: 0 turns thinking off (Flash/Flash-Lite), -1 "
            "lets the model decide; max 24576 (Flash, Flash-Lite) or 32768 (Pro, min 128). Default: unset.",
        ),
    ] = None


class TextRequest(PromptFields, ModelField, SamplingFields):
    """The fields of every text-generation tool."""


def resolve_text_model(model: str | None) -> str:
    return resolve_model(model, Task.TEXT)


async def build_contents(request: PromptFields, call: GeminiCall) -> list[types.Content]:
    """The request as google-genai Contents, with media loaded (inline or uploaded) and confined."""
    from google.genai import types

    from gemini_mcp.gemini.parts import media_part, parts_of

    if request.prompt is not None:
        parts = await parts_of(request.prompt, request.media, call, field="media")
        return [types.Content(role="user", parts=parts)]
    assert request.contents is not None
    contents: list[types.Content] = []
    for i, message in enumerate(request.contents):
        parts = []
        for j, part in enumerate(message.parts):
            if isinstance(part, TextPart):
                parts.append(types.Part(text=part.text))
            else:
                parts.append(await media_part(part, call, field=f"contents[{i}].parts[{j}]"))
        contents.append(types.Content(role=message.role, parts=parts))
    if request.media:
        extra = await parts_of(None, request.media, call, field="media")
        last = contents[-1]
        last.parts = [*extra, *(last.parts or [])]
    return contents


async def user_contents(
    text: str | None, media: list[MediaInput] | None, call: GeminiCall, *, field: str = "media"
) -> list[types.Content]:
    """One user turn: `media` (loaded, inline or uploaded) then `text`."""
    from google.genai import types

    from gemini_mcp.gemini.parts import parts_of

    return [types.Content(role="user", parts=await parts_of(text, media, call, field=field))]


def builtin_tools(
    *, url_context: bool = False, code_execution: bool = False, google_search: bool = False
) -> list[types.Tool] | None:
    """Gemini's own tools to switch on (None: none), for `build_config(tools=...)`."""
    from google.genai import types

    tools = []
    if google_search:
        tools.append(types.Tool(google_search=types.GoogleSearch()))
    if url_context:
        tools.append(types.Tool(url_context=types.UrlContext()))
    if code_execution:
        tools.append(types.Tool(code_execution=types.ToolCodeExecution()))
    return tools or None


def build_config(request: SamplingFields, model: str, notes: list[str], **extra: Any) -> types.GenerateContentConfig:
    """The GenerateContentConfig for `request` on `model`; appends to `notes` what we decided for the caller."""
    from google.genai import types

    plan = plan_thinking(model, request.thinking_budget, request.max_output_tokens)
    if plan.note:
        notes.append(plan.note)
    return types.GenerateContentConfig(
        system_instruction=extra.pop("system_instruction", getattr(request, "system_instruction", None)),
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        seed=request.seed,
        max_output_tokens=request.max_output_tokens,
        stop_sequences=request.stop_sequences,
        thinking_config=None if plan.budget is None else types.ThinkingConfig(thinking_budget=plan.budget),
        **extra,
    )
