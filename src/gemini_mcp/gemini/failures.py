"""Turn failures of the google-genai SDK, the network and this machine into the error taxonomy, redacted.

An SDK or network failure becomes a `GeminiCallError`; a disk or file-system failure a
`LocalEnvironmentError` naming the setting whose folder it was (`errors.py` has the taxonomy).

Only `code`, `status` and `message` of an SDK error are ever read: the error object also carries the
request (whose headers hold the API key), so it is never serialised whole.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import ssl
from collections.abc import Iterable, Sequence
from pathlib import Path

from gemini_mcp.errors import (
    TRANSIENT_CODES,
    CreateMayHaveStarted,
    GeminiCallError,
    GeminiMcpError,
    LocalEnvironmentError,
    NotAnApiAnswer,
    redact,
)
from gemini_mcp.gemini.models import alias_table, successor_hint

BASE_URL_SETTINGS = "GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL"

# Failures of this machine's disk and file system, whatever the path: never a network problem.
_LOCAL_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.EFBIG, errno.EMFILE, errno.ENFILE}
)
_LOCAL_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.ENAMETOOLONG: "the file name is too long for the file system",
    errno.EFBIG: "the file is too large for the file system",
    errno.EMFILE: "too many files are open in this process",
    errno.ENFILE: "too many files are open on this machine",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "it already exists",
}
# Where the Live API's connection code runs: an OSError raised there is about the WebSocket, not the disk.
_LIVE_MODULES = ("websockets", "google.genai.live", "gemini_mcp.gemini.live")


def describe_failure(
    exc: BaseException,
    *,
    model: str | None,
    key_variable: str | None,
    secrets: Iterable[str] = (),
    attempts: int = 1,
    folders: Sequence[tuple[str, Path]] = (),
) -> GeminiMcpError | None:
    """Map an exception raised by the SDK (or its HTTP layer, or the local file system) to the taxonomy: a
    GeminiCallError, or a LocalEnvironmentError for this machine's disk; None if unknown (a bug of ours).

    `attempts` is how many times the failing request was sent (counted by the transport). `folders` pairs
    each setting that names a local path with that path (`("GEMINI_MCP_OUTPUT_DIR", Path(...))`), so a
    local error can name the setting to change.
    """
    from google.genai import errors as genai_errors  # the SDK is loaded by now: a call just failed

    secrets = list(secrets)
    tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, (CreateMayHaveStarted, NotAnApiAnswer)):
        return GeminiCallError(redact(str(exc), secrets))
    if isinstance(exc, genai_errors.APIError):
        message = _describe_api_error(exc.code, exc.status, _upstream_message(exc.message), model, key_variable)
        if exc.code in TRANSIENT_CODES:
            message += tries
        return GeminiCallError(redact(message, secrets), code=exc.code, status=exc.status)
    interaction = _describe_interactions_error(exc, model, key_variable, tries)
    if interaction is not None:
        return GeminiCallError(redact(interaction[0], secrets), code=interaction[1], status=interaction[2])
    if isinstance(exc, (genai_errors.UnknownApiResponseError, json.JSONDecodeError)) and _raised_in(
        exc, ("google.genai",)
    ):
        return GeminiCallError(
            f"The Gemini API's answer was not valid JSON ({type(exc).__name__}): something between this server "
            f"and Google changed or cut it (a proxy, a firewall), or {BASE_URL_SETTINGS} points at a server that "
            "is not the Gemini API. Check those settings and the network; unset them to use Google's address"
        )
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith(("httpx", "httpx2", "aiohttp", "httpcore")) or isinstance(exc, TimeoutError):
        return GeminiCallError(redact(_describe_http_failure(exc, name, tries), secrets))
    if module.startswith("websockets") or (_raised_in(exc, _LIVE_MODULES) and not _is_local(exc)):
        return GeminiCallError(
            redact(
                f"Could not keep a Live API connection open ({name}: {exc}): check the network; behind a "
                "TLS-inspecting proxy (or with the emulator), set GEMINI_MCP_CA_FILE to its CA certificate",
                secrets,
            )
        )
    if isinstance(exc, ssl.SSLError):
        return GeminiCallError(
            redact(
                f"A TLS connection to Google failed ({name}: {exc}): behind a TLS-inspecting proxy, set "
                "GEMINI_MCP_CA_FILE to the proxy's CA certificate; otherwise check the machine's clock and network",
                secrets,
            )
        )
    if isinstance(exc, OSError):
        if _is_local(exc):
            return _describe_local_failure(exc, folders, secrets)
        return GeminiCallError(
            redact(f"A network error on the way to Google ({name}: {exc}): check the network and retry", secrets)
        )
    return None


def _describe_interactions_error(
    exc: BaseException, model: str | None, key_variable: str | None, tries: str
) -> tuple[str, int | None, str | None] | None:
    """The Interactions API client's own errors (`google.genai._interactions_errors`, not `errors.APIError`):
    (message, code, status), or None for another exception. Only the status and the body's `error` are read:
    the exception also holds the request, whose headers carry the key."""
    from google.genai import _interactions_errors as errors

    if not isinstance(exc, errors.APIError):
        return None
    if isinstance(exc, errors.APIResponseValidationError):
        return (
            f"The Gemini API's answer did not have the interaction's shape ({type(exc).__name__}): something "
            f"between this server and Google changed it, or {BASE_URL_SETTINGS} points at a server that is not the "
            "Gemini API. Check those settings and the network; unset them to use Google's address",
            None,
            None,
        )
    if isinstance(exc, errors.APIStatusError) or exc.status_code is not None:
        code = exc.status_code or 500
        body = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else {}
        body = body if isinstance(body, dict) else {}
        status = str(body.get("status") or "") or None
        message = str(body.get("message") or (exc.body if isinstance(exc.body, str) else ""))
        text = _describe_api_error(code, status, _upstream_message(message), model, key_variable)
        return (text + tries if code in TRANSIENT_CODES else text), code, status
    cause = exc.__cause__  # a connection failure or timeout: the httpx error it wraps says which
    if cause is not None and type(cause).__module__.startswith(("httpx", "httpx2", "httpcore")):
        return _describe_http_failure(cause, type(cause).__name__, tries), None, None
    if isinstance(exc, errors.APITimeoutError):
        return _describe_http_failure(TimeoutError(), "Timeout", tries), None, None
    return _describe_http_failure(exc, type(exc).__name__, tries), None, None


def _describe_http_failure(exc: BaseException, name: str, tries: str) -> str:
    if name in ("ConnectError", "ConnectTimeout", "PoolTimeout"):
        tls = isinstance(exc.__cause__ or exc.__context__, ssl.SSLError) or "certificate" in str(exc).lower()
        fix = (
            "behind a TLS-inspecting proxy (or with the emulator over TLS), set GEMINI_MCP_CA_FILE to its CA "
            "certificate"
            if tls
            else f"check the network and, if set, {BASE_URL_SETTINGS}"
        )
        return (
            f"Could not connect to the Gemini API ({name}){tries}. The request never left this machine, so nothing "
            f"was started or billed: {fix}"
        )
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return (
            f"Gemini did not answer in time (request timeout, setting GEMINI_MCP_TIMEOUT){tries}. The "
            "service may be busy: try again, or raise GEMINI_MCP_TIMEOUT for long generations"
        )
    if "Protocol" in name or "Decoding" in name or "ReadError" in name:
        if _was_streamed(exc):
            return (
                f"The connection to the Gemini API broke off while the answer was streaming ({name}); a streamed "
                "answer is not asked for again once it has begun: call the tool again; if it keeps happening, "
                f"check proxies between this server and {BASE_URL_SETTINGS}"
            )
        return (
            f"The connection to the Gemini API broke off mid-answer ({name}){tries}: retry the call; if it "
            f"keeps happening, check proxies between this server and {BASE_URL_SETTINGS}"
        )
    return f"Could not reach the Gemini API ({name}){tries}: check the network and, if set, {BASE_URL_SETTINGS}"


def _describe_local_failure(
    exc: OSError, folders: Sequence[tuple[str, Path]], secrets: Iterable[str]
) -> LocalEnvironmentError:
    # `filename` may be a file descriptor (an int) for errors on an already opened file.
    path = os.fsdecode(exc.filename) if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
    reason = _LOCAL_REASONS.get(exc.errno or 0) or exc.strerror or "a system error"
    where = f"could not use {path}" if path else "a file operation failed"
    setting, folder = _setting_for(path, folders) if path else (None, None)
    if setting is None or folder is None:
        fix = "check the path, its permissions and the free disk space"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = f"free space in {folder}, or point {setting} at a disk with room"
    elif exc.errno == errno.ENAMETOOLONG:
        fix = f"point {setting} at a folder with a shorter path"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENOENT):
        fix = f"point {setting} at a folder (it is created when missing), or move what is in the way"
    elif exc.errno in (errno.EMFILE, errno.ENFILE):
        fix = "raise the open-file limit (ulimit -n) or run fewer calls at once (GEMINI_MCP_MAX_CONCURRENCY)"
    else:
        fix = f"make {folder} writable by the user running this server, or point {setting} at a folder that is"
    return LocalEnvironmentError.on_this_machine(f"{where} ({reason}; {type(exc).__name__})", fix, secrets)


def _setting_for(path: str, folders: Sequence[tuple[str, Path]]) -> tuple[str | None, Path | None]:
    target = Path(os.path.abspath(os.path.expanduser(path)))
    for setting, folder in folders:
        base = Path(os.path.abspath(os.path.expanduser(folder)))
        if target == base or base in target.parents:
            return setting, base
    return None, None


def _is_local(exc: BaseException) -> bool:
    """A disk or file-system failure (it names a file, or is one only file systems raise)."""
    if not isinstance(exc, OSError) or isinstance(exc, (ConnectionError, ssl.SSLError, socket.gaierror)):
        return False
    return exc.filename is not None or exc.errno in _LOCAL_ERRNOS


def _raised_in(exc: BaseException, modules: tuple[str, ...]) -> bool:
    """Whether `exc` passed through code of one of `modules` (its traceback, or that of its cause)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        tb = seen.__traceback__
        while tb is not None:
            if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(modules):
                return True
            tb = tb.tb_next
        seen = seen.__cause__ or seen.__context__
    return False


