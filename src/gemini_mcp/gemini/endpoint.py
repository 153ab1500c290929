"""Where the configured backend lives, and whether it answers: shared by `/readyz` and `gemini-mcp doctor`."""

from __future__ import annotations

import ssl

import anyio

from gemini_mcp.config.settings import Settings
from gemini_mcp.errors import redact

GEMINI_URL = "https://generativelanguage.googleapis.com/"
VERTEX_URL = "https://aiplatform.googleapis.com/"


def upstream_url(settings: Settings) -> str:
    return settings.base_url or (VERTEX_URL if settings.backend == "vertex" else GEMINI_URL)


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    """Trust what the Gemini client trusts (GEMINI_MCP_CA_FILE: a TLS-inspecting proxy, or the demo's emulator)."""
    return ssl.create_default_context(cafile=str(settings.ca_file)) if settings.ca_file is not None else True


async def reachable(settings: Settings, timeout_s: float = 5.0) -> tuple[bool, str]:
    """Whether the configured Gemini endpoint answers HTTP at all (any status means reachable).

    The detail names the endpoint as `redact` leaves it: a proxy's `user:password@` or a `key=` in the
    configured URL never reaches /readyz or doctor's report."""
    import httpx2

    url = upstream_url(settings)
    shown = redact(url, settings.secrets())
    try:
        with anyio.fail_after(timeout_s):
            async with httpx2.AsyncClient(timeout=timeout_s, verify=_verify(settings)) as client:
                await client.get(url)
    except Exception as exc:  # any failure means not reachable; only its type is shown, never its text
        return False, f"{type(exc).__name__} reaching {shown}"
    return True, shown


async def key_status(settings: Settings, timeout_s: float = 10.0) -> int | None:
    """The HTTP status of listing one model with the configured Developer API key (None: no answer).

    The key travels in the `x-goog-api-key` header, never in the URL."""
    import httpx2

    if settings.api_key is None or settings.backend != "gemini":
        return None
    url = upstream_url(settings).rstrip("/") + f"/{settings.api_version or 'v1beta'}/models?pageSize=1"
    try:
        with anyio.fail_after(timeout_s):
            async with httpx2.AsyncClient(timeout=timeout_s, verify=_verify(settings)) as client:
                response = await client.get(url, headers={"x-goog-api-key": settings.api_key.get_secret_value()})
    except Exception:
        return None
    return response.status_code
