"""generateContent, streamGenerateContent and countTokens for text models.

The answer is deterministic: `[emulated MODEL] Answer to: PROMPT`, followed by what the model noticed
(system instruction, media, earlier turns), so tests and users can see what reached the API.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse

from gemini_mcp.emulator import catalog, scripted, validate
from gemini_mcp.emulator.handlers import caches, file_search
from gemini_mcp.emulator.instances import instance
from gemini_mcp.emulator.state import Registry, RpcContext
from gemini_mcp.emulator.wire import ApiError, estimate_tokens, get

IMAGE_TOKENS = 258


def register(registry: Registry) -> None:
    registry.rpc("generateContent", generate_content)
    registry.rpc("streamGenerateContent", stream_generate_content)
    registry.rpc("countTokens", count_tokens)


# Checks shared by every generateContent flavour -------------------------------------------------------
def check_request(ctx: RpcContext) -> None:
    body = ctx.body
    validate.check_contents(body.get("contents"), ctx.state.files, time.monotonic())
    system = get(body, "system_instruction")
    if system is not None:
        for j, part in enumerate(get(system, "parts") or []):
            validate.check_part(part, f"system_instruction.parts[{j}]", ctx.state.files, time.monotonic())
    catalog.check_model_config(get(body, "generation_config"), ctx.spec)  # thinking level, image config
    validate.check_generation_config(get(body, "generation_config"), ctx.spec)
    validate.check_tools(body.get("tools"))
    caches.used_cache(ctx)  # a named cache must exist, be for this model, and stand alone
    file_search.retrieve(ctx, "")  # the stores a fileSearch tool names must exist


def requested_modalities(ctx: RpcContext) -> list[str]:
    config = get(ctx.body, "generation_config") or {}
    modalities = [str(m).upper() for m in (get(config, "response_modalities") or [])]
    if not modalities:
        modalities = {"image": ["TEXT", "IMAGE"], "tts": ["TEXT"]}.get(ctx.spec.kind, ["TEXT"])
    unsupported = [m for m in modalities if m not in ctx.spec.modalities]
    if unsupported:
        raise validate.bad(
            f"The requested combination of response modalities ({', '.join(modalities)}) is not supported by "
            f"the model {ctx.model}. It supports: {', '.join(ctx.spec.modalities)}."
        )
    return modalities


def media_modality(ctx: RpcContext) -> str | None:
    """IMAGE or AUDIO when the request asks for media output, else None."""
    modalities = requested_modalities(ctx)
    for modality in ("AUDIO", "IMAGE", "VIDEO"):
        if modality in modalities:
            return modality
    return None


async def dispatch_media(ctx: RpcContext, modality: str) -> Response | dict[str, Any]:
    handler = ctx.registry.modalities.get(modality)
    if handler is None:
        raise ApiError(501, f"emulator: response modality {modality} is not implemented", "UNIMPLEMENTED")
    return await handler(ctx)


# Handlers ---------------------------------------------------------------------------------------------
async def generate_content(ctx: RpcContext) -> Response | dict[str, Any]:
    check_request(ctx)
    modality = media_modality(ctx)
    if modality is not None:
        return await dispatch_media(ctx, modality)
    return build_response(ctx)


async def stream_generate_content(ctx: RpcContext) -> Response | dict[str, Any]:
    check_request(ctx)
    modality = media_modality(ctx)
    if modality is not None:
        result = await dispatch_media(ctx, modality)
        if isinstance(result, Response):
            return result
        events = [result]
    else:
        events = stream_events(build_response(ctx))
    delay = ctx.state.config.stream_chunk_delay_s

    async def emit() -> Any:
        for index, event in enumerate(events):
            if index and delay:
                await anyio.sleep(delay)
            yield f"data: {json.dumps(event)}\r\n\r\n".encode()

    return StreamingResponse(emit(), media_type="text/event-stream")


async def count_tokens(ctx: RpcContext) -> dict[str, Any]:
    body = ctx.body
    # Vertex and older SDKs may wrap the request: {"generateContentRequest": {...}}.
    inner = get(body, "generate_content_request") or body
    contents = inner.get("contents") or []
    validate.check_contents(contents, ctx.state.files, time.monotonic())
    total = sum(content_tokens(c) for c in contents)
    system = get(inner, "system_instruction")
    if system is not None:
        total += content_tokens(system)
    if inner.get("tools"):
        total += estimate_tokens(json.dumps(inner["tools"]))
    if ctx.backend == "vertex":
        return {"totalTokens": total, "totalBillableCharacters": total * 4}
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


# Building the answer ----------------------------------------------------------------------------------
def content_tokens(content: Any) -> int:
    total = 0
    for part in get(content, "parts") or []:
        if "text" in part:
            total += estimate_tokens(str(part["text"]))
        elif (decoded := validate.decode_inline(part)) is not None:
            mime, data = decoded
            total += IMAGE_TOKENS if mime.startswith("image/") else max(1, len(data) // 1000)
        elif get(part, "file_data") is not None:
            total += IMAGE_TOKENS
        else:
            total += estimate_tokens(json.dumps(part))
    return total


def prompt_text(content: Any) -> str:
    return " ".join(str(p["text"]) for p in get(content, "parts") or [] if isinstance(p, dict) and "text" in p)


def describe_media(contents: list[Any], ctx: RpcContext) -> list[str]:
    seen: list[str] = []
    for content in contents:
        for part in get(content, "parts") or []:
            decoded = validate.decode_inline(part)
            if decoded is not None:
                mime, data = decoded
                seen.append(f"{mime} ({len(data)} bytes inline)")
                continue
            file_data = get(part, "file_data")
            if file_data is not None:
                uri = str(get(file_data, "file_uri"))
                mime = get(file_data, "mime_type") or "unknown type"
                file_id = validate.file_id_of(uri)
                entry = ctx.state.files.get(file_id) if file_id else None
                size = f", {len(entry['data'])} bytes" if entry else ""
                seen.append(f"{mime} ({uri}{size})")
    return seen


def answer_text(ctx: RpcContext) -> str:
    contents: list[Any] = ctx.body["contents"]
    last = contents[-1]
    responses = [get(p, "function_response") for p in get(last, "parts") or [] if get(p, "function_response")]
    if responses:
        used = "; ".join(
            f"{get(r, 'name')} returned {json.dumps(get(r, 'response'), sort_keys=True)}" for r in responses
        )
        return f"[emulated {ctx.model}] Based on the function results: {used}"
    prompt = prompt_text(last) or "(no text)"
    lines = [f"[emulated {ctx.model}] Answer to: {prompt}"]
    system = get(ctx.body, "system_instruction")
    if system is not None:
        lines.append(f"System instruction followed: {prompt_text(system)}")
    cache = caches.used_cache(ctx)
    if cache is not None:
        lines.extend(caches.answer_lines(cache))
    lines.extend(file_search.answer_lines(ctx, prompt))
    media = describe_media(contents, ctx)
    if media:
        lines.append("Media received: " + "; ".join(media))
    if len(contents) > 1:
        lines.append(f"Conversation turns seen: {len(contents)}")
    return "\n".join(lines)


# Words too common to say which function a request is about.
_FILLER = frozenset(
    {"about", "also", "from", "have", "into", "more", "only", "some", "than", "that", "them", "then", "they"}
    | {"this", "what", "when", "which", "with", "your"}
)
# Arguments that carry the request itself: the emulated model passes the user's words there.
_REQUEST_ARGUMENTS = frozenset({"prompt", "text", "query", "question", "instruction", "message"})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3 and w not in _FILLER}


def function_calls(ctx: RpcContext) -> list[dict[str, Any]]:
    """The calls the emulated model makes: the declared functions whose names best match the prompt's words
    (all of the best, so "weather and time" calls both), else the one whose description matches best."""
    declarations = [d for tool in ctx.body.get("tools") or [] for d in get(tool, "function_declarations") or []]
    if not declarations:
        return []
    last_parts = get(ctx.body["contents"][-1], "parts") or []
    if any(get(p, "function_response") for p in last_parts):
        return []
    calling = get(get(ctx.body, "tool_config") or {}, "function_calling_config") or {}
    mode = str(get(calling, "mode") or "AUTO").upper()
    if mode == "NONE":
        return []
    allowed = get(calling, "allowed_function_names")
    if allowed:
        declarations = [d for d in declarations if get(d, "name") in allowed]
    request = prompt_text(ctx.body["contents"][-1])
    prompt = request.lower()
    words = _words(request)

    def name_score(declaration: Any) -> int:
        name = str(get(declaration, "name"))
        name_words = {w.lower() for w in re.split(r"[_.:\-]+|(?<=[a-z])(?=[A-Z])", name) if len(w) > 3}
        hits = len(name_words & words)
        return hits + len(name_words) + 1 if name.lower() in prompt else hits  # named outright: it wins

    by_name = [(name_score(d), d) for d in declarations]
    best = max((score for score, _ in by_name), default=0)
    chosen = [d for score, d in by_name if score == best and best > 0]
    if not chosen:
        by_description = [(len(_words(str(get(d, "description") or "")) & words), d) for d in declarations]
        score, first = max(by_description, key=lambda pair: pair[0], default=(0, None))
        chosen = [first] if score > 0 else []
    if not chosen and mode in ("ANY", "VALIDATED") and declarations:
        chosen = declarations[:1]
    calls = []
    for declaration in chosen:
        schema = get(declaration, "parameters") or get(declaration, "parameters_json_schema")
        args = call_arguments(schema, request) if schema else {}
        calls.append({"name": get(declaration, "name"), "args": args if isinstance(args, dict) else {}})
    return calls


def call_arguments(schema: Any, request: str = "") -> Any:
    """What the emulated model passes: the required arguments, plus optional ones that are a choice from an
    enum; optional free-form values are left out, as a real model leaves settings it was not asked about.
    A required argument that carries the request (`prompt`, `text`, `query`...) gets the user's words."""
    args = instance(schema, "value")
    required = get(schema, "required") if isinstance(schema, dict) else None
    if not (isinstance(args, dict) and isinstance(required, list) and required):
        return args
    properties = schema.get("properties") or {}
    chosen = {
        name: value
        for name, value in args.items()
        if name in required or (isinstance(properties.get(name), dict) and "enum" in properties[name])
    }
    for name, value in chosen.items():
        field = properties.get(name)
        plain = isinstance(field, dict) and not any(k in field for k in ("enum", "const", "format", "pattern"))
        if request.strip() and name.lower() in _REQUEST_ARGUMENTS and isinstance(value, str) and plain:
            maximum = get(field, "max_length")
            chosen[name] = request if maximum is None else request[: int(maximum)]
    return chosen


