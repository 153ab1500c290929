"""The Batch API: many generateContent (or embedContent) requests as one asynchronous job at about half the
price, inline when the requests are small, through an uploaded JSONL file when they are not.

Each request travels with a key `"<index>"` or `"<index>|<caller's key>"`, so its answer finds its place
whichever way the results come back (inline, in order; or a JSONL file, keyed) and whichever server process
collects them: the key is all it needs. The create is a paid create (gemini/transport.py): never sent twice.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gemini_mcp.gemini.files import download_file, missing, upload_bytes
from gemini_mcp.gemini.response import read_answer

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

Kind = Literal["generate", "embed"]
PREFIX = "batches/"
FINISHED = {"SUCCEEDED", "PARTIALLY_SUCCEEDED"}
STOPPED = {"FAILED", "EXPIRED"}
# Fields of GenerateContentConfig that belong to the request itself rather than to its generationConfig.
_REQUEST_LEVEL = {"system_instruction", "tools", "tool_config", "safety_settings", "cached_content"}


@dataclass(frozen=True)
class Item:
    index: int
    key: str | None
    text: str


@dataclass(frozen=True)
class Batch:
    name: str
    state: str  # PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED, ... (JOB_STATE_ dropped)
    model: str | None
    error: str | None = None
    job: Any = None  # the SDK's BatchJob, for `results`


@dataclass
class Result:
    index: int
    key: str | None
    text: str | None = None
    values: list[float] | None = None
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)


def wire_key(item: Item) -> str:
    return str(item.index) if item.key is None else f"{item.index}|{item.key}"


def _parse_key(key: Any, fallback: int) -> tuple[int, str | None]:
    text = str(key if key is not None else fallback)
    head, _, rest = text.partition("|")
    try:
        return int(head), rest or None
    except ValueError:
        return fallback, text


def _state(job: types.BatchJob) -> str:
    state = job.state
    return str(getattr(state, "value", state) or "JOB_STATE_UNSPECIFIED").removeprefix("JOB_STATE_")


def _batch(job: types.BatchJob) -> Batch:
    error = None
    if job.error is not None:
        error = job.error.message or f"error code {job.error.code}"
    model = (job.model or "").removeprefix("models/") or None
    return Batch(name=job.name or "", state=_state(job), model=model, error=error, job=job)


def _wire_config(config: types.GenerateContentConfig | None) -> dict[str, Any]:
    """A GenerateContentConfig as the fields of a GenerateContentRequest in JSON (proto JSON accepts snake_case)."""
    if config is None:
        return {}
    dumped = config.model_dump(mode="json", exclude_none=True)
    dumped.pop("http_options", None)
    request: dict[str, Any] = {}
    system = dumped.pop("system_instruction", None)
    if isinstance(system, str):
        request["system_instruction"] = {"parts": [{"text": system}]}
    elif system is not None:
        request["system_instruction"] = system
    for name in _REQUEST_LEVEL - {"system_instruction"}:
        if name in dumped:
            request[name] = dumped.pop(name)
    if dumped:
        request["generation_config"] = dumped
    return request


def jsonl_of(kind: Kind, items: Sequence[Item], config: Any) -> bytes:
    """The batch's input file: one `{"key", "request"}` per line."""
    lines = []
    if kind == "generate":
        shared = _wire_config(config)
        for item in items:
            request = {"contents": [{"role": "user", "parts": [{"text": item.text}]}], **shared}
            lines.append(json.dumps({"key": wire_key(item), "request": request}, ensure_ascii=False))
    else:
        options = {k: v for k, v in (config or {}).items() if v is not None}
        for item in items:
            request = {"content": {"parts": [{"text": item.text}]}, **options}
            lines.append(json.dumps({"key": wire_key(item), "request": request}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


async def start_batch(
    call: GeminiCall,
    model: str,
    kind: Kind,
    items: Sequence[Item],
    *,
    config: Any,
    display_name: str | None,
    inline_max_bytes: int,
) -> tuple[Batch, bool]:
    """Start the batch; returns it and whether its requests went through an uploaded JSONL file. `config` is a
    GenerateContentConfig for "generate", or {"task_type", "output_dimensionality"} for "embed"."""
    from google.genai import types

    client = await call.client()
    data = jsonl_of(kind, items, config)
    via_file = len(data) > inline_max_bytes
    batch_config = types.CreateBatchJobConfig(display_name=display_name) if display_name else None
    if via_file:
        uploaded = await upload_bytes(call, data, "jsonl", f"{display_name or 'batch'} requests")
        call.notes.append(f"{len(items)} requests ({len(data) / 1e6:.1f} MB) went as a JSONL file, {uploaded.name}")
        source: Any = uploaded.name
    elif kind == "generate":
        source = [
            types.InlinedRequest(
                contents=[types.Content(role="user", parts=[types.Part(text=item.text)])],
                metadata={"key": wire_key(item)},
                config=config,
            )
            for item in items
        ]
    if kind == "generate":
        job = await client.aio.batches.create(model=model, src=source, config=batch_config)
    else:
        if not via_file:
            embed_config = types.EmbedContentConfig(**(config or {}))
            batch_of = types.EmbedContentBatch(contents=[item.text for item in items], config=embed_config)
            source = types.EmbeddingsBatchJobSource(inlined_requests=batch_of)
        else:
            source = types.EmbeddingsBatchJobSource(file_name=source)
        embed_batch = types.CreateEmbeddingsBatchJobConfig(display_name=display_name) if display_name else None
        # The SDK warns on every call that this method is experimental: said once in the docs is enough.
        warnings.filterwarnings("ignore", message=r"batches\.create_embeddings\(\) is experimental")
        job = await client.aio.batches.create_embeddings(model=model, src=source, config=embed_batch)
    return _batch(job), via_file


async def get_batch(call: GeminiCall, name: str, field: str = "job_id") -> Batch:
    client = await call.client()
    try:
        return _batch(await client.aio.batches.get(name=name))
    except Exception as exc:
        _reraise(exc, field, name)
        raise


async def cancel_batch(call: GeminiCall, name: str, field: str = "job_id") -> None:
    client = await call.client()
    try:
        await client.aio.batches.cancel(name=name)
    except Exception as exc:
        _reraise(exc, field, name)
        raise


def _reraise(exc: Exception, field: str, name: str) -> None:
    problem = missing(exc, field, f"batch {name}", "Google keeps a batch for a while after it ends; start a new one")
    if problem is not None:
        raise problem from None


def _generated(index: int, key: str | None, response: types.GenerateContentResponse) -> Result:
    answer = read_answer(response)
    result = Result(index, key, finish_reason=answer.finish_reason)
    if answer.refusal is not None:
        result.error = answer.refusal
    else:
        result.text = answer.text
    if answer.usage is not None:
        result.usage = {k: v for k, v in answer.usage.model_dump().items() if v is not None}
    return result


def _from_line(line: dict[str, Any], fallback: int, kind: Kind) -> Result:
    from google.genai import types

    index, key = _parse_key(line.get("key"), fallback)
    error = line.get("error")
    if error is not None:
        message = error.get("message") if isinstance(error, dict) else str(error)
        return Result(index, key, error=str(message or "no reason given"))
    response = line.get("response") or {}
    if kind == "embed":
        embedding = response.get("embedding") or {}
        return Result(index, key, values=[float(v) for v in embedding.get("values") or []])
    # As the SDK reads an answer: fields it does not know (a newer API) are dropped, not refused.
    parsed = types.GenerateContentResponse._from_response(response=response, kwargs={})
    return _generated(index, key, parsed)


async def results(call: GeminiCall, batch: Batch, kind: Kind) -> list[Result]:
    """Every request's answer (or error), in request order."""
    dest = batch.job.dest if batch.job is not None else None
    found: list[Result] = []
    if dest is not None and dest.file_name:
        data = await download_file(call, dest.file_name)
        for number, line in enumerate(io.StringIO(data.decode("utf-8", errors="replace"))):
            if line.strip():
                found.append(_from_line(json.loads(line), number, kind))
    elif dest is not None and kind == "embed":
        for index, embedded in enumerate(dest.inlined_embed_content_responses or []):
            if embedded.error is not None:
                found.append(Result(index, None, error=embedded.error.message or "no reason given"))
            else:
                vector = embedded.response.embedding if embedded.response is not None else None
                found.append(Result(index, None, values=list(vector.values or []) if vector is not None else []))
    elif dest is not None:
        for position, inlined in enumerate(dest.inlined_responses or []):
            index, key = _parse_key((inlined.metadata or {}).get("key"), position)
            if inlined.error is not None:
                found.append(Result(index, key, error=inlined.error.message or "no reason given"))
            elif inlined.response is not None:
                found.append(_generated(index, key, inlined.response))
            else:
                found.append(Result(index, key, error="no response"))
    return sorted(found, key=lambda result: result.index)
