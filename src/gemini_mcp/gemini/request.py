"""The request vocabulary text tools share: prompt or messages, sampling, thinking; and their SDK form.

Input models here are mixed into each tool's own input model, so every text tool takes the same field
names with the same descriptions. `build_config` applies the model rules (thinking) in one place;
`user_contents` and `builtin_tools` build the rest of a request, so tools never spell SDK types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema

from gemini_mcp.gemini.models import Task, pick, plan_thinking, resolve_model
from gemini_mcp.media.inputs import MEDIA_ITEM_DESCRIPTION, MediaInput

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall


# Descriptions here reach the input schema of every text tool: each one is short, says what the name does
# not, and leaves the type and the bounds to the schema (an agent pays for each byte on every turn).


class TextPart(BaseModel):
    # No docstring: it would become this part's description in every text tool's schema.
    model_config = {"extra": "forbid"}
    text: str


class MediaPart(MediaInput):
    pass  # a media item (its description comes from MediaInput)


# How a part is advertised: an object, which the `contents` field describes ({text} or a media item, whose
# schema the same tool spells out under `media`), rather than an anyOf of TextPart and a second copy of the
# media item (~300 bytes in each of four tools, on every turn). Validation is still TextPart | MediaPart, so a
# wrong part is refused with a message naming it (contents[i].parts[j]).
PART_SCHEMA: dict[str, Any] = {"type": "object"}


class Message(BaseModel):
    # One turn of a conversation (no docstring: see TextPart).
    model_config = {"extra": "forbid"}
    role: Literal["user", "model"] = "user"
    parts: Annotated[list[Annotated[TextPart | MediaPart, WithJsonSchema(PART_SCHEMA)]], Field(min_length=1)]

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # A bare object, like a media item: the `contents` field's description gives its shape.
        return {"type": "object"}


MEDIA_DESCRIPTION = f"Images, PDFs, audio, video: {MEDIA_ITEM_DESCRIPTION}"
SYSTEM_DESCRIPTION = "Persona, rules, style."


class PromptFields(BaseModel):
    """Either a single prompt or a whole conversation."""

    prompt: Annotated[str | None, Field(description="Or give `contents`.", min_length=1)] = None
    contents: Annotated[
        list[Message] | None,
        Field(
            description="Or: turns oldest first, last 'user'; parts {text} or media.",
            min_length=1,
        ),
    ] = None
    media: Annotated[list[MediaInput] | None, Field(description=MEDIA_DESCRIPTION, max_length=50)] = None
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None

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


MODEL_DESCRIPTION = "flash, pro, flash lite, gemini 3.5 flash, or an id."
TASK_DESCRIPTION = "complex: reasoning, code, math → pro default."
ThinkingLevel = Literal["MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH"]  # types.ThinkingLevel


class ModelField(BaseModel):
    model: Annotated[str | None, Field(description=MODEL_DESCRIPTION)] = None


class TaskField(BaseModel):
    # The seed's complex-task default (2.5 Pro) for tools whose schema has room for one more field.
    task: Annotated[Literal["complex"] | None, Field(description=TASK_DESCRIPTION)] = None


class SamplingConfig(BaseModel):
    # The generation settings as the agent sends them, under `config` (validated here, published as a bare object
    # whose keys CONFIG_DESCRIPTION names: eight typed properties in each of eight tools cost ~2.7 KB a turn).
    model_config = ConfigDict(extra="forbid")
    temperature: Annotated[float | None, Field(ge=0.0, le=2.0)] = None
    top_p: Annotated[float | None, Field(ge=0.0, le=1.0)] = None
    top_k: Annotated[int | None, Field(ge=1)] = None
    seed: int | None = None
    max_output_tokens: Annotated[int | None, Field(ge=1)] = None
    stop_sequences: Annotated[list[str] | None, Field(max_length=5)] = None
    thinking_budget: Annotated[int | None, Field(ge=-1)] = None
    thinking_level: ThinkingLevel | None = None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "object"}


CONFIG_DESCRIPTION = (
    "Optional: temperature 0-2, top_p 0-1, top_k, seed, max_output_tokens (only if asked; counts thinking), "
    "stop_sequences (<=5), thinking_budget (2.5: 0 off, -1 auto) or thinking_level (3+: MINIMAL-XHIGH)."
)


class SamplingFields(BaseModel):
    """Generation settings; leave unset for the model's defaults.

    The agent sends them in `config`; the same names at the top level are accepted too (hidden from the schema:
    agents write `temperature` out of habit, and older clients learnt it there). Either way they end up in the
    flat fields below, which is what every tool reads."""

    config: Annotated[SamplingConfig | None, Field(description=CONFIG_DESCRIPTION)] = None
    temperature: Annotated[SkipJsonSchema[float | None], Field(ge=0.0, le=2.0)] = None
    top_p: Annotated[SkipJsonSchema[float | None], Field(ge=0.0, le=1.0)] = None
    top_k: Annotated[SkipJsonSchema[int | None], Field(ge=1)] = None
    seed: SkipJsonSchema[int | None] = None
    # When set on a thinking model without thinking_budget, build_config picks a budget so the answer keeps room.
    max_output_tokens: Annotated[SkipJsonSchema[int | None], Field(ge=1)] = None
    stop_sequences: Annotated[SkipJsonSchema[list[str] | None], Field(max_length=5)] = None
    thinking_budget: Annotated[SkipJsonSchema[int | None], Field(ge=-1)] = None
    thinking_level: SkipJsonSchema[ThinkingLevel | None] = None

    @model_validator(mode="after")
    def _config_into_fields(self) -> SamplingFields:
        if self.config is not None:
            for name in self.config.model_fields_set:
                if name in self.model_fields_set:
                    raise ValueError(f"config.{name}: also given at the top level; give it once")
                setattr(self, name, getattr(self.config, name))
        return self


class TextRequest(SamplingFields, ModelField, PromptFields):
    """The fields of every text-generation tool."""

    # The order of the bases is the schema's property order, last base first: the prompt, then the model.


def resolve_text_model(model: str | None) -> str:
    return resolve_model(model, Task.TEXT)


def text_model(request: ModelField, call: GeminiCall) -> str:
    """The model a text tool calls: the one named, else the default for `task` (the seed's complex-task default
    is 2.5 Pro), resolved for the configured backend; a substitution is noted in `call.notes`."""
    task = Task.REASONING if getattr(request, "task", None) == "complex" else Task.TEXT
    return pick(call, request.model, task).model


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


async def request_contents(request: PromptFields, call: GeminiCall) -> str | list[types.Content]:
    """`build_contents`, except that a text-only prompt stays the plain string: the SDK sends the same user turn
    for it, and converting typed Contents costs it ~0.2 ms per call (benchmarks/README.md, HTTP per-call cost)."""
    if request.prompt is not None and not request.media:
        return request.prompt
    return await build_contents(request, call)


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

    plan = plan_thinking(model, request.thinking_budget, request.max_output_tokens, request.thinking_level)
    if plan.note:
        notes.append(plan.note)
    thinking = None
    if plan.level is not None:
        thinking = types.ThinkingConfig(thinking_level=types.ThinkingLevel(plan.level))
    elif plan.budget is not None:
        thinking = types.ThinkingConfig(thinking_budget=plan.budget)
    return types.GenerateContentConfig(
        system_instruction=extra.pop("system_instruction", getattr(request, "system_instruction", None)),
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        seed=request.seed,
        max_output_tokens=request.max_output_tokens,
        stop_sequences=request.stop_sequences,
        thinking_config=thinking,
        **extra,
    )
