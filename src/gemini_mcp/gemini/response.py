"""Reading what Gemini answered, once for every tool: `read_answer` turns a GenerateContentResponse into an
`Answer` (text with thoughts skipped, media, function calls, code runs, URLs read, grounding, finish reason,
usage, and why an answer is missing or blocked); `read_parts` does the same for any list of parts (a chat's
history, a Live turn, a streamed chunk).

Nothing here raises on a strange answer: the tool decides what it needs (`require_text`, `require_media`),
and those raise `EmptyAnswer`, an upstream error, worded with Gemini's reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from gemini_mcp.errors import GeminiCallError

if TYPE_CHECKING:
    from google.genai import types

# Finish reasons after which the text is not a complete answer worth returning as success.
_BLOCKING_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}


class Usage(BaseModel):
    prompt_tokens: Annotated[int | None, Field(description="Tokens in the request.")] = None
    output_tokens: Annotated[int | None, Field(description="Tokens in the answer.")] = None
    thinking_tokens: Annotated[int | None, Field(description="Tokens spent thinking.")] = None
    cached_tokens: Annotated[
        int | None, Field(description="Prompt tokens served from a context cache (billed at the cached rate).")
    ] = None
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


class EmptyAnswer(GeminiCallError):
    """Gemini answered with nothing usable: a blocked prompt, a safety stop, no candidates, an empty answer.
    Upstream, not the caller's input: the message quotes Gemini's reason and says what to try."""


def name_of(value: Any) -> str | None:
    """An SDK enum (or plain string) as its API name: `FinishReason.STOP` → 'STOP'."""
    return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True)
class Media:
    """A media part: inline bytes (`data`) or a file reference (`uri`)."""

    mime_type: str | None
    data: bytes | None = None
    uri: str | None = None


@dataclass(frozen=True)
class CalledFunction:
    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass
class CodeRun:
    language: str | None = None
    code: str | None = None
    outcome: str | None = None
    output: str | None = None


@dataclass(frozen=True)
class UrlRead:
    url: str
    status: str | None


@dataclass(frozen=True)
class Source:
    title: str | None
    uri: str | None
    # A chunk File Search retrieved: its text, the document and the store it came from.
    text: str | None = None
    document: str | None = None
    store: str | None = None


@dataclass(frozen=True)
class Support:
    """A span of the answer backed by sources: it ends at `end_byte` (a UTF-8 offset, as the API counts);
    `sources` index `Grounding.sources`."""

    end_byte: int
    sources: tuple[int, ...]


@dataclass(frozen=True)
class Grounding:
    sources: list[Source]
    queries: list[str]
    supports: list[Support]

    def cite(self, text: str) -> str:
        """`text` with [n] after each supported span (n counts from 1, as `sources` are listed)."""
        data = text.encode("utf-8")
        inserts = [
            (min(s.end_byte, len(data)), "".join(f"[{i + 1}]" for i in s.sources)) for s in self.supports if s.sources
        ]
        for end, markers in sorted(inserts, key=lambda item: item[0], reverse=True):
            data = data[:end] + markers.encode() + data[end:]
        return data.decode("utf-8", errors="replace")


@dataclass
class Parts:
    """What a list of parts says: the answer's text (thoughts apart), media, function calls, code runs."""

    text: str = ""
    thoughts: str = ""
    media: list[Media] = field(default_factory=list)
    function_calls: list[CalledFunction] = field(default_factory=list)
    code_runs: list[CodeRun] = field(default_factory=list)

    @property
    def inline(self) -> list[Media]:
        """The media that came as bytes (what a generated image or audio clip is)."""
        return [m for m in self.media if m.data]


def read_parts(parts: Iterable[types.Part] | None) -> Parts:
    read = Parts()
    for part in parts or []:
        if part.text is not None:
            if part.thought:
                read.thoughts += part.text
            else:
                read.text += part.text
        if part.inline_data is not None:
            read.media.append(Media(part.inline_data.mime_type, data=part.inline_data.data))
        if part.file_data is not None:
            read.media.append(Media(part.file_data.mime_type, uri=part.file_data.file_uri))
        if part.function_call is not None:
            call = part.function_call
            read.function_calls.append(CalledFunction(call.name or "", dict(call.args or {}), call.id))
        if part.executable_code is not None:
            code = part.executable_code
            read.code_runs.append(CodeRun(language=name_of(code.language), code=code.code))
        if part.code_execution_result is not None:
            if not read.code_runs:
                read.code_runs.append(CodeRun())
            result = part.code_execution_result
            read.code_runs[-1].outcome = name_of(result.outcome)
            read.code_runs[-1].output = result.output
    return read


@dataclass(frozen=True)
class ModelState:
    """What a response's `model_status` says about the model (Developer API only): its stage (a
    types.ModelStage name), its retirement date (YYYY-MM-DD) and the API's message."""

    stage: str | None
    retires: str | None
    message: str | None


