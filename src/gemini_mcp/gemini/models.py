"""Model rules every tool follows, read from the model catalog (gemini/catalog.py): aliases, task defaults,
retirements and successors, and the config each model takes (thinking budget or level, image_config).

The seed's rules (shared/DESIGN.md) are the catalog's defaults wherever their models are still served; where
a backend no longer serves one, `resolve` picks its successor and says so in a note. Nothing here guesses from
the shape of a model id: what a model takes is what its catalog entry says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gemini_mcp.config.settings import Backend
from gemini_mcp.errors import UserInputError
from gemini_mcp.gemini.catalog import (
    BACKEND_NAMES,
    Catalog,
    Entry,
    ImageSupport,
    Thinking,
    current,
    normalise,
    strip_prefix,
    use_overlay,
)

if TYPE_CHECKING:
    from gemini_mcp.gemini.context import GeminiCall
    from gemini_mcp.gemini.response import ModelState

__all__ = [
    "ModelError",
    "Resolution",
    "Task",
    "ThinkingPlan",
    "alias_table",
    "default_models",
    "entry_of",
    "pick",
    "plan_image",
    "plan_thinking",
    "resolve",
    "resolve_model",
    "successor_hint",
    "task_models",
    "thinking_limits",
    "use_overlay",
]

_MAX_HOPS = 5  # successor chains are short; a loop in an overlay must not hang a call


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
    MUSIC = "music"
    TRANSCRIPTION = "transcription"


class ModelError(UserInputError, ValueError):
    """A model name or thinking setting the caller gave cannot be used; the message names the field and the fix."""


def default_models() -> dict[Task, str]:
    """The seed's default model per task (before any backend substitution)."""
    defaults = current().defaults
    return {task: defaults[task.value] for task in Task if task.value in defaults}


def alias_table() -> list[tuple[str, str]]:
    """(alias, model) pairs for documentation and error messages."""
    return sorted(current().aliases.items())


def __getattr__(name: str) -> Any:
    # The former constant tables, read from the catalog on first use (loading it at import would cost every
    # start the JSON parse).
    if name == "DEFAULT_MODELS":
        return default_models()
    if name == "ALIASES":
        return dict(current().aliases)
    if name == "DEPRECATED":
        return {e.id: e.successor for e in current().entries() if e.retired_everywhere and e.successor}
    raise AttributeError(name)


def successor_hint(model: str | None) -> str:
    """For a 404 on `model`: ' (the model catalog names X as its successor)', or '' when it names none."""
    entry = entry_of(model) if model else None
    if entry is None:
        return ""
    successor = entry.successor or next((s.successor for s in entry.serves.values() if s.successor), None)
    if successor is None:
        successor = next(iter(entry.elsewhere.values()), None)
    return f" (the model catalog names '{successor}' as its successor)" if successor else ""


def task_models(task: Task, backend: Backend, *, api: str | None = None) -> list[str]:
    """The models for `task` that `backend` serves today (not deprecated or retired), GA ones first."""
    found = [
        (served.stage != "ga", index, entry.id)
        for index, entry in enumerate(current().entries())
        if task.value in entry.tasks
        and (served := entry.on(backend)) is not None
        and served.stage in ("ga", "preview")
        and (api is None or entry.api == api)
    ]
    return [model for _, _, model in sorted(found)]


def entry_of(model: str) -> Entry | None:
    """The catalog entry of a model id, or None when the catalog does not know it."""
    return current().get(model)


@dataclass(frozen=True)
class Resolution:
    """The model a call will use on the configured backend, and a note when it is not what was asked for."""

    model: str
    note: str | None = None
    entry: Entry | None = None  # the catalog's entry for `model`, when it has one


def resolve_model(name: str | None, task: Task) -> str:
    """Turn what the caller wrote into a model id: a full name as given, an alias, or the task default.

    Backend-neutral: raises ModelError for models retired everywhere (naming the successor) and for blank
    names; `resolve` also applies what one backend serves.
    """
    return _resolve(name, task, None).model


def resolve(name: str | None, task: Task, backend: Backend = "gemini") -> Resolution:
    """Like `resolve_model`, for the configured backend. A model the backend has retired is refused when asked
    for by its id (the error names the successor); an alias or default whose model it retired or never served
    resolves to the successor, with a note saying which model runs and why (the seed's own ids count as
    aliases: its guidance taught agents to write them). A deprecated model runs, with a note."""
    return _resolve(name, task, backend)


