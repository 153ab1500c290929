"""The models the emulator serves, with the limits the real API enforces on each.

Independent of `gemini_mcp.gemini.models` on purpose: the emulator stands for Google's side of the wire,
so a rule our tools get wrong shows up as a refused request, as it would against the real API.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thinking:
    """Budget bounds of a thinking model (`thinkingConfig.thinkingBudget`)."""

    minimum: int
    maximum: int
    can_disable: bool
    dynamic_tokens: int = 180  # thinking tokens spent when the budget is left to the model


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

    def wire(self, backend: str) -> dict[str, object]:
        """The model resource as models.list / models.get return it."""
        name = f"publishers/google/models/{self.id}" if backend == "vertex" else f"models/{self.id}"
        body: dict[str, object] = {
            "name": name,
            "displayName": self.display_name,
            "description": f"{self.display_name} (served by the offline emulator)",
            "inputTokenLimit": self.input_token_limit,
            "outputTokenLimit": self.output_token_limit,
        }
        if backend == "vertex":
            body["versionId"] = "001"
        else:
            body["version"] = "001"
            body["supportedGenerationMethods"] = list(self.methods)
            if self.thinking is not None:
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


def _text(model_id: str, name: str, thinking: Thinking | None, output: int = 65_536) -> ModelSpec:
    return ModelSpec(model_id, name, "text", _TEXT_METHODS, output_token_limit=output, thinking=thinking)


MODELS: tuple[ModelSpec, ...] = (
    _text("gemini-2.5-pro", "Gemini 2.5 Pro", PRO),
    _text("gemini-2.5-flash", "Gemini 2.5 Flash", FLASH),
    _text("gemini-2.5-flash-preview-09-2025", "Gemini 2.5 Flash Preview Sep 2025", FLASH),
    _text("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", LITE),
    _text("gemini-2.5-flash-lite-preview-09-2025", "Gemini 2.5 Flash-Lite Preview Sep 2025", LITE),
    _text("gemini-flash-latest", "Gemini Flash Latest", FLASH),
    _text("gemini-flash-lite-latest", "Gemini Flash-Lite Latest", LITE),
    _text("gemini-2.0-flash", "Gemini 2.0 Flash", None, output=8192),
    _text("gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", None, output=8192),
    ModelSpec(
        "gemini-2.5-flash-image",
        "Nano Banana (Gemini 2.5 Flash Image)",
        "image",
        ("generateContent", "streamGenerateContent", "countTokens"),
        input_token_limit=32_768,
        output_token_limit=32_768,
        modalities=("IMAGE", "TEXT"),
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

# Retired models answer 404 like any unknown model, as the real API does.
RETIRED = ("gemini-pro", "gemini-pro-vision", "gemini-1.0-pro", "gemini-1.5-flash", "gemini-1.5-pro")


def lookup(model: str) -> ModelSpec | None:
    model = model.removeprefix("models/").removeprefix("publishers/google/models/")
    if model.startswith(RETIRED):
        return None
    return BY_ID.get(model)
