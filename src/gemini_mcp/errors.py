"""The error taxonomy every layer shares, and the one redaction filter for everything that leaves the process.

A leaf: it imports nothing of this package. How an SDK, network or disk failure becomes one of these
messages is `gemini/failures.py`; how a tool call ends with one is `framework/toolkit.py`.
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
    # Each pattern runs only where it can match (a literal it needs is present): a 100 KB answer is redacted in
    # ~0.06 ms instead of ~3 ms, with the same result.
    if "=" in text:
        text = _KEY_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    if "AIza" in text or "ya29." in text:
        text = _KEY_SHAPES.sub(REDACTED, text)
    return text


class GeminiMcpError(Exception):
    """A failure a tool call ends with; `str()` is the whole message for the agent (what happened and the fix).

    One class per culprit, each with its own wording, so the agent knows whom the fix is for:

    - `UserInputError`: the caller's input. Starts with the field (`media[0].path: ...`), says the rule and
      the value to send instead.
    - `GeminiCallError`: the upstream API (and the network on the way to it): an HTTP error, a lost answer,
      a safety block, an empty answer, a Veo operation that failed. Says what Gemini did or said, then
      what to try (retry, rephrase, wait, a key with billing).
    - `LocalEnvironmentError`: this machine or this server's setup: disk, permissions, folders, settings,
      credentials, backend. Names the path or the setting to change; the call itself was fine.
    - `ServerBug`: our own bug. Names the tool and the exception type only; the traceback is in the server
      log. Raised around any exception nothing above explains.
    """


class UserInputError(GeminiMcpError):
    """The caller's input breaks a rule found after schema validation; the message names the field and the fix."""


class GeminiCallError(GeminiMcpError):
    """The Gemini API (or the way to it) failed, refused, or answered with nothing usable; `str()` is the
    user-facing message (already redacted) saying what Gemini did and what to try."""

    def __init__(self, message: str, *, code: int | None = None, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class LocalEnvironmentError(GeminiMcpError):
    """This machine or this server's setup is in the way (disk, permissions, folders, settings); the message
    names the path or the setting to change."""

    LEAD = "A problem on this machine, not at Gemini"

    @classmethod
    def on_this_machine(cls, what: str, fix: str, secrets: Iterable[str] = ()) -> LocalEnvironmentError:
        """`A problem on this machine, not at Gemini: <what>. <Fix>, then call again`, redacted."""
        return cls(redact(f"{cls.LEAD}: {what}. {fix[:1].upper()}{fix[1:]}, then call again", secrets))


class ServerBug(GeminiMcpError):
    """Our own bug: nothing in the taxonomy explains what went wrong. The agent learns the tool and the
    exception type; the traceback stays in the server log (it may hold request data)."""

    @classmethod
    def in_tool(cls, tool: str, exc: BaseException) -> ServerBug:
        return cls(f"{tool} failed unexpectedly ({type(exc).__name__}); the server log has details")


class BackendUnsupported(LocalEnvironmentError):
    """The configured backend cannot serve this tool; the message says how to switch."""


class CreateMayHaveStarted(GeminiCallError):
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


class NotAnApiAnswer(GeminiCallError):
    """Something other than the Gemini API answered (a captive portal, a proxy, a wrong base URL); `str()` says
    what came back and what to check. Not retried: the same thing would answer again."""


# Retried by the SDK (client.retry_options), reported by the transport, and named in errors: one list for all three.
TRANSIENT_CODES = frozenset({408, 429, 500, 502, 503, 504})