def pick(call: GeminiCall, name: str | None, task: Task) -> Resolution:
    """`resolve` for a tool call: its backend and catalog overlay, the note added to the call's notes."""
    use_overlay(call.settings.models_file)
    resolution = resolve(name, task, call.settings.backend)
    if resolution.note and resolution.note not in call.notes:
        call.notes.append(resolution.note)
    return resolution


def _where(backend: Backend | None) -> str:
    return BACKEND_NAMES[backend] if backend else "the Gemini API"


def _retired_error(entry: Entry, bare: str, backend: Backend | None) -> ModelError:
    served = entry.on(backend) if backend else None
    since = f" since {served.retired}" if served and served.retired else ""
    successor = entry.replacement(backend) if backend else entry.successor
    if successor is None:
        fix = "call list_models for the models these credentials can use"
    else:
        fix = f"use '{successor}' instead"
    return ModelError(f"model '{bare}' is retired and no longer served by {_where(backend)}{since}: {fix}")


def _resolve(name: str | None, task: Task, backend: Backend | None) -> Resolution:
    catalog = current()
    if name is None:
        target, asked, explicit = catalog.defaults[task.value], f"the {task.value} default", False
    else:
        if not name.strip():
            raise ModelError("model is blank: give a model name or alias (e.g. 'flash', 'pro'), or omit it")
        bare = strip_prefix(name)
        direct = catalog.get(bare)
        # An exact id is checked before the aliases: "gemini-pro" is retired though the alias "gemini pro"
        # (with a space) names 2.5 Pro.
        if (
            direct is not None
            and not direct.seed
            and (direct.retired_everywhere or (backend is not None and direct.retired_on(backend)))
        ):
            raise _retired_error(direct, bare, backend)
        alias = catalog.aliases.get(normalise(bare))
        if alias is not None and alias.lower() != bare.lower():
            target, asked, explicit = alias, f"'{name.strip()}'", False
        else:
            target, asked, explicit = bare, f"'{bare}'", direct is None or not direct.seed
    if backend is None:
        return _neutral(catalog, target, asked)
    return _on_backend(catalog, target, asked, explicit, backend)


def _neutral(catalog: Catalog, target: str, asked: str) -> Resolution:
    entry = catalog.get(target)
    if entry is not None and entry.retired_everywhere and not entry.seed:
        successor = entry.successor
        if successor is None:
            raise _retired_error(entry, target, None)
        return Resolution(successor, f"{asked} ({target}) is retired: {successor} runs instead", catalog.get(successor))
    return Resolution(target, None, entry)


def _on_backend(catalog: Catalog, target: str, asked: str, explicit: bool, backend: Backend) -> Resolution:
    where = BACKEND_NAMES[backend]
    first = target
    reasons: list[str] = []
    for _ in range(_MAX_HOPS):
        entry = catalog.get(target)
        if entry is None:
            break
        served = entry.on(backend)
        if served is None:
            instead = entry.elsewhere.get(backend)
            if instead is None or explicit:
                break  # the tool or the API says what this backend lacks
            others = [BACKEND_NAMES[b] for b, s in entry.serves.items() if s.stage != "retired"]
            reasons.append(f"{target} is not served on {where}" + (f" ({others[0]} serves it)" if others else ""))
            target = instead
            continue
        if served.stage == "retired":
            instead = entry.replacement(backend)
            if instead is None:
                raise _retired_error(entry, target, backend)
            since = f" on {served.retired}" if served.retired else ""
            reasons.append(f"{target} was retired on {where}{since}")
            target, explicit = instead, False
            continue
        break
    entry = catalog.get(target)
    note = None
    if target != first:
        note = f"{asked} runs as {target}: " + "; ".join(reasons)
    deprecation = deprecation_note(entry, backend) if entry is not None else None
    if deprecation is not None:
        note = f"{note}. {deprecation}" if note else deprecation
    return Resolution(target, note, entry)


