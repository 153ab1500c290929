"""The error vocabulary every layer shares, and the one redaction filter for everything that leaves the process.

How an SDK or network failure becomes one of these messages is `gemini/failures.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Query values that are credentials: API keys, OAuth tokens, and the signatures of our /media/<id> links.
_KEY_QUERY = re.compile(r"([?&](?:key|api_key|access_token|sig)=)[^&\s\"']+", re.IGNORECASE)
# Credentials inside a URL (`http://user:password@proxy`): everything between the scheme and the '@'.
_URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^/\s@\"'<>]+@", re.IGNORECASE)
# Shapes of Google API keys and OAuth tokens, redacted even when we were not told the value.
_KEY_SHAPES = re.compile(r"AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-.]+")
REDACTED = "[REDACTED]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret, credential query value (`key=`, `access_token=`, `sig=`), URL userinfo and
    API-key-shaped token from `text`: the one filter for results, errors, logs and health answers."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _KEY_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
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


class CreateMayHaveStarted(Exception):
    """A request that starts paid work reached Google but its answer was lost or an error, so it was not sent
    again (neither the SDK's retries nor the Interactions client's retry this exception type).

    `str()` says what happened, that the job may exist and be billed, and how to check before trying again.
    """

    def __init__(self, job: str, happened: str, check: str, *, accepted: bool = False) -> None:
        outcome = (
            f"Google accepted it, so {job} has most likely started and is billed, but its id never arrived"
            if accepted
            else f"the request reached Google, so {job} may have started and may be billed although no id came back"
        )
        super().__init__(
            f"The request that starts {job} failed ({happened.rstrip('.')}). It was not sent again: {outcome}. "
            f"Check before trying again: {check}"
        )
        self.job = job


class NotAnApiAnswer(Exception):
    """Something other than the Gemini API answered (a captive portal, a proxy, a wrong base URL); `str()` says
    what came back and what to check. Not retried: the same thing would answer again."""


# Retried by the SDK (client.retry_options), reported by the transport, and named in errors: one list for all three.
TRANSIENT_CODES = frozenset({408, 429, 500, 502, 503, 504})
