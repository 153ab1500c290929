"""The Batch API (Developer API): `models/{model}:batchGenerateContent` and `:asyncBatchEmbedContent` start a
batch, `batches/{id}` (GET, DELETE), `batches/{id}:cancel` and `batches` (list) follow it.

A batch is an operation named `batches/{id}` whose metadata is the batch: `state` BATCH_STATE_PENDING →
BATCH_STATE_RUNNING → BATCH_STATE_SUCCEEDED, or BATCH_STATE_FAILED / BATCH_STATE_CANCELLED; `batchStats` with
the request counts; `output` once done: `inlinedResponses` for inline input, or `responsesFile` (a Files API
JSONL file, one `{"key", "response" | "error"}` line per request) for a JSONL input file (`fileName`).

The lifecycle is the emulator's operation registry: a batch finishes after `config.operation_duration_s`, or
with `config.hold_operations` only on command (`Emulator.finish_operation`, `fail_operation`); it is PENDING
until it reports progress (`set_progress`, or the timer), RUNNING after. Each request is answered as
generateContent (or embedContent) would answer it; a request whose prompt contains "[[fail]]" gets an error of
its own, and one the API would refuse gets that refusal, so a batch can partly succeed.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.requests import Request

from gemini_mcp.emulator import catalog, files, validate
from gemini_mcp.emulator.handlers import embed
from gemini_mcp.emulator.handlers._resources import body_of, route, stamp
from gemini_mcp.emulator.state import EmulatorState, Registry, RpcContext
from gemini_mcp.emulator.wire import ApiError, estimate_tokens, get

COLLECTION = "batches"
GENERATE_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
EMBED_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.EmbedContentBatch"
CANCELLED = 1  # google.rpc.Code CANCELLED: how a cancelled batch's operation ends
SCRIPTED_FAILURE = "[[fail]]"


def register(registry: Registry) -> None:
    v = "{ver:str}"
    registry.route(route(f"/{v}/models/{{model:str}}:batchGenerateContent", start_generate, ["POST"]))
    registry.route(route(f"/{v}/models/{{model:str}}:asyncBatchEmbedContent", start_embed, ["POST"]))
    registry.route(route(f"/{v}/{COLLECTION}", list_batches, ["GET"]))
    registry.route(route(f"/{v}/{COLLECTION}/{{batch_id:str}}:cancel", cancel, ["POST"]))
    registry.route(route(f"/{v}/{COLLECTION}/{{batch_id:str}}", get_batch, ["GET"]))
    registry.route(route(f"/{v}/{COLLECTION}/{{batch_id:str}}", delete, ["DELETE"]))


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _spec(request: Request, kind: str, rpc: str) -> catalog.ModelSpec:
    model = request.path_params["model"].removeprefix("models/")
    spec = catalog.lookup(model)
    if spec is None or spec.kind != kind:
        raise ApiError(
            404,
            f"models/{model} is not found for API version {request.path_params['ver']}, or is not supported for "
            f"{rpc}. Call ListModels to see the list of available models and their supported methods.",
            "NOT_FOUND",
        )
    return spec


def _requests(state: EmulatorState, batch: dict[str, Any], where: str) -> tuple[list[dict[str, Any]], bool]:
    """The batch's requests as [{"key", "request"}], and whether they came from a file."""
    config = get(batch, "input_config") or {}
    file_name = get(config, "file_name")
    inline = get(get(config, "requests") or {}, "requests")
    if (file_name is None) == (inline is None):
        raise validate.bad(f"* {where}.input_config: exactly one of requests or file_name must be set.")
    if inline is not None:
        if not isinstance(inline, list) or not inline:
            raise validate.bad(f"* {where}.input_config.requests.requests: must contain at least one request.")
        items = []
        for index, item in enumerate(inline):
            metadata = get(item, "metadata") or {}
            items.append({"key": str(metadata.get("key", index)), "request": get(item, "request") or {}, "meta": item})
        return items, False
    file_id = str(file_name).removeprefix("files/")
    entry = validate.known_file(state.files, file_id)
    items = []
    for number, line in enumerate(entry["data"].decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError as exc:
            raise validate.bad(f"Input file {file_name}, line {number}: not valid JSON ({exc}).") from exc
        if not isinstance(parsed, dict) or not isinstance(parsed.get("request"), dict):
            raise validate.bad(f'Input file {file_name}, line {number}: expected {{"key": ..., "request": {{...}}}}.')
        items.append({"key": str(parsed.get("key", number - 1)), "request": parsed["request"]})
    if not items:
        raise validate.bad(f"Input file {file_name} contains no requests.")
    return items, True


async def _start(request: Request, kind: str, rpc: str, wire_type: str) -> dict[str, Any]:
    state = _state(request)
    spec = _spec(request, kind, rpc)
    body = await body_of(request)
    batch = get(body, "batch")
    if not isinstance(batch, dict):
        raise validate.bad(f"* {rpc}Request.batch: batch is required")
    items, from_file = _requests(state, batch, f"{rpc}Request.batch")
    name = f"{COLLECTION}/{secrets.token_hex(8)}"
    now = stamp()
    record: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "type": wire_type,
        "model": spec.id,
        "version": request.path_params["ver"],
        "displayName": str(get(batch, "display_name") or name),
        "createTime": now,
        "items": items,
        "from_file": from_file,
        "base_url": str(request.base_url).rstrip("/"),
        "results": None,
    }
    state.add_operation(name, record)
    answer = _view(state, request, name)
    # The create answers before any work: a batch is PENDING then, however soon it finishes.
    answer["done"] = False
    answer.pop("response", None)
    answer.pop("error", None)
    answer["metadata"] = {k: v for k, v in answer["metadata"].items() if k not in ("output", "endTime")} | {
        "state": "BATCH_STATE_PENDING",
        "batchStats": {"requestCount": str(len(items)), "pendingRequestCount": str(len(items))},
    }
    return answer