def deprecation_note(
    entry: Entry, backend: Backend, retires: str | None = None, message: str | None = None
) -> str | None:
    """'<model> is deprecated on <backend> and retires on <date>: move to <successor>', or None when it is not."""
    served = entry.on(backend)
    if served is None or served.stage != "deprecated":
        return None
    return status_text(entry.id, "deprecated", retires or served.retires, entry.replacement(backend), backend, message)


def status_text(
    model: str, stage: str, retires: str | None, successor: str | None, backend: Backend, message: str | None = None
) -> str:
    text = f"{model} is {stage} on {BACKEND_NAMES[backend]}"
    if retires:
        text += f" and retires on {retires}"
    if successor:
        text += f": move to {successor}"
    if message:
        text += f" ({message.strip().rstrip('.')})"
    return text


def pass_on_status(notes: list[str], model: str, stage: str | None, retires: str | None, message: str | None) -> None:
    """Put what a response's `model_status` says (Developer API) in `notes`, replacing the catalog's own note
    about the same model: the API's word is the fresher one. Stable or preview models are not noted."""
    if stage not in ("DEPRECATED", "LEGACY", "RETIRED") and retires is None:
        return
    entry = entry_of(model)
    successor = entry.replacement("gemini") if entry is not None else None
    word = (stage or "retiring").lower()
    text = status_text(model, word, retires, successor, "gemini", message)
    prefix = f"{model} is "
    notes[:] = [n for n in notes if not (n.startswith(prefix) and " on the Gemini Developer API" in n)]
    notes.append(text)


def note_status(notes: list[str], model: str, status: ModelState | None) -> None:
    """`pass_on_status` for an answer's `model_status` (None: nothing to say)."""
    if status is not None:
        pass_on_status(notes, model, status.stage, status.retires, status.message)


# --- thinking -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThinkingLimits:
    """Bounds of `thinking_budget` for one model family."""

    family: str
    maximum: int
    minimum_on: int  # smallest budget when thinking is on
    can_disable: bool  # whether 0 (no thinking) is accepted


def thinking_of(model: str) -> Thinking | None:
    entry = entry_of(model)
    return entry.thinking if entry is not None else None


def thinking_limits(model: str) -> ThinkingLimits | None:
    """The thinking budget bounds of `model`, or None when it takes no `thinking_budget` (no thinking config,
    or `thinking_level` instead)."""
    entry = entry_of(model)
    if entry is None or entry.thinking is None or entry.thinking.by_level:
        return None
    thinking = entry.thinking
    return ThinkingLimits(entry.name, thinking.maximum, thinking.minimum, thinking.can_disable)


@dataclass(frozen=True)
class ThinkingPlan:
    """What to send as `thinking_config` (budget or level; None: leave unset) and why, if we chose it."""

    budget: int | None
    note: str | None = None
    level: str | None = None  # a types.ThinkingLevel name


def _levels_text(levels: Sequence[str]) -> str:
    return ", ".join(levels)


def plan_thinking(
    model: str, thinking_budget: int | None, max_output_tokens: int | None, thinking_level: str | None = None
) -> ThinkingPlan:
    """Apply the thinking rules of the catalog; raise ModelError naming the field and the fix.

    - `thinking_budget` only for models with budget bounds (the 2.5 series, the seed's limits);
      `thinking_level` only for models with levels (Gemini 3+), and only the levels the model lists; never both;
    - a setting on a model that takes no thinking config is refused;
    - `max_output_tokens` counts thinking too, so when it is set on a thinking model without a setting we
      choose one that leaves the answer room (half the tokens as budget, or the lowest level), and say so;
    - a model the catalog does not know gets what the caller asked, unchecked (the API will say).
    """
    if thinking_budget is not None and thinking_level is not None:
        raise ModelError(
            "thinking_budget and thinking_level: give one, not both (2.5 models take thinking_budget, Gemini 3 "
            "and later take thinking_level)"
        )
    entry = entry_of(model)
    if entry is None:
        known = "not in the model catalog: thinking settings sent as given"
        asked = thinking_budget is not None or thinking_level is not None
        return ThinkingPlan(thinking_budget, f"{model} is {known}" if asked else None, thinking_level)
    thinking = entry.thinking
    if thinking is None:
        field = "thinking_budget" if thinking_budget is not None else "thinking_level"
        if thinking_budget is not None or thinking_level is not None:
            raise ModelError(
                f"{field}: model '{model}' does not take a thinking config (only the Gemini 2.5 series and "
                f"Gemini 3 and later think); remove {field} or use a thinking model such as 'gemini-2.5-flash'"
            )
        return ThinkingPlan(None)
    if thinking.by_level:
        return _plan_level(entry, thinking, thinking_budget, thinking_level, max_output_tokens)
    if thinking_level is not None:
        raise ModelError(
            f"thinking_level: model '{model}' ({entry.name}) takes thinking_budget, not thinking_level; set "
            f"thinking_budget ({thinking_text_of(thinking)}) or use a Gemini 3+ model such as 'gemini-3.5-flash'"
        )
    limits = ThinkingLimits(entry.name, thinking.maximum, thinking.minimum, thinking.can_disable)
    return _plan_budget(limits, thinking_budget, max_output_tokens)


