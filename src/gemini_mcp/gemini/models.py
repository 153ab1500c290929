"""Model rules every tool follows: aliases, task defaults, deprecated models, thinking limits.

The tables come from the Gemini API guidance this project was created from (shared/DESIGN.md). They are
plain data so that tools, `list_models` and the README all read the same source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gemini_mcp.config.settings import Backend
from gemini_mcp.errors import UserInputError


class Task(StrEnum):
    """What a call is for; decides the default model when the caller names none."""

    TEXT = "text"
    REASONING = "reasoning"
    IMAGE = "image"
    IMAGE_HQ = "image_hq"
    VIDEO = "video"
    VIDEO_HQ = "video_hq"
    LIVE = "live"
    SPEECH = "speech"
    EMBEDDING = "embedding"


DEFAULT_MODELS: dict[Task, str] = {
    Task.TEXT: "gemini-2.5-flash",
    Task.REASONING: "gemini-2.5-pro",
    Task.IMAGE: "gemini-2.5-flash-image",
    Task.IMAGE_HQ: "imagen-4.0-generate-001",
    Task.VIDEO: "veo-3.1-fast-generate-preview",
    Task.VIDEO_HQ: "veo-3.1-generate-preview",
    Task.LIVE: "gemini-2.5-flash-native-audio-preview-09-2025",
    Task.SPEECH: "gemini-2.5-flash-preview-tts",
    Task.EMBEDDING: "gemini-embedding-001",
}

# Keys are normalised with `_normalise` (lower case, runs of space/-/_ folded to one space).
ALIASES: dict[str, str] = {
    "gemini flash": "gemini-flash-latest",
    "flash": "gemini-flash-latest",
    "gemini lite": "gemini-flash-lite-latest",
    "flash lite": "gemini-flash-lite-latest",
    "gemini flash lite": "gemini-flash-lite-latest",
    "gemini pro": "gemini-2.5-pro",
    "pro": "gemini-2.5-pro",
    "nano banana": "gemini-2.5-flash-image",
    "gemini flash image": "gemini-2.5-flash-image",
    "native audio": "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini flash audio": "gemini-2.5-flash-native-audio-preview-09-2025",
    "gemini tts": "gemini-2.5-flash-preview-tts",
    "gemini text to speech": "gemini-2.5-flash-preview-tts",
    "tts": "gemini-2.5-flash-preview-tts",
    "imagen": "imagen-4.0-generate-001",
    "imagen fast": "imagen-4.0-fast-generate-001",
    "imagen ultra": "imagen-4.0-ultra-generate-001",
    "veo": "veo-3.1-fast-generate-preview",
    "veo fast": "veo-3.1-fast-generate-preview",
    "veo quality": "veo-3.1-generate-preview",
    "embedding": "gemini-embedding-001",
}

# Exact retired names and the model to use instead. Checked before aliases: "gemini-pro" is retired even
# though the alias "gemini pro" (with a space) names 2.5 Pro.
DEPRECATED: dict[str, str] = {
    "gemini-pro": "gemini-2.5-pro",
    "gemini-pro-vision": "gemini-2.5-flash",
    "gemini-1.5-flash": "gemini-2.5-flash",
    "gemini-1.5-flash-8b": "gemini-2.5-flash-lite",
    "gemini-1.5-pro": "gemini-2.5-pro",
    "gemini-1.0-pro": "gemini-2.5-pro",
}
_DEPRECATED_FAMILIES = re.compile(r"^(gemini-1\.5-flash-8b|gemini-1\.5-flash|gemini-1\.5-pro|gemini-1\.0-pro)")


class ModelError(UserInputError, ValueError):
    """A model name or thinking setting the caller gave cannot be used; the message names the field and the fix."""


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def _strip_prefix(name: str) -> str:
    name = name.strip()
    for prefix in ("models/", "publishers/google/models/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def alias_table() -> list[tuple[str, str]]:
    """(alias, model) pairs for documentation and error messages."""
    return sorted(ALIASES.items())


def resolve_model(name: str | None, task: Task) -> str:
    """Turn what the caller wrote into a model id: a full name as given, an alias, or the task default.

    Raises ModelError for retired models (naming the replacement) and for blank names.
    """
    if name is None:
        return DEFAULT_MODELS[task]
    if not name.strip():
        raise ModelError("model is blank: give a model name or alias (e.g. 'flash', 'pro'), or omit it")
    bare = _strip_prefix(name)
    lowered = bare.lower()
    replacement = DEPRECATED.get(lowered)
    if replacement is None and (family := _DEPRECATED_FAMILIES.match(lowered)):
        replacement = DEPRECATED[family.group(1)]
    if replacement is not None:
        raise ModelError(
            f"model '{bare}' is retired and no longer served by the Gemini API: use '{replacement}' instead"
        )
    return ALIASES.get(_normalise(bare), bare)


@dataclass(frozen=True)
class Resolution:
    """The model a call will use on the configured backend, and a note when it is not what was asked for."""

    model: str
    note: str | None = None


# What the backend serves today where the seed's model is gone from it (a first cut: the model catalog
# replaces this table). Veo 3.1 previews left the Developer API on 2026-10-22; video there is Gemini Omni
# through the Interactions API. Vertex serves the Veo 3.1 GA ids.
_SUCCESSORS: dict[Backend, dict[str, str]] = {
    "gemini": {
        "veo-3.1-fast-generate-preview": "gemini-omni-1.2-flash",
        "veo-3.1-generate-preview": "gemini-omni-1.2-flash",
    },
    "vertex": {
        "veo-3.1-fast-generate-preview": "veo-3.1-fast-generate-001",
        "veo-3.1-generate-preview": "veo-3.1-generate-001",
    },
}


def resolve(name: str | None, task: Task, backend: Backend = "gemini") -> Resolution:
    """Like `resolve_model`, for the configured backend: a seed alias or default whose model the backend no
    longer serves resolves to its successor, with a note saying which model runs and why."""
    asked = resolve_model(name, task)
    successor = _SUCCESSORS[backend].get(asked)
    if successor is None:
        return Resolution(asked)
    where = "the Gemini Developer API" if backend == "gemini" else "Vertex AI"
    what = f"'{name}'" if name is not None else f"the {task.value} default"
    return Resolution(successor, f"{what} ({asked}) is not served on {where} today: {successor} ran instead")


@dataclass(frozen=True)
class ThinkingLimits:
    """Bounds of `thinking_budget` for one model family."""

    family: str
    maximum: int
    minimum_on: int  # smallest budget when thinking is on
    can_disable: bool  # whether 0 (no thinking) is accepted


_PRO_LIMITS = ThinkingLimits("Gemini 2.5 Pro", maximum=32768, minimum_on=128, can_disable=False)
_FLASH_LIMITS = ThinkingLimits("Gemini 2.5 Flash", maximum=24576, minimum_on=1, can_disable=True)
_LITE_LIMITS = ThinkingLimits("Gemini 2.5 Flash-Lite", maximum=24576, minimum_on=512, can_disable=True)

# Media-output and live models of the 2.5 series take no thinking config.
_NO_THINKING_MARKERS = ("image", "tts", "audio", "live")


def thinking_limits(model: str) -> ThinkingLimits | None:
    """The thinking bounds for `model`, or None when the model takes no `thinking_config`.

    Only the 2.5 series thinks; the `-latest` flash aliases currently point into it.
    """
    name = _strip_prefix(model).lower()
    if any(marker in name for marker in _NO_THINKING_MARKERS):
        return None
    if name.startswith("gemini-flash-lite-latest") or name.startswith("gemini-2.5-flash-lite"):
        return _LITE_LIMITS
    if name.startswith("gemini-flash-latest") or name.startswith("gemini-2.5-flash"):
        return _FLASH_LIMITS
    if name.startswith("gemini-2.5-pro"):
        return _PRO_LIMITS
    return None


@dataclass(frozen=True)
class ThinkingPlan:
    """What to send as `thinking_config.thinking_budget` (None: leave unset) and why, if we chose it."""

    budget: int | None
    note: str | None = None


def plan_thinking(model: str, thinking_budget: int | None, max_output_tokens: int | None) -> ThinkingPlan:
    """Apply the thinking rules of shared/DESIGN.md; raise ModelError naming the field and the fix.

    - a budget on a model that does not think is refused;
    - a budget outside the model's bounds is refused (-1 asks the model to decide);
    - `max_output_tokens` counts thinking too, so when it is set on a thinking model without a budget we
      choose one that leaves half of the room for the answer, and say so.
    """
    limits = thinking_limits(model)
    if limits is None:
        if thinking_budget is not None:
            raise ModelError(
                f"thinking_budget: model '{model}' does not take a thinking config (only the Gemini 2.5 "
                "series thinks); remove thinking_budget or use a 2.5 model such as 'gemini-2.5-flash'"
            )
        return ThinkingPlan(None)

    if thinking_budget is not None:
        _check_budget(limits, thinking_budget)
        if max_output_tokens is not None and thinking_budget >= max_output_tokens:
            raise ModelError(
                f"thinking_budget ({thinking_budget}) must be smaller than max_output_tokens "
                f"({max_output_tokens}): max_output_tokens counts thinking too, so the answer would have "
                "no room. Raise max_output_tokens or lower thinking_budget"
            )
        return ThinkingPlan(thinking_budget)

    if max_output_tokens is None:
        return ThinkingPlan(None)

    budget = max_output_tokens // 2
    if budget < limits.minimum_on:
        if limits.can_disable:
            return ThinkingPlan(
                0,
                f"thinking disabled (thinking_budget=0): max_output_tokens={max_output_tokens} leaves no "
                f"room for {limits.family}'s minimum thinking budget of {limits.minimum_on}",
            )
        raise ModelError(
            f"max_output_tokens ({max_output_tokens}) is too small for {limits.family}, which always thinks "
            f"(at least {limits.minimum_on} tokens) and counts thinking in max_output_tokens: set "
            f"max_output_tokens to at least {2 * limits.minimum_on}, or use a Flash model"
        )
    budget = min(budget, limits.maximum)
    return ThinkingPlan(
        budget,
        f"thinking_budget set to {budget} so the answer keeps {max_output_tokens - budget} of the "
        f"{max_output_tokens} max_output_tokens (thinking counts toward the limit)",
    )


def _check_budget(limits: ThinkingLimits, budget: int) -> None:
    if budget == -1:
        return
    if budget == 0:
        if limits.can_disable:
            return
        raise ModelError(
            f"thinking_budget: {limits.family} cannot turn thinking off (0); use -1 (model decides) or a "
            f"value from {limits.minimum_on} to {limits.maximum}"
        )
    if budget < limits.minimum_on or budget > limits.maximum:
        off = "0 (off), " if limits.can_disable else ""
        raise ModelError(
            f"thinking_budget: {budget} is outside {limits.family}'s range; use {off}-1 (model decides) or a "
            f"value from {limits.minimum_on} to {limits.maximum}"
        )
