"""Turn failures of the google-genai SDK into messages a user can act on, with secrets redacted.

Only `code`, `status` and `message` of an SDK error are ever read: the error object also carries the
request (whose headers hold the API key), so it is never serialised whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gemini_mcp.gemini.models import alias_table

_KEY_QUERY = re.compile(r"([?&](?:key|api_key|access_token)=)[^&\s\"']+", re.IGNORECASE)
# Shapes of Google API keys and OAuth tokens, redacted even when we were not told the value.
_KEY_SHAPES = re.compile(r"AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-.]+")
REDACTED = "[REDACTED]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret, `key=` query value and API-key-shaped token from `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _KEY_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _KEY_SHAPES.sub(REDACTED, text)


class UserInputError(Exception):
    """Bad input a tool found after schema validation; the message names the field and the fix."""


class BackendUnsupported(Exception):
    """The configured backend cannot serve this tool; the message says how to switch."""


class GeminiCallError(Exception):
    """A Gemini call failed; `str()` is the user-facing message (already redacted)."""

    def __init__(self, message: str, *, code: int | None = None, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


# Retried by the SDK (client.retry_options), reported by the transport, and named in errors: one list for all three.
TRANSIENT_CODES = frozenset({408, 429, 500, 502, 503, 504})


def describe_failure(
    exc: BaseException,
    *,
    model: str | None,
    key_variable: str | None,
    secrets: Iterable[str] = (),
    attempts: int = 1,
) -> GeminiCallError | None:
    """Map an exception raised by the SDK (or its HTTP layer) to a GeminiCallError, or None if unknown.

    `attempts` is how many tries transient failures get (retries happen below, in the client).
    """
    from google.genai import errors as genai_errors  # the SDK is loaded by now: a call just failed

    tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
    if isinstance(exc, genai_errors.APIError):
        message = _describe_api_error(exc.code, exc.status, exc.message or "", model, key_variable)
        if exc.code in TRANSIENT_CODES:
            message += tries
        return GeminiCallError(redact(message, secrets), code=exc.code, status=exc.status)
    name = type(exc).__name__
    module = type(exc).__module__
    if module.startswith(("httpx", "httpx2", "aiohttp", "httpcore")) or isinstance(exc, TimeoutError):
        if "Timeout" in name or isinstance(exc, TimeoutError):
            return GeminiCallError(
                f"Gemini did not answer in time (request timeout, setting GEMINI_MCP_TIMEOUT){tries}. The "
                "service may be busy: try again, or raise GEMINI_MCP_TIMEOUT for long generations"
            )
        if "Protocol" in name or "Decoding" in name or "ReadError" in name:
            return GeminiCallError(
                f"The connection to the Gemini API broke off mid-answer ({name}){tries}: retry the call; if it "
                "keeps happening, check proxies between this server and GOOGLE_GEMINI_BASE_URL / "
                "GOOGLE_VERTEX_BASE_URL"
            )
        return GeminiCallError(
            redact(
                f"Could not reach the Gemini API ({name}){tries}: check the network and, if set, "
                "GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL",
                secrets,
            )
        )
    if module.startswith("websockets") or isinstance(exc, OSError):  # the Live API's WebSocket (OSError: TLS too)
        return GeminiCallError(
            redact(
                f"Could not keep a Live API connection open ({name}: {exc}): check the network; behind a "
                "TLS-inspecting proxy (or with the emulator), set GEMINI_MCP_CA_FILE to its CA certificate",
                secrets,
            )
        )
    return None


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
            f"{upstream}. Check {which}: call list_models for the models this key can use, or use an "
            f"alias such as {aliases}"
        )
    if code == 429:
        return (
            f"{upstream}. The quota or rate limit was hit: wait a minute and retry, or raise the project's "
            "limits (https://ai.google.dev/gemini-api/docs/rate-limits)"
        )
    if code >= 500:
        return f"{upstream}. The Gemini service had a problem: retry shortly"
    return upstream