def thinking_text_of(thinking: Thinking) -> str:
    if thinking.by_level:
        return _levels_text(thinking.levels)
    off = "0 off, " if thinking.can_disable else ""
    return f"{off}-1 auto, {thinking.minimum}-{thinking.maximum}"


def _plan_level(
    entry: Entry, thinking: Thinking, budget: int | None, level: str | None, max_output_tokens: int | None
) -> ThinkingPlan:
    if budget is not None:
        raise ModelError(
            f"thinking_budget: model '{entry.id}' ({entry.name}) takes thinking_level, not a budget; set "
            f"thinking_level to one of {_levels_text(thinking.levels)} (or leave both unset: the model decides)"
        )
    if level is not None:
        level = level.upper()
        if level not in thinking.levels:
            raise ModelError(
                f"thinking_level: {entry.name} takes {_levels_text(thinking.levels)}, not {level}; pick one of "
                "those or leave it unset (the model decides)"
            )
        return ThinkingPlan(None, None, level)
    if max_output_tokens is None:
        return ThinkingPlan(None)
    lowest = thinking.levels[0]
    return ThinkingPlan(
        None,
        f"thinking_level set to {lowest} so the answer keeps room in max_output_tokens={max_output_tokens} "
        "(thinking counts toward the limit)",
        lowest,
    )


def _plan_budget(limits: ThinkingLimits, thinking_budget: int | None, max_output_tokens: int | None) -> ThinkingPlan:
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


# --- images -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImagePlan:
    """How a Gemini image model gets the caller's shape and size: `image_config` fields, or words in the prompt."""

    image_config: dict[str, str] | None = None
    prompt_suffix: str | None = None


def image_support(model: str) -> ImageSupport | None:
    entry = entry_of(model)
    return entry.image if entry is not None else None


def plan_image(model: str, aspect_ratio: str | None, image_size: str | None) -> ImagePlan:
    """`image_config` for the models that take it (checked against what the catalog says they accept); for
    `gemini-2.5-flash-image` (the seed's rule: `response_modalities` [IMAGE] and no other config) the aspect
    ratio goes into the prompt and an `image_size` is refused."""
    support = image_support(model)
    if support is None:  # not in the catalog: send what was asked, the API decides
        config = {k: v for k, v in (("aspect_ratio", aspect_ratio), ("image_size", image_size)) if v}
        return ImagePlan(config or None)
    if not support.config:
        # 1K is what these models draw anyway: an agent that fills in the default is not refused for it.
        if image_size not in (None, "1K"):
            raise ModelError(
                f"image_size: model '{model}' takes no image_config (only response_modalities [IMAGE]), so it "
                "cannot be asked for a size; leave image_size out, or use 'nano banana pro' or 'nano banana 2'"
            )
        suffix = f"Aspect ratio {aspect_ratio}." if aspect_ratio and aspect_ratio != "1:1" else None
        return ImagePlan(None, suffix)
    if aspect_ratio is not None and support.aspect_ratios and aspect_ratio not in support.aspect_ratios:
        raise ModelError(f"aspect_ratio: model '{model}' takes {', '.join(support.aspect_ratios)}, not {aspect_ratio}")
    if image_size is not None and support.sizes and image_size not in support.sizes:
        raise ModelError(f"image_size: model '{model}' takes {', '.join(support.sizes)}, not {image_size}")
    config = {k: v for k, v in (("aspect_ratio", aspect_ratio), ("image_size", image_size)) if v}
    return ImagePlan(config or None)
