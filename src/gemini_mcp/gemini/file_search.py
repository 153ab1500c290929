"""File Search: stores of documents Google chunks and indexes, imports into them (long-running operations),
and the `file_search` tool that grounds an answer in them.

A document comes from bytes (uploaded straight into the store: `upload_to_file_search_store`) or from a Files
API file (`import_file`); either way the API answers with an operation to poll until the document is indexed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import UserInputError
from gemini_mcp.gemini.files import file_name, missing
from gemini_mcp.media.inputs import LoadedMedia

if TYPE_CHECKING:
    from google.genai import types

    from gemini_mcp.gemini.context import GeminiCall

STORES = "fileSearchStores/"
STORE_FIX = "create_file_search_store makes one; list_file_search_stores shows those that exist"
DOCUMENT_FIX = "list_file_search_documents shows the documents of a store"


@dataclass(frozen=True)
class Store:
    name: str
    display_name: str | None
    active_documents: int
    pending_documents: int
    failed_documents: int
    size_bytes: int
    created: str | None


@dataclass(frozen=True)
class Document:
    name: str
    display_name: str | None
    state: str
    size_bytes: int | None
    mime_type: str | None
    created: str | None


@dataclass(frozen=True)
class Imported:
    """What one import operation says now."""

    operation: str
    done: bool
    document: str | None = None
    error: str | None = None


def store_name(value: str, field: str) -> str:
    """'fileSearchStores/ID' from a store's name or ID."""
    text = value.strip()
    ident = text.removeprefix(STORES)
    if not ident or "/" in ident or " " in ident:
        raise UserInputError(f"{field}: '{value}' is not a File Search store name; {STORE_FIX}")
    return STORES + ident


def document_name(value: str, field: str) -> str:
    """'fileSearchStores/ID/documents/DOC' as list_file_search_documents returns it."""
    text = value.strip()
    parts = text.split("/")
    if len(parts) != 4 or parts[0] != STORES.rstrip("/") or parts[2] != "documents" or not parts[1] or not parts[3]:
        raise UserInputError(
            f"{field}: '{value}' is not a document name (fileSearchStores/STORE/documents/DOC); {DOCUMENT_FIX}"
        )
    return text


def _stamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _name_of(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _store(found: types.FileSearchStore) -> Store:
    return Store(
        name=found.name or "",
        display_name=found.display_name,
        active_documents=found.active_documents_count or 0,
        pending_documents=found.pending_documents_count or 0,
        failed_documents=found.failed_documents_count or 0,
        size_bytes=found.size_bytes or 0,
        created=_stamp(found.create_time),
    )


def _document(found: types.Document) -> Document:
    return Document(
        name=found.name or "",
        display_name=found.display_name,
        state=_name_of(found.state).removeprefix("STATE_") or "UNSPECIFIED",
        size_bytes=found.size_bytes,
        mime_type=found.mime_type,
        created=_stamp(found.create_time),
    )


def _reraise(exc: Exception, field: str, what: str, fix: str) -> None:
    problem = missing(exc, field, what, fix)
    if problem is not None:
        raise problem from None


async def create_store(call: GeminiCall, display_name: str | None) -> Store:
    from google.genai import types

    client = await call.client()
    config = types.CreateFileSearchStoreConfig(display_name=display_name) if display_name else None
    return _store(await client.aio.file_search_stores.create(config=config))


async def list_stores(call: GeminiCall, page_size: int, page_token: str | None) -> tuple[list[Store], str | None]:
    client = await call.client()
    pager = await client.aio.file_search_stores.list(config={"page_size": page_size, "page_token": page_token})
    return [_store(found) for found in pager.page], pager.config.get("page_token") or None


async def get_store(call: GeminiCall, name: str, field: str) -> Store:
    client = await call.client()
    try:
        return _store(await client.aio.file_search_stores.get(name=name))
    except Exception as exc:
        _reraise(exc, field, f"store {name}", STORE_FIX)
        raise


async def delete_store(call: GeminiCall, name: str, *, force: bool, field: str) -> None:
    from google.genai import errors as genai_errors

    client = await call.client()
    try:
        await client.aio.file_search_stores.delete(name=name, config={"force": force})
    except genai_errors.APIError as exc:
        if exc.code == 400 and not force:
            raise UserInputError(
                f"force: store {name} still has documents; set force=true to delete it with them "
                "(or delete them first with delete_file_search_document)"
            ) from None
        _reraise(exc, field, f"store {name}", STORE_FIX)
        raise


async def list_documents(
    call: GeminiCall, store: str, page_size: int, page_token: str | None, field: str
) -> tuple[list[Document], str | None]:
    client = await call.client()
    try:
        pager = await client.aio.file_search_stores.documents.list(
            parent=store, config={"page_size": page_size, "page_token": page_token}
        )
    except Exception as exc:
        _reraise(exc, field, f"store {store}", STORE_FIX)
        raise
    return [_document(found) for found in pager.page], pager.config.get("page_token") or None


async def delete_document(call: GeminiCall, name: str, field: str) -> None:
    client = await call.client()
    try:
        await client.aio.file_search_stores.documents.delete(name=name, config={"force": True})
    except Exception as exc:
        _reraise(exc, field, f"document {name}", DOCUMENT_FIX)
        raise


async def start_import(
    call: GeminiCall, store: str, media: LoadedMedia, display_name: str | None, *, field: str, store_field: str
) -> str:
    """Start indexing one document into `store`; returns the operation's name."""
    from google.genai import types

    client = await call.client()
    stores = client.aio.file_search_stores
    try:
        if media.data is None:  # a Files API file (file_name refuses YouTube and gs:// URIs)
            source = file_name(media.uri or "", f"{field}.file_uri")
            operation: Any = await stores.import_file(file_search_store_name=store, file_name=source)
        else:
            config = types.UploadToFileSearchStoreConfig(
                mime_type=media.mime_type, display_name=(display_name or media.name)[:512]
            )
            operation = await stores.upload_to_file_search_store(
                file_search_store_name=store, file=io.BytesIO(media.data), config=config
            )
    except UserInputError:
        raise
    except Exception as exc:
        if media.data is None:  # the Files API file, or the store, is not there: say which could be
            _reraise(exc, field, f"file {media.uri} or store {store}", f"{STORE_FIX}; files are kept 48 hours")
        _reraise(exc, store_field, f"store {store}", STORE_FIX)
        raise
    return str(operation.name or "")


async def import_state(call: GeminiCall, operation: str) -> Imported:
    from google.genai import types

    client = await call.client()
    kind: Any = (
        types.UploadToFileSearchStoreOperation if "/upload/operations/" in operation else types.ImportFileOperation
    )
    found = await client.aio.operations.get(kind(name=operation))
    if found.error:
        message = found.error.get("message") if isinstance(found.error, dict) else str(found.error)
        return Imported(operation, True, error=str(message or "no reason given"))
    document = found.response.document_name if found.response is not None else None
    return Imported(operation, bool(found.done), document=document)


def file_search_tools(stores: list[str], top_k: int | None, metadata_filter: str | None) -> list[types.Tool]:
    from google.genai import types

    search = types.FileSearch(file_search_store_names=stores, top_k=top_k, metadata_filter=metadata_filter)
    return [types.Tool(file_search=search)]


def store_problem(exc: BaseException, field: str) -> UserInputError | None:
    """The UserInputError for a generation whose File Search stores do not (all) exist."""
    return missing(exc, field, "one of these stores", STORE_FIX)
