"""The models the emulator serves, with the limits the real API enforces on each, and their lifecycle.

Independent of `gemini_mcp.gemini.models` (and of its catalog data) on purpose: the emulator stands for
Google's side of the wire, so a rule our tools get wrong shows up as a refused request, as it would against
the real API. Deprecated models are listed and served, and their answers carry `modelStatus` (Developer API);
retired ids answer 404 like any unknown model, as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gemini_mcp.emulator.wire import ApiError, get


@dataclass(frozen=True)
class Thinking:
    """Budget bounds of a thinking model (`thinkingConfig.thinkingBudget`)."""

    minimum: int
    maximum: int
    can_disable: bool
    dynamic_tokens: int = 180  # thinking tokens spent when the budget is left to the model


@dataclass(frozen=True)
class Images:
    """What a Gemini image model accepts in `imageConfig` (no sizes: it refuses `imageSize`)."""

    aspect_ratios: tuple[str, ...]
    sizes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """A deprecated model's `modelStatus`: stage, retirement time (RFC 3339), message."""

    retirement: str
    successor: str
    stage: str = "DEPRECATED"

    def wire(self, model: str) -> dict[str, str]:
        return {
            "modelStage": self.stage,
            "retirementTime": self.retirement,
            "message": f"{model} is deprecated and will be retired on {self.retirement[:10]}; use {self.successor}.",
        }


@dataclass(frozen=True)
class ModelSpec:
    id: str
    display_name: str
    kind: str  # text | image | tts | live | embedding | imagen | veo
    methods: tuple[str, ...]
    input_token_limit: int = 1_048_576
    output_token_limit: int = 65_536
    thinking: Thinking | None = None
    modalities: tuple[str, ...] = ("TEXT",)  # response modalities generateContent accepts
    extra: dict[str, object] = field(default_factory=dict)
    levels: tuple[str, ...] = ()  # thinkingLevel values a Gemini 3+ model takes (then no thinkingBudget)
    images: Images | None = None
    status: Status | None = None  # deprecated: what `modelStatus` says

    def wire(self, backend: str) -> dict[str, object]:
        """The model resource as models.list / models.get return it."""
        name = f"publishers/google/models/{self.id}" if backend == "vertex" else f"models/{self.id}"
        deprecated = f" Deprecated: retires on {self.status.retirement[:10]}." if self.status else ""
        body: dict[str, object] = {
            "name": name,
            "displayName": self.display_name,
            "description": f"{self.display_name} (served by the offline emulator).{deprecated}",
            "inputTokenLimit": self.input_token_limit,
            "outputTokenLimit": self.output_token_limit,
        }
        if backend == "vertex":
            body["versionId"] = "001"
        else:
            body["version"] = "001"
            body["supportedGenerationMethods"] = list(self.methods)
            if self.thinking is not None or self.levels:
                body["thinking"] = True
        return body


_TEXT_METHODS = (
    "generateContent",
    "streamGenerateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
)
PRO = Thinking(minimum=128, maximum=32768, can_disable=False)
FLASH = Thinking(minimum=1, maximum=24576, can_disable=True)
LITE = Thinking(minimum=512, maximum=24576, can_disable=True, dynamic_tokens=0)


# Gemini 3+ thinking levels (types.ThinkingLevel), as the emulated models take them.
FLASH_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")
PRO_LEVELS = ("LOW", "MEDIUM", "HIGH")
FRONTIER_LEVELS = ("LOW", "MEDIUM", "HIGH", "XHIGH")
RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
SIZES = ("1K", "2K", "4K")
_IMAGE_METHODS = ("generateContent", "streamGenerateContent", "countTokens")


def _deprecated(retires: str, successor: str) -> Status:
    return Status(f"{retires}T00:00:00Z", successor)


def _text(
    model_id: str,
    name: str,
    thinking: Thinking | None,
    output: int = 65_536,
    levels: tuple[str, ...] = (),
    status: Status | None = None,
) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        "text",
        _TEXT_METHODS,
        output_token_limit=output,
        thinking=thinking,
        levels=levels,
        status=status,
    )


