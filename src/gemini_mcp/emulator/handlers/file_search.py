"""File Search (Developer API): stores, their documents, imports as long-running operations, and the
`fileSearch` tool of generateContent.

- `fileSearchStores` create / get / list / delete (`force` to delete a store that still has documents);
- documents reach a store by `:importFile` (a Files API file) or a resumable upload to
  `upload/{ver}/fileSearchStores/{id}:uploadToFileSearchStore`; either answers with an operation
  (`fileSearchStores/{id}/operations/{op}`, `…/upload/operations/{op}`) polled with GET. Operations use the
  emulator's registry: they finish after `config.operation_duration_s`, or on command with
  `config.hold_operations` (`Emulator.finish_operation` / `fail_operation`). A document is STATE_PENDING until
  its operation is done, then STATE_ACTIVE (or STATE_FAILED);
- `{ver}/fileSearchStores/{id}/documents` list, and get / delete of one document (`force`).

A generateContent request with `tools: [{fileSearch: {fileSearchStoreNames}}]` retrieves the active documents'
chunks sharing the most words with the prompt, answers with a line quoting the best one per document ("From
<title>: …"), and cites them in `groundingMetadata` (`groundingChunks[].retrievedContext` with title, text,
store and document, `groundingSupports` on the quoting lines).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gemini_mcp.emulator import files, validate
from gemini_mcp.emulator.handlers._resources import body_of, new_id, page, public, route, stamp
from gemini_mcp.emulator.state import EmulatorState, Registry, RpcContext
from gemini_mcp.emulator.wire import ApiError, get

STORES = "fileSearchStores"
IMPORT_RESPONSE = "type.googleapis.com/google.ai.generativelanguage.v1main.ImportFileResponse"
UPLOAD_RESPONSE = "type.googleapis.com/google.ai.generativelanguage.v1main.UploadToFileSearchStoreResponse"
CHUNK_CHARS = 400
DEFAULT_TOP_K = 5
TEXT_TYPES = ("text/", "application/json", "application/xml")


def register(registry: Registry) -> None:
    v = "{ver:str}"
    store = f"/{v}/{STORES}/{{store_id:str}}"
    registry.route(route(f"/{v}/{STORES}", create_store, ["POST"]))
    registry.route(route(f"/{v}/{STORES}", list_stores, ["GET"]))
    registry.route(route(f"{store}:importFile", import_file, ["POST"]))
    registry.route(route(f"/upload/{v}/{STORES}/{{store_id:str}}:uploadToFileSearchStore", start_upload, ["POST"]))
    registry.route(route(f"{store}/operations/{{op:str}}", get_operation, ["GET"]))
    registry.route(route(f"{store}/upload/operations/{{op:str}}", get_operation, ["GET"]))
    registry.route(route(f"{store}/documents", list_documents, ["GET"]))
    registry.route(route(f"{store}/documents/{{doc_id:str}}", get_document, ["GET"]))
    registry.route(route(f"{store}/documents/{{doc_id:str}}", delete_document, ["DELETE"]))
    registry.route(route(store, get_store, ["GET"]))
    registry.route(route(store, delete_store, ["DELETE"]))


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def find_store(state: EmulatorState, name: str) -> dict[str, Any]:
    full = name if name.startswith(f"{STORES}/") else f"{STORES}/{name}"
    found = state.resources.get(full)
    if found is None or "/" in full.removeprefix(f"{STORES}/"):
        raise ApiError(404, f"FileSearchStore {full} not found.", "NOT_FOUND")
    return found


def _documents(state: EmulatorState, store: str) -> list[dict[str, Any]]:
    prefix = f"{store}/documents/"
    docs = [resource for name, resource in state.resources.items() if name.startswith(prefix)]
    for doc in docs:
        _settle(state, doc)
    return sorted(docs, key=lambda doc: str(doc["createTime"]))


def _settle(state: EmulatorState, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Bring the document's state up to date with its import operation; returns the operation snapshot."""
    job = state.operation(doc["_operation"])
    if job is not None and job["done"] and doc["state"] == "STATE_PENDING":
        doc["state"] = "STATE_FAILED" if job["error"] is not None else "STATE_ACTIVE"
        doc["updateTime"] = stamp()
    return job


def _store_view(state: EmulatorState, store: dict[str, Any]) -> dict[str, Any]:
    docs = _documents(state, store["name"])
    counts = {s: sum(1 for d in docs if d["state"] == s) for s in ("STATE_ACTIVE", "STATE_PENDING", "STATE_FAILED")}
    view = public(store)
    view.update(
        activeDocumentsCount=str(counts["STATE_ACTIVE"]),
        pendingDocumentsCount=str(counts["STATE_PENDING"]),
        failedDocumentsCount=str(counts["STATE_FAILED"]),
        sizeBytes=str(sum(int(d["sizeBytes"]) for d in docs)),
    )
    return view


