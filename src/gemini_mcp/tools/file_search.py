"""File Search: managed retrieval over your documents, with citations.

create_file_search_store / list_file_search_stores / delete_file_search_store manage stores;
add_to_file_search_store indexes documents into one (a job: Google chunks and embeds them, with progress);
list_file_search_documents / delete_file_search_document manage what is in a store; file_search answers a
question from one or more stores with [n] citation markers and `sources` naming the documents, like search_web.

Indexing is billed once (embedding tokens); storing and querying the index are free, and each answer carries
only the retrieved chunks instead of whole documents: for a corpus asked about many times, that is the saving.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, TextContent
from pydantic import Field

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini import file_search as fs
from gemini_mcp.gemini.generate import generate
from gemini_mcp.gemini.models import Task, pick
from gemini_mcp.gemini.request import SYSTEM_DESCRIPTION, SamplingFields, build_config, user_contents
from gemini_mcp.gemini.response import GenerationInfo
from gemini_mcp.media.inputs import MEDIA_ITEM_DESCRIPTION, MediaInput, load_media
from gemini_mcp.tools._knowledge import (
    CREATES,
    DELETES,
    DEVELOPER_API_HINT,
    GEMINI_ONLY,
    NEXT_PAGE,
    PAGE_TOKEN,
    READS,
    Deleted,
    page_text,
)

STORE_DESCRIPTION = "fileSearchStores/ID from create_file_search_store."
MAX_DOCUMENTS = 10


class StoreInfo(ToolOutput):
    name: Annotated[str, Field(description="fileSearchStores/ID: pass as `store` or in `stores`.")]
    display_name: str | None = None
    active_documents: Annotated[int, Field(description="Indexed, searchable documents.")] = 0
    pending_documents: Annotated[int, Field(description="Still being indexed.")] = 0
    failed_documents: int = 0
    size_bytes: int = 0


def _store(found: fs.Store) -> StoreInfo:
    return StoreInfo(
        name=found.name,
        display_name=found.display_name,
        active_documents=found.active_documents,
        pending_documents=found.pending_documents,
        failed_documents=found.failed_documents,
        size_bytes=found.size_bytes,
    )


def _store_line(store: StoreInfo) -> str:
    label = f" '{store.display_name}'" if store.display_name else ""
    pending = f", {store.pending_documents} indexing" if store.pending_documents else ""
    failed = f", {store.failed_documents} failed" if store.failed_documents else ""
    return f"{store.name}{label}: {store.active_documents} documents{pending}{failed}, {store.size_bytes} bytes"


class StoreOutput(ToolOutput):
    store: StoreInfo


# --- stores ------------------------------------------------------------------------------------------------
class CreateStoreInput(ToolInput):
    """Arguments of create_file_search_store."""

    display_name: Annotated[str | None, Field(max_length=512, description="A label, e.g. 'Product manuals'.")] = None


async def create_file_search_store(args: CreateStoreInput, call: Call) -> CallToolResult:
    store = _store(await fs.create_store(call, args.display_name))
    text = f"Created {store.name}. Add documents with add_to_file_search_store(store='{store.name}', documents=[…])."
    return structured_result(StoreOutput(store=store), text=text)


class ListStoresInput(ToolInput):
    """Arguments of list_file_search_stores."""

    page_size: Annotated[int, Field(ge=1, le=20, description="Items per page (max 20).")] = 10
    page_token: Annotated[str | None, Field(description=PAGE_TOKEN)] = None


class ListStoresOutput(ToolOutput):
    stores: list[StoreInfo]
    next_page_token: Annotated[str | None, Field(description=NEXT_PAGE)] = None


async def list_file_search_stores(args: ListStoresInput, call: Call) -> CallToolResult:
    found, token = await fs.list_stores(call, args.page_size, args.page_token)
    output = ListStoresOutput(stores=[_store(store) for store in found], next_page_token=token)
    return structured_result(output, text=page_text([_store_line(s) for s in output.stores], token, "No stores."))


class DeleteStoreInput(ToolInput):
    """Arguments of delete_file_search_store."""

    name: Annotated[str, Field(min_length=1, description=STORE_DESCRIPTION)]
    force: Annotated[bool, Field(description="Also delete its documents (else it must be empty).")] = False


async def delete_file_search_store(args: DeleteStoreInput, call: Call) -> CallToolResult:
    name = fs.store_name(args.name, "name")
    await fs.delete_store(call, name, force=args.force, field="name")
    return structured_result(Deleted(deleted=name), text=f"Deleted {name}.")


# --- documents ---------------------------------------------------------------------------------------------
class DocumentInfo(ToolOutput):
    name: Annotated[str, Field(description="Pass to delete_file_search_document.")]
    display_name: str | None = None
    state: Annotated[str, Field(description="PENDING (indexing), ACTIVE or FAILED.")]
    size_bytes: int | None = None
    mime_type: str | None = None


class ListDocumentsInput(ToolInput):
    """Arguments of list_file_search_documents."""

    store: Annotated[str, Field(min_length=1, description=STORE_DESCRIPTION)]
    page_size: Annotated[int, Field(ge=1, le=20, description="Items per page (max 20).")] = 20
    page_token: Annotated[str | None, Field(description=PAGE_TOKEN)] = None


class ListDocumentsOutput(ToolOutput):
    documents: list[DocumentInfo]
    next_page_token: Annotated[str | None, Field(description=NEXT_PAGE)] = None


async def list_file_search_documents(args: ListDocumentsInput, call: Call) -> CallToolResult:
    store = fs.store_name(args.store, "store")
    found, token = await fs.list_documents(call, store, args.page_size, args.page_token, "store")
    documents = [
        DocumentInfo(
            name=d.name, display_name=d.display_name, state=d.state, size_bytes=d.size_bytes, mime_type=d.mime_type
        )
        for d in found
    ]
    output = ListDocumentsOutput(documents=documents, next_page_token=token)
    lines = [
        f"{d.name} '{d.display_name or ''}' {d.state} {d.mime_type or ''} {d.size_bytes or 0} B" for d in documents
    ]
    return structured_result(output, text=page_text(lines, token, f"{store} has no documents."))


class DeleteDocumentInput(ToolInput):
    """Arguments of delete_file_search_document."""

    name: Annotated[str, Field(min_length=1, description="fileSearchStores/ID/documents/DOC.")]


async def delete_file_search_document(args: DeleteDocumentInput, call: Call) -> CallToolResult:
    name = fs.document_name(args.name, "name")
    await fs.delete_document(call, name, "name")
    return structured_result(Deleted(deleted=name), text=f"Deleted {name} and its chunks.")


# --- add_to_file_search_store: the import job ----------------------------------------------------------------
class AddDocumentsInput(ToolInput):
    """Arguments of add_to_file_search_store."""

    store: Annotated[str, Field(min_length=1, description=STORE_DESCRIPTION)]
    documents: Annotated[
        list[MediaInput],
        Field(min_length=1, max_length=MAX_DOCUMENTS, description=f"PDFs, text, code, docs: {MEDIA_ITEM_DESCRIPTION}"),
    ]
    wait: Annotated[bool, Field(description="false: answer with a job_id at once; collect with get_job.")] = True


class Indexed(ToolOutput):
    document: Annotated[str | None, Field(description="The document's name in the store.")] = None
    state: Annotated[Literal["ACTIVE", "FAILED"], Field(description="ACTIVE: searchable now.")]
    error: str | None = None


class AddDocumentsOutput(JobOutput, ToolOutput):
    store: str
    documents: Annotated[list[Indexed] | None, Field(description="One per document, in order (when done).")] = None
    indexed: Annotated[int | None, Field(description="Documents now searchable.")] = None
    failed: int | None = None


async def add_to_file_search_store(args: AddDocumentsInput, call: Call) -> Started:
    store = fs.store_name(args.store, "store")
    # Every document is loaded (and checked) before the first import starts: a bad one refuses them all.
    loaded = [await load_media(item, call, field=f"documents[{i}]") for i, item in enumerate(args.documents)]
    operations = []
    for index, media in enumerate(loaded):
        field = f"documents[{index}]"
        operations.append(await fs.start_import(call, store, media, None, field=field, store_field="store"))
    states = [fs.Imported(op, False) for op in operations]
    state = JobState(done=False, percent=0.0, upstream=states)
    return Started(operations[0], state, {"ops": operations, "s": store}, wait=args.wait)


def _operations(ref: JobRef) -> list[str]:
    found = ref.options.get("ops")
    if isinstance(found, list) and all(isinstance(op, str) for op in found) and found:
        return found
    return [ref.upstream]


async def _poll_import(ref: JobRef, call: Call) -> JobState:
    states = [await fs.import_state(call, op) for op in _operations(ref)]
    done = sum(1 for state in states if state.done)
    return JobState(done=done == len(states), percent=100.0 * done / len(states), upstream=states)


def _import_running(ref: JobRef, state: JobState, call: Call) -> AddDocumentsOutput:
    return AddDocumentsOutput(
        job_id=ref.id, status="running", store=str(ref.options.get("s") or ""), progress_percent=state.percent
    )


async def _import_done(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    states: list[fs.Imported] = list(state.upstream or [])
    store = str(ref.options.get("s") or "")
    documents = [Indexed(document=s.document, state="FAILED" if s.error else "ACTIVE", error=s.error) for s in states]
    failed = [d for d in documents if d.state == "FAILED"]
    if failed and len(failed) == len(documents):
        call.resume_hint = None
        raise GeminiCallError(
            f"File Search could not index the documents into {store}: {failed[0].error}. Check that each file opens "
            "and is a supported type (PDF, text, code, Office documents), then add it again"
        )
    output = AddDocumentsOutput(
        status="done",
        store=store,
        documents=documents,
        indexed=len(documents) - len(failed),
        failed=len(failed),
    )
    lines = [f"{d.document}: {d.state}" + (f" ({d.error})" if d.error else "") for d in documents]
    text = (
        f"Indexed {output.indexed} of {len(documents)} documents into {store}: ask with "
        f"file_search(stores=['{store}'], question=…).\n" + "\n".join(lines)
    )
    return structured_result(output, [TextContent(type="text", text=text)])


IMPORT = JobKind(
    name="file_search_import",
    title="File Search",
    noun="index of the documents",
    label="File Search import",
    poll=_poll_import,
    deliver=_import_done,
    running=_import_running,
    cancel=None,  # the API cannot stop an import: delete the document afterwards
    messages=(
        "File Search is reading the documents…",
        "Splitting the documents into chunks…",
        "Embedding the chunks for retrieval…",
    ),
    deadline_setting="GEMINI_MCP_IMPORT_DEADLINE",
    deadline=lambda settings: settings.import_deadline_s,
    poll_interval=lambda settings: settings.import_poll_s,
    done_message="File Search finished indexing",
    started_message="File Search started indexing the documents",
    expected_s=30.0,
    kept_s=24 * 3600,
)


# --- file_search: the answer -------------------------------------------------------------------------------
class FileSearchInput(ToolInput, SamplingFields):
    """Arguments of file_search."""

    question: Annotated[str, Field(min_length=1, description="What to answer from the documents.")]
    stores: Annotated[list[str], Field(min_length=1, max_length=5, description="Store names to search.")]
    model: Annotated[str | None, Field(description="flash (default), pro, or a model id.")] = None
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None
    top_k: Annotated[int | None, Field(ge=1, le=20, description="Chunks to retrieve.")] = None
    metadata_filter: Annotated[str | None, Field(description="E.g. 'author = \"Ada\"' (documents' metadata).")] = None
    citations: Annotated[bool, Field(description="Add [n] markers after supported sentences.")] = True


class Citation(ToolOutput):
    index: Annotated[int, Field(description="The n of the [n] citation markers.")]
    title: Annotated[str | None, Field(description="The document's display name.")] = None
    document: Annotated[str | None, Field(description="The document's name in its store.")] = None
    store: str | None = None
    text: Annotated[str | None, Field(description="The retrieved chunk.")] = None


class FileSearchOutput(ToolOutput, GenerationInfo):
    text: Annotated[str, Field(description="The grounded answer, with [n] citation markers when asked.")]
    sources: Annotated[list[Citation], Field(description="The chunks the answer is grounded in.")]


async def file_search(args: FileSearchInput, call: Call) -> CallToolResult:
    stores = [fs.store_name(name, f"stores[{i}]") for i, name in enumerate(args.stores)]
    for index, name in enumerate(stores):
        found = await fs.get_store(call, name, f"stores[{index}]")
        if found.active_documents == 0:
            waiting = f" ({found.pending_documents} still indexing)" if found.pending_documents else ""
            call.notes.append(f"{name} has no searchable documents yet{waiting}")
    call.model = model = pick(call, args.model, Task.TEXT).model
    tools = fs.file_search_tools(stores, args.top_k, args.metadata_filter)
    config = build_config(args, model, call.notes, tools=tools)
    answer = await generate(call, model, await user_contents(args.question, None, call), config)
    text = answer.require_text()
    sources: list[Citation] = []
    if answer.grounding is not None:
        sources = [
            Citation(index=n, title=s.title, document=s.document, store=s.store, text=s.text)
            for n, s in enumerate(answer.grounding.sources, start=1)
        ]
        if args.citations:
            text = answer.grounding.cite(text)
    else:
        call.notes.append("Gemini answered without retrieving from the stores: the answer has no sources")
    output = FileSearchOutput(text=text, sources=sources, **answer.info(model, call.notes).model_dump())
    listing = "\n".join(f"[{s.index}] {s.title or s.document or ''}".rstrip() for s in sources)
    return structured_result(output, text=f"{text}\n\nSources:\n{listing}" if listing else text)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        opt_in=True,
        name="create_file_search_store",
        title="Create a File Search store",
        description=(
            "Create a store for documents that file_search answers from (managed retrieval: Google chunks, embeds "
            "and searches them). Storage and queries are free; indexing is billed once per document."
        ),
        input_model=CreateStoreInput,
        output_model=StoreOutput,
        handler=create_file_search_store,
        annotations=CREATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="list_file_search_stores",
        title="List File Search stores",
        description="List File Search stores with their document counts and size, paged.",
        input_model=ListStoresInput,
        output_model=ListStoresOutput,
        handler=list_file_search_stores,
        annotations=READS,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="delete_file_search_store",
        title="Delete a File Search store",
        description="Delete a File Search store; force=true also deletes the documents in it.",
        input_model=DeleteStoreInput,
        output_model=Deleted,
        handler=delete_file_search_store,
        annotations=DELETES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="add_to_file_search_store",
        title="Add documents to a File Search store",
        description=(
            f"Index up to {MAX_DOCUMENTS} documents (path, url, base64, or a Files API file_uri) into a store so "
            "file_search can cite them. Runs as a job with progress (seconds to minutes); wait=false returns a "
            "job_id for get_job. Returns each document's name and state."
        ),
        input_model=AddDocumentsInput,
        output_model=AddDocumentsOutput,
        handler=add_to_file_search_store,
        annotations=CREATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
        job=IMPORT,
    ),
    ToolSpec(
        opt_in=True,
        name="list_file_search_documents",
        title="List the documents of a File Search store",
        description="List a store's documents (name, state, type, size), paged.",
        input_model=ListDocumentsInput,
        output_model=ListDocumentsOutput,
        handler=list_file_search_documents,
        annotations=READS,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="delete_file_search_document",
        title="Delete a document from a File Search store",
        description="Delete one document, and its chunks, from its store.",
        input_model=DeleteDocumentInput,
        output_model=Deleted,
        handler=delete_file_search_document,
        annotations=DELETES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
    ToolSpec(
        opt_in=True,
        name="file_search",
        title="Answer from your documents (File Search)",
        description=(
            "Answer a question from the documents in File Search stores: retrieval plus generation in one call, "
            "sending only the relevant chunks instead of whole documents. Returns the answer with [n] citation "
            "markers and `sources` (document, store, chunk text) in structured content."
        ),
        input_model=FileSearchInput,
        output_model=FileSearchOutput,
        handler=file_search,
        annotations=READS.model_copy(update={"idempotent_hint": False}),
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
    ),
]