async def start_generate(request: Request) -> dict[str, Any]:
    return await _start(request, "text", "BatchGenerateContent", GENERATE_TYPE)


async def start_embed(request: Request) -> dict[str, Any]:
    return await _start(request, "embedding", "AsyncBatchEmbedContent", EMBED_TYPE)


def _state_name(job: dict[str, Any]) -> str:
    if job["done"]:
        error = job["error"]
        if error is None:
            return "BATCH_STATE_SUCCEEDED"
        return "BATCH_STATE_CANCELLED" if error.get("code") == CANCELLED else "BATCH_STATE_FAILED"
    return "BATCH_STATE_RUNNING" if job["progress"] else "BATCH_STATE_PENDING"


def _answer_generate(request: Request, job: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    from gemini_mcp.emulator.handlers import generate  # generate's answers, request by request

    body = dict(item["request"])
    body.pop("model", None)
    spec = catalog.lookup(job["model"])
    assert spec is not None
    ctx = RpcContext(
        state=request.app.state.emulator,
        request=request,
        rpc="generateContent",
        model=job["model"],
        spec=spec,
        backend="gemini",
        api_version=job["version"],
        body=body,
        base_url=job["base_url"],
        registry=request.app.state.registry,
    )
    generate.check_request(ctx)
    if SCRIPTED_FAILURE in json.dumps(body.get("contents")):
        raise ApiError(500, "Internal error encountered while processing this request.", "INTERNAL")
    return generate.build_response(ctx)


def _answer_embed(job: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    request = item["request"]
    content = get(request, "content")
    if not isinstance(content, dict) or not get(content, "parts"):
        raise validate.bad("* EmbedContentRequest.content: content is required")
    text = " ".join(str(get(part, "text") or "") for part in get(content, "parts"))
    if SCRIPTED_FAILURE in text:
        raise ApiError(500, "Internal error encountered while processing this request.", "INTERNAL")
    full = embed.full_dimensions(job["model"])
    dimensions = get(request, "output_dimensionality") or full
    if not isinstance(dimensions, int) or not 1 <= dimensions <= full:
        raise validate.bad(f"* EmbedContentRequest.output_dimensionality: must be between 1 and {full}")
    return {"embedding": {"values": embed.vector(text, dimensions, full)}, "tokenCount": str(estimate_tokens(text))}


def _results(state: EmulatorState, request: Request, name: str, job: dict[str, Any]) -> dict[str, Any]:
    """Answer every request once (the first time the finished batch is read): counts and output."""
    if job["results"] is not None:
        return dict(job["results"])
    answers = []
    for item in job["items"]:
        try:
            if job["kind"] == "text":
                answers.append({"response": _answer_generate(request, job, item)})
            else:
                answers.append({"response": _answer_embed(job, item)})
        except ApiError as exc:
            answers.append({"error": {"code": exc.code, "message": exc.message}})
    failed = sum(1 for answer in answers if "error" in answer)
    if job["from_file"]:
        lines = [json.dumps({"key": item["key"], **answer}) for item, answer in zip(job["items"], answers, strict=True)]
        output_file = files.add_file(
            state, ("\n".join(lines) + "\n").encode(), "application/jsonl", None, job["version"]
        )
        output: dict[str, Any] = {"responsesFile": output_file["name"]}
    else:
        inlined = []
        for item, answer in zip(job["items"], answers, strict=True):
            metadata = get(item["meta"], "metadata")
            inlined.append({**answer, **({"metadata": metadata} if metadata else {})})
        output = {"inlinedResponses": {"inlinedResponses": inlined}}
    results = {"output": output, "failed": failed, "succeeded": len(answers) - failed, "endTime": stamp()}
    state.operations[name]["results"] = results  # computed once: a finished batch's answers never change
    return results


def _view(state: EmulatorState, request: Request, name: str) -> dict[str, Any]:
    job = state.operation(name)
    if job is None:
        raise ApiError(404, f"Batch {name} not found.", "NOT_FOUND")
    state_name = _state_name(job)
    total = len(job["items"])
    metadata: dict[str, Any] = {
        "@type": job["type"],
        "name": name,
        "model": f"models/{job['model']}",
        "displayName": job["displayName"],
        "createTime": job["createTime"],
        "updateTime": stamp(),
        "state": state_name,
        "batchStats": {"requestCount": str(total), "pendingRequestCount": str(total)},
    }
    answer: dict[str, Any] = {"name": name, "metadata": metadata, "done": bool(job["done"])}
    if state_name == "BATCH_STATE_SUCCEEDED":
        results = _results(state, request, name, job)
        metadata["output"] = results["output"]
        metadata["endTime"] = results["endTime"]
        metadata["batchStats"] = {
            "requestCount": str(total),
            "successfulRequestCount": str(results["succeeded"]),
            "failedRequestCount": str(results["failed"]),
        }
        answer["response"] = {"@type": job["type"], **{k: v for k, v in metadata.items() if k != "@type"}}
    elif job["done"]:
        answer["error"] = job["error"]
        metadata["endTime"] = stamp()
    return answer


def _name(request: Request) -> str:
    return f"{COLLECTION}/{request.path_params['batch_id']}"


async def get_batch(request: Request) -> dict[str, Any]:
    return _view(_state(request), request, _name(request))


async def list_batches(request: Request) -> dict[str, Any]:
    state = _state(request)
    names = [name for name in state.operation_names() if name.startswith(f"{COLLECTION}/")]
    return {"operations": [_view(state, request, name) for name in names]}


async def cancel(request: Request) -> dict[str, Any]:
    state = _state(request)
    name = _name(request)
    job = state.operation(name)
    if job is None:
        raise ApiError(404, f"Batch {name} not found.", "NOT_FOUND")
    if job["done"]:
        raise ApiError(400, f"Batch {name} has already finished ({_state_name(job)}).", "FAILED_PRECONDITION")
    try:
        state.finish_operation(name, error={"code": CANCELLED, "message": "The batch was cancelled."})
    except ValueError:  # it finished between the look and the cancel
        raise ApiError(400, f"Batch {name} has already finished.", "FAILED_PRECONDITION") from None
    return {}


async def delete(request: Request) -> dict[str, Any]:
    state = _state(request)
    name = _name(request)
    if state.operation(name) is None:
        raise ApiError(404, f"Batch {name} not found.", "NOT_FOUND")
    state.operations.pop(name, None)  # the registry has no removal of its own
    return {}