# --- stores ------------------------------------------------------------------------------------------------
async def create_store(request: Request) -> dict[str, Any]:
    state = _state(request)
    body = await body_of(request)
    display = get(body, "display_name")
    if display is not None and len(str(display)) > 512:
        raise validate.bad("display_name must be at most 512 characters.")
    now = stamp()
    name = f"{STORES}/{new_id(str(display or ''))}"
    store: dict[str, Any] = {"name": name, "createTime": now, "updateTime": now}
    if display:
        store["displayName"] = str(display)
    if get(body, "embedding_model"):
        store["embeddingModel"] = str(get(body, "embedding_model"))
    state.resources[name] = store
    return _store_view(state, store)


async def list_stores(request: Request) -> dict[str, Any]:
    state = _state(request)
    stores = [
        _store_view(state, r)
        for n, r in state.resources.items()
        if n.startswith(f"{STORES}/") and "/" not in n.removeprefix(f"{STORES}/")
    ]
    return page(request, sorted(stores, key=lambda s: str(s["createTime"])), STORES)


async def get_store(request: Request) -> dict[str, Any]:
    state = _state(request)
    return _store_view(state, find_store(state, request.path_params["store_id"]))


async def delete_store(request: Request) -> dict[str, Any]:
    state = _state(request)
    store = find_store(state, request.path_params["store_id"])
    docs = _documents(state, store["name"])
    if docs and request.query_params.get("force", "").lower() != "true":
        raise ApiError(
            400,
            f"FileSearchStore {store['name']} is not empty ({len(docs)} documents); set force=true to delete it "
            "with its documents.",
            "FAILED_PRECONDITION",
        )
    for doc in docs:
        del state.resources[doc["name"]]
    del state.resources[store["name"]]
    return {}


# --- documents ---------------------------------------------------------------------------------------------
def _text_of(data: bytes, mime: str) -> str:
    if mime.startswith(TEXT_TYPES):
        return data.decode("utf-8", errors="replace")
    if mime == "application/pdf":
        # Text-drawing operators of a simple PDF: enough for the emulator to retrieve the words it shows.
        found = re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", data)
        if found:
            return " ".join(part.decode("latin-1") for part in found)
    return f"({mime} document of {len(data)} bytes)"


def _add_document(
    state: EmulatorState, store: dict[str, Any], data: bytes, mime: str, display: str | None, body: dict[str, Any]
) -> tuple[str, str]:
    """Store a PENDING document and start its import operation; returns (document name, operation id)."""
    doc_name = f"{store['name']}/documents/{new_id(display or '')}"
    now = stamp()
    op_id = secrets.token_hex(8)
    doc: dict[str, Any] = {
        "name": doc_name,
        "displayName": display or doc_name.rsplit("/", 1)[-1],
        "state": "STATE_PENDING",
        "sizeBytes": str(len(data)),
        "mimeType": mime,
        "createTime": now,
        "updateTime": now,
        "_text": _text_of(data, mime),
        "_operation": "",
    }
    metadata = get(body, "custom_metadata")
    if metadata:
        if not isinstance(metadata, list) or len(metadata) > 20:
            raise validate.bad("custom_metadata: at most 20 entries are allowed.")
        doc["customMetadata"] = metadata
    state.resources[doc_name] = doc
    return doc_name, op_id


def _operation(name: str, job: dict[str, Any] | None, response_type: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"name": name, "done": bool(job and job["done"])}
    if job is None or not job["done"]:
        return answer
    if job["error"] is not None:
        answer["error"] = job["error"]
    else:
        answer["response"] = {"@type": response_type, "parent": job["store"], "documentName": job["document"]}
    return answer


async def import_file(request: Request) -> dict[str, Any]:
    state = _state(request)
    store = find_store(state, request.path_params["store_id"])
    body = await body_of(request)
    file_name = str(get(body, "file_name") or "")
    if not file_name:
        raise validate.bad("* ImportFileRequest.file_name: file_name is required")
    file_id = file_name.removeprefix("files/")
    entry = validate.known_file(state.files, file_id)
    meta = entry["meta"]
    doc_name, op_id = _add_document(state, store, entry["data"], meta["mimeType"], meta.get("displayName"), body)
    op_name = f"{store['name']}/operations/{op_id}"
    return _start(state, op_name, store["name"], doc_name, IMPORT_RESPONSE)


def _start(state: EmulatorState, op_name: str, store: str, doc_name: str, response_type: str) -> dict[str, Any]:
    state.resources[doc_name]["_operation"] = op_name
    state.add_operation(op_name, {"kind": "file_search_import", "store": store, "document": doc_name})
    return _operation(op_name, state.operation(op_name), response_type)