def structured_answer(ctx: RpcContext, text: str) -> str | None:
    config = get(ctx.body, "generation_config") or {}
    mime = get(config, "response_mime_type")
    schema = get(config, "response_schema") or get(config, "response_json_schema")
    if mime == "text/x.enum" and isinstance(schema, dict) and schema.get("enum"):
        return str(schema["enum"][0])
    if mime == "application/json":
        value = instance(schema, "answer") if schema is not None else {"answer": text}
        return json.dumps(value)
    return None


def thinking_tokens(ctx: RpcContext) -> int:
    if ctx.spec.thinking is None:
        return 0
    config = get(ctx.body, "generation_config") or {}
    budget = get(get(config, "thinking_config") or {}, "thinking_budget")
    if budget is None or budget == -1:
        return ctx.spec.thinking.dynamic_tokens
    return min(int(budget), 64)  # the emulated model thinks briefly even with a large budget


def build_response(ctx: RpcContext) -> dict[str, Any]:
    if (script := scripted.reply(ctx)) is not None:  # opt-in: a test playing a host's model
        return script
    config = get(ctx.body, "generation_config") or {}
    contents: list[Any] = ctx.body["contents"]
    prompt_tokens = sum(content_tokens(c) for c in contents)
    system = get(ctx.body, "system_instruction")
    if system is not None:
        prompt_tokens += content_tokens(system)
    cache = caches.used_cache(ctx)
    cached = caches.cached_tokens(cache) if cache is not None else 0
    prompt_tokens += cached  # the API counts a cache's tokens in the prompt, and again as cached
    thoughts = thinking_tokens(ctx)
    include_thoughts = bool(get(get(config, "thinking_config") or {}, "include_thoughts"))

    parts: list[dict[str, Any]] = []
    finish = "STOP"
    extra: dict[str, Any] = {}
    calls = function_calls(ctx)
    if calls:
        parts = [{"functionCall": call} for call in calls]
        answer_tokens = sum(estimate_tokens(json.dumps(c)) for c in calls)
    else:
        text = answer_text(ctx)
        text = structured_answer(ctx, text) or text
        for stop in get(config, "stop_sequences") or []:
            if stop and stop in text:
                text = text[: text.index(stop)]
        maximum = get(config, "max_output_tokens")
        if maximum is not None:
            room = int(maximum) - thoughts
            if room <= 0:
                thoughts, text, finish = int(maximum), "", "MAX_TOKENS"
            elif estimate_tokens(text) > room:
                text, finish = text[: room * 4], "MAX_TOKENS"
        if text:
            parts.append({"text": text})
        answer_tokens = estimate_tokens(text)
        tools = ctx.body.get("tools") or []
        if any(get(t, "google_search") is not None or get(t, "google_search_retrieval") is not None for t in tools):
            extra["groundingMetadata"] = grounding(prompt_text(contents[-1]), text)
        if (retrieved := file_search.grounding(ctx, prompt_text(contents[-1]), text)) is not None:
            extra["groundingMetadata"] = retrieved
        if any(get(t, "url_context") is not None for t in tools):
            urls = re.findall(r"https?://\S+", prompt_text(contents[-1]))
            extra["urlContextMetadata"] = {
                "urlMetadata": [{"retrievedUrl": u, "urlRetrievalStatus": "URL_RETRIEVAL_STATUS_SUCCESS"} for u in urls]
            }
        if any(get(t, "code_execution") is not None for t in tools):
            parts += [
                {"executableCode": {"language": "PYTHON", "code": "print('emulated computation')"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "emulated computation\n"}},
            ]
    if include_thoughts and thoughts:
        parts.insert(0, {"text": f"Thinking about: {prompt_text(contents[-1])[:200]}", "thought": True})

    count = int(get(config, "candidate_count") or 1)
    candidates = []
    for index in range(count):
        candidate_parts = parts if index == 0 else [*parts, {"text": f" (candidate {index + 1})"}] if parts else parts
        candidate: dict[str, Any] = {
            "content": {"role": "model", "parts": candidate_parts},
            "finishReason": finish,
            "index": index,
        }
        candidate.update(extra)
        candidates.append(candidate)
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": answer_tokens * count,
        "totalTokenCount": prompt_tokens + answer_tokens * count + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": ctx.model,
        "responseId": hashlib.sha256(json.dumps(ctx.body, sort_keys=True).encode()).hexdigest()[:20],
        **catalog.status_field(ctx.spec, ctx.backend),  # a deprecated model says so (Developer API)
    }