@dataclass
class Answer(Parts):
    """One generateContent answer, its first candidate read."""

    has_candidates: bool = False
    finish_reason: str | None = None
    usage: Usage | None = None
    prompt_block: str | None = None  # why the prompt itself was refused (promptFeedback.blockReason)
    prompt_block_message: str | None = None
    flagged: list[str] = field(default_factory=list)  # safety ratings that blocked or ran high: CATEGORY=LEVEL
    urls_read: list[UrlRead] | None = None
    grounding: Grounding | None = None
    model_status: ModelState | None = None

    @property
    def refusal(self) -> str | None:
        """Why Gemini gave no usable answer (a blocked prompt, no candidates, a safety stop), worded; else None."""
        if self.prompt_block is not None:
            detail = f" ({self.prompt_block_message})" if self.prompt_block_message else ""
            return (
                f"Gemini blocked the prompt: {self.prompt_block}{detail}. Rephrase the request; nothing was generated"
            )
        if not self.has_candidates:
            return "Gemini returned no answer (no candidates). Retry, or rephrase the request"
        if self.finish_reason in _BLOCKING_FINISH:
            detail = f" ({', '.join(self.flagged)})" if self.flagged else ""
            partial = f" Partial text before the stop: {self.text!r}" if self.text else ""
            return f"Gemini stopped the answer for {self.finish_reason}{detail}. Rephrase the request.{partial}"
        return None

    def require_text(self) -> str:
        """The answer's text; raises EmptyAnswer saying why there is none."""
        refusal = self.refusal
        if refusal is not None:
            raise EmptyAnswer(refusal)
        if not self.text:
            if self.finish_reason == "MAX_TOKENS":
                raise EmptyAnswer(
                    "The answer was empty because max_output_tokens was used up (thinking counts toward it): "
                    "raise max_output_tokens or set a smaller thinking_budget"
                )
            raise EmptyAnswer(
                f"Gemini returned an empty answer (finish reason {self.finish_reason}). Retry or rephrase"
            )
        return self.text

    def require_media(self, missing: str) -> list[Media]:
        """The inline media; raises EmptyAnswer with Gemini's reason, or `missing` when it gave none."""
        if self.inline:
            return self.inline
        raise EmptyAnswer(self.refusal or missing)

    def info(self, model: str, notes: list[str]) -> GenerationInfo:
        return GenerationInfo(model=model, finish_reason=self.finish_reason, usage=self.usage, notes=notes or None)


def read_answer(response: types.GenerateContentResponse) -> Answer:
    candidate = response.candidates[0] if response.candidates else None
    answer = Answer(**vars(read_parts(candidate.content.parts if candidate and candidate.content else None)))
    answer.has_candidates = candidate is not None
    answer.usage = _usage(response.usage_metadata)
    status = response.model_status
    if status is not None:
        retires = status.retirement_time.date().isoformat() if status.retirement_time else None
        answer.model_status = ModelState(name_of(status.model_stage), retires, status.message)
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        answer.prompt_block = name_of(feedback.block_reason)
        answer.prompt_block_message = feedback.block_reason_message
    if candidate is None:
        return answer
    answer.finish_reason = name_of(candidate.finish_reason)
    answer.flagged = [
        f"{name_of(r.category)}={name_of(r.probability)}"
        for r in candidate.safety_ratings or []
        if r.blocked or name_of(r.probability) in {"HIGH", "MEDIUM"}
    ]
    if candidate.url_context_metadata is not None:
        answer.urls_read = [
            UrlRead(m.retrieved_url or "", name_of(m.url_retrieval_status))
            for m in candidate.url_context_metadata.url_metadata or []
        ] or None
    metadata = candidate.grounding_metadata
    if metadata is not None:
        answer.grounding = Grounding(
            sources=[_source(chunk) for chunk in metadata.grounding_chunks or []],
            queries=list(metadata.web_search_queries or []),
            supports=[
                Support(s.segment.end_index, tuple(s.grounding_chunk_indices or ()))
                for s in metadata.grounding_supports or []
                if s.segment is not None and s.segment.end_index is not None
            ],
        )
    return answer


def _source(chunk: types.GroundingChunk) -> Source:
    if chunk.retrieved_context is not None:
        found = chunk.retrieved_context
        return Source(found.title, found.uri, found.text, found.document_name, found.file_search_store)
    return Source(chunk.web.title if chunk.web else None, chunk.web.uri if chunk.web else None)


def _usage(meta: types.GenerateContentResponseUsageMetadata | None) -> Usage | None:
    if meta is None:
        return None
    return Usage(
        prompt_tokens=meta.prompt_token_count,
        output_tokens=meta.candidates_token_count,
        thinking_tokens=meta.thoughts_token_count,
        cached_tokens=meta.cached_content_token_count,
        total_tokens=meta.total_token_count,
    )