def _image(model_id: str, name: str, images: Images, status: Status | None = None) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        "image",
        _IMAGE_METHODS,
        input_token_limit=65_536,
        output_token_limit=32_768,
        modalities=("IMAGE", "TEXT"),
        images=images,
        status=status,
    )


def _tts(model_id: str, name: str, status: Status | None = None) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        "tts",
        ("generateContent", "countTokens"),
        input_token_limit=8192,
        output_token_limit=16_384,
        modalities=("AUDIO",),
        status=status,
    )


MODELS: tuple[ModelSpec, ...] = (
    _text("gemini-2.5-pro", "Gemini 2.5 Pro", PRO),
    _text("gemini-2.5-flash", "Gemini 2.5 Flash", FLASH),
    _text(
        "gemini-2.5-flash-preview-09-2025",
        "Gemini 2.5 Flash Preview Sep 2025",
        FLASH,
        status=_deprecated("2027-01-15", "gemini-2.5-flash"),
    ),
    _text("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", LITE),
    _text(
        "gemini-2.5-flash-lite-preview-09-2025",
        "Gemini 2.5 Flash-Lite Preview Sep 2025",
        LITE,
        status=_deprecated("2027-01-15", "gemini-2.5-flash-lite"),
    ),
    _text("gemini-flash-latest", "Gemini Flash Latest", None, levels=FLASH_LEVELS),
    _text("gemini-flash-lite-latest", "Gemini Flash-Lite Latest", None, levels=FLASH_LEVELS),
    _text("gemini-pro-latest", "Gemini Pro Latest", None, levels=PRO_LEVELS),
    _text(
        "gemini-2.0-flash", "Gemini 2.0 Flash", None, output=8192, status=_deprecated("2027-03-31", "gemini-2.5-flash")
    ),
    _text(
        "gemini-2.0-flash-lite",
        "Gemini 2.0 Flash-Lite",
        None,
        output=8192,
        status=_deprecated("2027-03-31", "gemini-2.5-flash-lite"),
    ),
    _text("gemini-3-flash-preview", "Gemini 3 Flash Preview", None, levels=FLASH_LEVELS),
    _text("gemini-3.1-pro-preview", "Gemini 3.1 Pro Preview", None, levels=PRO_LEVELS),
    _text("gemini-3.1-flash-lite", "Gemini 3.1 Flash-Lite", None, levels=FLASH_LEVELS),
    _text("gemini-3.5-flash-lite", "Gemini 3.5 Flash-Lite", None, levels=FLASH_LEVELS),
    _text("gemini-3.5-flash", "Gemini 3.5 Flash", None, levels=FLASH_LEVELS),
    _text("gemini-3.6-flash", "Gemini 3.6 Flash", None, levels=FLASH_LEVELS),
    _text("gemini-3.7-flash", "Gemini 3.7 Flash", None, levels=FLASH_LEVELS),
    _text("gemini-3.8-flash", "Gemini 3.8 Flash", None, levels=FLASH_LEVELS),
    _text("gemini-4-argon", "Gemini 4 Argon", None, levels=FRONTIER_LEVELS),
    _text("gemini-4-carbon", "Gemini 4 Carbon", None, levels=FRONTIER_LEVELS),
    _text("gemini-4-hydrogen", "Gemini 4 Hydrogen", None, levels=FRONTIER_LEVELS),
    _text("gemini-4-neon", "Gemini 4 Neon", None, levels=FRONTIER_LEVELS),
    _text("gemini-3.5-transcribe", "Gemini 3.5 Transcribe", None),
    # The seed's image model takes an aspect ratio but no size (the tools send it neither: the seed's rule).
    _image("gemini-2.5-flash-image", "Nano Banana (Gemini 2.5 Flash Image)", Images(RATIOS)),
    _image("gemini-3-pro-image", "Nano Banana Pro (Gemini 3 Pro Image)", Images(RATIOS, SIZES)),
    _image(
        "nano-banana-pro-preview",
        "Nano Banana Pro Preview",
        Images(RATIOS, SIZES),
        _deprecated("2027-01-31", "gemini-3-pro-image"),
    ),
    _image("gemini-3.1-flash-image", "Nano Banana 2 (Gemini 3.1 Flash Image)", Images(RATIOS, SIZES)),
    _image("gemini-3.1-flash-lite-image", "Gemini 3.1 Flash-Lite Image", Images(RATIOS, ("1K",))),
    _image("gemini-nano-banana-2.1", "Nano Banana 2.1", Images(RATIOS, SIZES)),
    _tts(
        "gemini-3.1-flash-tts-preview",
        "Gemini 3.1 Flash TTS Preview",
        _deprecated("2027-01-12", "gemini-3.8-flash-lite-tts"),
    ),
    _tts("gemini-3.8-flash-tts", "Gemini 3.8 Flash TTS"),
    _tts("gemini-3.8-flash-lite-tts", "Gemini 3.8 Flash-Lite TTS"),
    ModelSpec(
        "gemini-3.1-flash-live-preview",
        "Gemini 3.1 Flash Live Preview",
        "live",
        ("bidiGenerateContent", "countTokens"),
        input_token_limit=131_072,
        output_token_limit=8192,
        modalities=("AUDIO",),
    ),
    ModelSpec(
        "gemini-live-2.5-flash-native-audio",
        "Gemini Live 2.5 Flash Native Audio",
        "live",
        ("bidiGenerateContent", "countTokens"),
        input_token_limit=131_072,
        output_token_limit=8192,
        modalities=("AUDIO",),
    ),
    ModelSpec(
        "gemini-2.5-flash-preview-tts",
        "Gemini 2.5 Flash Preview TTS",
        "tts",
        ("generateContent", "countTokens"),
        input_token_limit=8192,
        output_token_limit=16_384,
        modalities=("AUDIO",),
    ),
    ModelSpec(
        "gemini-2.5-pro-preview-tts",
        "Gemini 2.5 Pro Preview TTS",
        "tts",
        ("generateContent", "countTokens"),
        input_token_limit=8192,
        output_token_limit=16_384,
        modalities=("AUDIO",),
    ),
    ModelSpec(
        "gemini-2.5-flash-native-audio-preview-09-2025",
        "Gemini 2.5 Flash Native Audio Preview",
        "live",
        ("bidiGenerateContent", "countTokens"),
        input_token_limit=131_072,
        output_token_limit=8192,
        modalities=("AUDIO",),
    ),
    ModelSpec(
        "gemini-live-2.5-flash-preview",
        "Gemini Live 2.5 Flash Preview",
        "live",
        ("bidiGenerateContent", "countTokens"),
        input_token_limit=131_072,
        output_token_limit=8192,
        modalities=("TEXT", "AUDIO"),
    ),
    ModelSpec(
        "gemini-embedding-001",
        "Gemini Embedding 001",
        "embedding",
        ("embedContent", "batchEmbedContents", "countTokens"),
        input_token_limit=2048,
        output_token_limit=1,
    ),
    ModelSpec(
        "text-embedding-004",
        "Text Embedding 004",
        "embedding",
        ("embedContent", "batchEmbedContents", "predict"),
        input_token_limit=2048,
        output_token_limit=1,
    ),
    ModelSpec(
        "text-embedding-005",
        "Text Embedding 005",
        "embedding",
        ("predict",),
        input_token_limit=2048,
        output_token_limit=1,
    ),
    ModelSpec(
        "imagen-4.0-generate-001", "Imagen 4", "imagen", ("predict",), input_token_limit=480, output_token_limit=8192
    ),
    ModelSpec(
        "imagen-4.0-fast-generate-001",
        "Imagen 4 Fast",
        "imagen",
        ("predict",),
        input_token_limit=480,
        output_token_limit=8192,
    ),
    ModelSpec(
        "imagen-4.0-ultra-generate-001",
        "Imagen 4 Ultra",
        "imagen",
        ("predict",),
        input_token_limit=480,
        output_token_limit=8192,
    ),
    ModelSpec(
        "imagen-3.0-generate-002", "Imagen 3", "imagen", ("predict",), input_token_limit=480, output_token_limit=8192
    ),
    ModelSpec(
        "imagen-3.0-capability-001",
        "Imagen 3 Capability (editing)",
        "imagen",
        ("predict",),
        input_token_limit=480,
        output_token_limit=8192,
    ),
    ModelSpec(
        "veo-3.1-generate-001",
        "Veo 3.1",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-3.1-fast-generate-001",
        "Veo 3.1 Fast",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-3.1-generate-preview",
        "Veo 3.1",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-3.1-fast-generate-preview",
        "Veo 3.1 Fast",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-3.0-generate-001",
        "Veo 3",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-3.0-fast-generate-001",
        "Veo 3 Fast",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
    ModelSpec(
        "veo-2.0-generate-001",
        "Veo 2",
        "veo",
        ("predictLongRunning", "fetchPredictOperation"),
        input_token_limit=1024,
        output_token_limit=1,
    ),
)

BY_ID: dict[str, ModelSpec] = {spec.id: spec for spec in MODELS}

# Retired models answer 404 like any unknown model, as the real API does: gone from models.list and from
# every method. A family (a prefix) covers its versions; the rest are exact ids.
RETIRED_FAMILIES = ("gemini-1.0-pro", "gemini-1.5-flash", "gemini-1.5-pro")
RETIRED: dict[str, str] = {  # id → retirement date
    "gemini-pro": "2025-02-15",
    "gemini-pro-vision": "2024-07-12",
    "gemini-3-pro-preview": "2026-03-09",
    "gemini-3-pro-image-preview": "2026-06-30",
    "gemini-3.1-flash-image-preview": "2026-09-30",
    "gemini-2.0-flash-live-preview-04-09": "2025-12-09",
}


def is_retired(model: str) -> bool:
    model = model.removeprefix("models/").removeprefix("publishers/google/models/")
    return model in RETIRED or model.startswith(RETIRED_FAMILIES)


def lookup(model: str) -> ModelSpec | None:
    model = model.removeprefix("models/").removeprefix("publishers/google/models/")
    if is_retired(model):
        return None
    return BY_ID.get(model)


def status_field(spec: ModelSpec, backend: str) -> dict[str, Any]:
    """`{"modelStatus": ...}` for a deprecated model's answer on the Developer API (Vertex sends none)."""
    if spec.status is None or backend == "vertex":
        return {}
    return {"modelStatus": spec.status.wire(spec.id)}


def _bad(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def check_model_config(generation_config: Any, spec: ModelSpec) -> None:
    """What the model's own capabilities decide in `generationConfig`: thinking level and image config."""
    if isinstance(generation_config, dict):
        check_thinking_level(generation_config, spec)
        check_image_config(get(generation_config, "image_config"), spec)


def check_thinking_level(generation_config: Any, spec: ModelSpec) -> None:
    """`thinkingLevel` only on the models that take one, and only their levels; never with a budget. A budget on
    a level model is refused too (validate.check_thinking judges budgets on the models that take them)."""
    thinking = get(generation_config or {}, "thinking_config")
    if not isinstance(thinking, dict):
        return
    level = get(thinking, "thinking_level")
    budget = get(thinking, "thinking_budget")
    if level is not None and budget is not None:
        raise _bad("You can only set one of thinking budget and thinking level.")
    if level is not None:
        if not spec.levels:
            raise _bad(f"Thinking level is not supported for the model {spec.id}.")
        if str(level).upper() not in spec.levels:
            raise _bad(
                f"Thinking level {level} is not supported for the model {spec.id}. Supported levels: "
                f"{', '.join(spec.levels)}."
            )
    if budget is not None and spec.levels:
        raise _bad(f"Thinking budget is not supported for the model {spec.id}: set a thinking level instead.")


def check_image_config(image_config: Any, spec: ModelSpec) -> None:
    """`imageConfig` against what the image model takes: its aspect ratios and sizes."""
    if not image_config:
        return
    rules = spec.images
    if rules is None:
        raise _bad(f"Image config is not supported for the model {spec.id}.")
    aspect = get(image_config, "aspect_ratio")
    if aspect is not None and aspect not in rules.aspect_ratios:
        raise _bad(f"Unsupported aspect ratio: {aspect}. Supported: {', '.join(rules.aspect_ratios)}.")
    size = get(image_config, "image_size")
    if size is not None:
        if not rules.sizes:
            raise _bad(f"Image size is not supported for the model {spec.id}.")
        if size not in rules.sizes:
            raise _bad(f"Unsupported image size: {size}. Supported: {', '.join(rules.sizes)}.")