async def start_upload(request: Request) -> Response:
    refusal = files.check_resumable_start(request)
    if refusal is not None:
        return refusal
    state = _state(request)
    store = find_store(state, request.path_params["store_id"])
    body = await body_of(request)
    mime = request.headers.get("x-goog-upload-header-content-type") or get(body, "mime_type")
    if not mime:
        raise validate.bad("Unknown mime type: set X-Goog-Upload-Header-Content-Type or mimeType.")
    size = int(request.headers.get("x-goog-upload-header-content-length") or 0)
    display = get(body, "display_name")

    def finish(data: bytes) -> dict[str, Any]:
        if store["name"] not in state.resources:
            raise ApiError(404, f"FileSearchStore {store['name']} not found.", "NOT_FOUND")
        doc_name, op_id = _add_document(state, store, data, str(mime), display, body)
        op_name = f"{store['name']}/upload/operations/{op_id}"
        return _start(state, op_name, store["name"], doc_name, UPLOAD_RESPONSE)

    return files.start_session(state, request, {}, str(mime), size, finish=finish)


async def get_operation(request: Request) -> dict[str, Any]:
    state = _state(request)
    store = f"{STORES}/{request.path_params['store_id']}"
    upload = "/upload/operations/" in request.url.path
    name = f"{store}/{'upload/' if upload else ''}operations/{request.path_params['op']}"
    job = state.operation(name)
    if job is None:
        raise ApiError(404, f"Operation {name} not found.", "NOT_FOUND")
    doc = state.resources.get(job["document"])
    if doc is not None:
        _settle(state, doc)
    return _operation(name, job, UPLOAD_RESPONSE if upload else IMPORT_RESPONSE)


def _find_document(state: EmulatorState, request: Request) -> dict[str, Any]:
    store = find_store(state, request.path_params["store_id"])
    name = f"{store['name']}/documents/{request.path_params['doc_id']}"
    doc = state.resources.get(name)
    if doc is None:
        raise ApiError(404, f"Document {name} not found.", "NOT_FOUND")
    _settle(state, doc)
    return doc


async def list_documents(request: Request) -> dict[str, Any]:
    state = _state(request)
    store = find_store(state, request.path_params["store_id"])
    return page(request, _documents(state, store["name"]), "documents")


async def get_document(request: Request) -> dict[str, Any]:
    return public(_find_document(_state(request), request))


async def delete_document(request: Request) -> dict[str, Any]:
    state = _state(request)
    doc = _find_document(state, request)
    del state.resources[doc["name"]]
    return {}


# --- the fileSearch tool of generateContent ------------------------------------------------------------------
def _tool(ctx: RpcContext) -> dict[str, Any] | None:
    for tool in ctx.body.get("tools") or []:
        found = get(tool, "file_search")
        if found is not None:
            return dict(found)
    return None


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def retrieve(ctx: RpcContext, query: str) -> list[dict[str, Any]]:
    """The chunks the fileSearch tool of this request retrieves for `query` (checked as the API checks it):
    the best `topK` by words shared with the query, at most one per document, best first."""
    tool = _tool(ctx)
    if tool is None:
        return []
    names = get(tool, "file_search_store_names") or []
    if not isinstance(names, list) or not names:
        raise validate.bad("* GenerateContentRequest.tools[0].file_search.file_search_store_names: must not be empty")
    top_k = int(get(tool, "top_k") or DEFAULT_TOP_K)
    wanted = _words(query)
    scored: list[tuple[int, int, dict[str, Any]]] = []
    for store_name in names:
        store = find_store(ctx.state, str(store_name))
        for order, doc in enumerate(_documents(ctx.state, store["name"])):
            if doc["state"] != "STATE_ACTIVE":
                continue
            text: str = doc["_text"]
            chunks = [text[i : i + CHUNK_CHARS] for i in range(0, max(len(text), 1), CHUNK_CHARS)] or [text]
            best = max(chunks, key=lambda chunk: len(_words(chunk) & wanted))
            score = len(_words(best) & wanted)
            scored.append((score, -order, {"doc": doc, "store": store["name"], "text": best.strip()}))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    if scored and scored[0][0] > 0:
        scored = [item for item in scored if item[0] > 0]  # unrelated documents are not retrieved
    return [item[2] for item in scored[:top_k]]


def answer_lines(ctx: RpcContext, query: str) -> list[str]:
    return [f"From {hit['doc']['displayName']}: {_snippet(hit['text'])}" for hit in retrieve(ctx, query)]


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 160 else flat[:157] + "..."


def grounding(ctx: RpcContext, query: str, text: str) -> dict[str, Any] | None:
    """groundingMetadata citing each retrieved chunk on the answer line that quotes it."""
    hits = retrieve(ctx, query)
    if not hits:
        return None
    chunks = []
    supports = []
    data = text.encode()
    for index, hit in enumerate(hits):
        doc = hit["doc"]
        chunks.append(
            {
                "retrievedContext": {
                    "title": doc["displayName"],
                    "text": hit["text"],
                    "fileSearchStore": hit["store"],
                    "documentName": doc["name"],
                }
            }
        )
        line = f"From {doc['displayName']}: {_snippet(hit['text'])}"
        start = data.find(line.encode())
        if start >= 0:
            end = start + len(line.encode())
            supports.append(
                {
                    "segment": {"startIndex": start, "endIndex": end, "text": line},
                    "groundingChunkIndices": [index],
                    "confidenceScores": [0.9],
                }
            )
    return {"groundingChunks": chunks, "groundingSupports": supports}