def _was_streamed(exc: BaseException) -> bool:
    try:
        request = exc.request  # type: ignore[attr-defined]  # httpx exceptions know their request
    except (AttributeError, RuntimeError):
        return False
    url = getattr(request, "url", None)
    return url is not None and (url.params.get("alt") == "sse" or ":stream" in url.path)


def _upstream_message(message: str | None) -> str:
    """The API's own message, unless a proxy's HTML error page stands in for it (kept out of the context)."""
    text = (message or "").strip()
    if not text.startswith("<"):
        return text
    title = re.search(r"<title[^>]*>([^<]{1,120})</title>", text, re.IGNORECASE)
    page = f" titled '{title.group(1).strip()}'" if title else ""
    return (
        f"an HTML page{page} instead of an API error: a proxy or gateway answered, not the Gemini API (check the "
        f"network, proxies and {BASE_URL_SETTINGS})"
    )


WEBSOCKET_CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1006: "connection lost",
    1007: "invalid request payload",
    1008: "policy violation: unknown model or refused setting",
    1011: "internal error on Google's side",
}


def _describe_api_error(
    code: int, status: str | None, message: str, model: str | None, key_variable: str | None
) -> str:
    upstream = f"Gemini API error {code} {status or ''}".strip() + f": {message.strip() or 'no message'}"
    key_name = key_variable or "GEMINI_API_KEY"
    if 1000 <= code < 5000:  # a WebSocket close code: the Live API ended the session
        meaning = WEBSOCKET_CLOSE_CODES.get(code, "the session ended")
        return f"The Live API closed the connection ({code}: {meaning}): {message.strip() or 'no reason given'}. " + (
            "Check the model (a Live model such as 'native audio') and the settings sent"
            if code in (1007, 1008)
            else "Start again; sessions also end at the API's 15-minute limit"
        )
    if code == 400 and "api key not valid" in message.lower():
        return f"{upstream}. The API key in {key_name} was rejected: set a valid key and restart the server"
    if code in (401, 403):
        return (
            f"{upstream}. The credentials (API key in {key_name}, or Vertex credentials) are missing, "
            "invalid or lack permission for this model/API: check the key, its project, and that the API "
            "is enabled for it"
        )
    if code == 404 and "requested entity was not found" in message.lower():
        return (
            f"{upstream}. The key's project cannot use this model (common for Veo and Imagen): use a key "
            "from a billing-enabled project (https://ai.google.dev/gemini-api/docs/billing)"
        )
    if code == 404:
        aliases = ", ".join(f"'{alias}'" for alias, _ in alias_table()[:12])
        which = f"model '{model}'" if model else "the model"
        return (
            f"{upstream}. Check {which}{successor_hint(model)}: call list_models for the models this key can "
            f"use, or use an alias such as {aliases}"
        )
    if code == 429:
        return (
            f"{upstream}. The quota or rate limit was hit: wait a minute and retry, or raise the project's "
            "limits (https://ai.google.dev/gemini-api/docs/rate-limits)"
        )
    if code >= 500:
        return f"{upstream}. The Gemini service had a problem: retry shortly"
    return upstream