def grounding(query: str, text: str) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or "query"
    chunks = [
        {"web": {"uri": f"https://vertexaisearch.cloud.google.com/grounding-api-redirect/{slug}-{i}", "title": title}}
        for i, title in enumerate(("example.com", "wikipedia.org"), start=1)
    ]
    first_line = text.split("\n", 1)[0]
    return {
        "webSearchQueries": [query],
        "searchEntryPoint": {"renderedContent": f'<div class="search-entry-point">{query}</div>'},
        "groundingChunks": chunks,
        "groundingSupports": [
            {
                "segment": {"startIndex": 0, "endIndex": len(first_line.encode()), "text": first_line},
                "groundingChunkIndices": [0, 1],
                "confidenceScores": [0.92, 0.81],
            }
        ],
    }


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """Split a full answer into server-sent events the way the API streams: text in pieces, metadata last."""
    candidate = response["candidates"][0]
    parts = candidate["content"]["parts"]
    texts = [p for p in parts if "text" in p and not p.get("thought")]
    if len(parts) != 1 or len(texts) != 1 or len(response["candidates"]) != 1:
        return [response]
    words = re.split(r"(?<=\s)", texts[0]["text"])
    size = max(1, len(words) // 3 + (len(words) % 3 > 0))
    pieces = ["".join(words[i : i + size]) for i in range(0, len(words), size)]
    events: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        event_candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
        event: dict[str, Any] = {"candidates": [event_candidate], "modelVersion": response["modelVersion"]}
        if index == len(pieces) - 1:
            event_candidate.update({k: v for k, v in candidate.items() if k not in ("content", "index")})
            event["usageMetadata"] = response["usageMetadata"]
            event.update({k: response[k] for k in ("modelStatus",) if k in response})
        events.append(event)
    return events
