"""Reading a GenerateContentResponse: text, finish reason, token usage, and blocked/empty answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from gemini_mcp.errors import UserInputError

if TYPE_CHECKING:
    from google.genai import types

# Finish reasons after which the text is not a complete answer worth returning as success.
_BLOCKING_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}


class Usage(BaseModel):
    prompt_tokens: Annotated[int | None, Field(description="Tokens in the request.")] = None
    output_tokens: Annotated[int | None, Field(description="Tokens in the answer.")] = None
    thinking_tokens: Annotated[int | None, Field(description="Tokens spent thinking.")] = None
    total_tokens: Annotated[int | None, Field(description="All tokens billed for the call.")] = None


class GenerationInfo(BaseModel):
    """What every generation result reports besides its payload."""

    model: Annotated[str, Field(description="The model that answered (after alias resolution).")]
    finish_reason: Annotated[str | None, Field(description="Why generation stopped: STOP, MAX_TOKENS, SAFETY, ...")] = (
        None
    )
    usage: Annotated[Usage | None, Field(description="Token counts reported by the API.")] = None
    notes: Annotated[
        list[str] | None,
        Field(description="Decisions the server made for the caller (e.g. thinking budget)."),
    ] = None


class EmptyAnswer(UserInputError):
    """The model returned nothing usable (blocked prompt, safety stop, no candidates)."""


def usage_of(response: types.GenerateContentResponse) -> Usage | None:
    meta = response.usage_metadata
    if meta is None:
        return None
    return Usage(
        prompt_tokens=meta.prompt_token_count,
        output_tokens=meta.candidates_token_count,
        thinking_tokens=meta.thoughts_token_count,
        total_tokens=meta.total_token_count,
    )


def finish_reason_of(response: types.GenerateContentResponse) -> str | None:
    if not response.candidates:
        return None
    reason = response.candidates[0].finish_reason
    return None if reason is None else str(getattr(reason, "value", reason))


def info_of(response: types.GenerateContentResponse, model: str, notes: list[str]) -> GenerationInfo:
    return GenerationInfo(
        model=model,
        finish_reason=finish_reason_of(response),
        usage=usage_of(response),
        notes=notes or None,
    )


def text_of(response: types.GenerateContentResponse) -> str:
    """The answer's text (thought summaries excluded); raises EmptyAnswer explaining why there is none."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = getattr(feedback.block_reason, "value", feedback.block_reason)
        detail = f" ({feedback.block_reason_message})" if feedback.block_reason_message else ""
        raise EmptyAnswer(f"Gemini blocked the prompt: {reason}{detail}. Rephrase the request; nothing was generated")
    if not response.candidates:
        raise EmptyAnswer("Gemini returned no answer (no candidates). Retry, or rephrase the request")
    candidate = response.candidates[0]
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(part.text for part in parts if part.text and not part.thought)
    reason = finish_reason_of(response)
    if reason in _BLOCKING_FINISH:
        ratings = [
            f"{getattr(r.category, 'value', r.category)}={getattr(r.probability, 'value', r.probability)}"
            for r in candidate.safety_ratings or []
            if r.blocked or (r.probability and str(getattr(r.probability, "value", "")) in {"HIGH", "MEDIUM"})
        ]
        detail = f" ({', '.join(ratings)})" if ratings else ""
        partial = f" Partial text before the stop: {text!r}" if text else ""
        raise EmptyAnswer(f"Gemini stopped the answer for {reason}{detail}. Rephrase the request.{partial}")
    if not text:
        if reason == "MAX_TOKENS":
            raise EmptyAnswer(
                "The answer was empty because max_output_tokens was used up (thinking counts toward it): "
                "raise max_output_tokens or set a smaller thinking_budget"
            )
        raise EmptyAnswer(f"Gemini returned an empty answer (finish reason {reason}). Retry or rephrase")
    return text
