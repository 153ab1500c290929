"""The one google-genai client of a server, created on first use so that start-up does not pay for it.

The backend is resolved in `Settings` and passed explicitly (`vertexai=`, `HttpOptions(base_url=...)`):
left to the environment, google-genai 3.x looks up the Developer-API base URL even in Vertex mode.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import anyio

from gemini_mcp.config.settings import Settings
from gemini_mcp.errors import TRANSIENT_CODES, LocalEnvironmentError

if TYPE_CHECKING:
    from google import genai
    from google.genai import types


def retry_options(settings: Settings) -> types.HttpRetryOptions:
    """Retry transient failures only: timeouts, rate limits and server errors (never other 4xx).

    Exponential backoff with jitter from `GEMINI_MCP_RETRY_DELAY` (doubling, at most 30 s); connection
    errors and timeouts are retried by the SDK as well. `Retry-After` is honoured by the transport.

    These options apply to every request, paid creates included: a per-request override
    (`GenerateVideosConfig(http_options=HttpOptions(retry_options=...))`) could drop the 5xx statuses but
    not tell a timeout before sending from one after (tenacity sees one `httpx2.TimeoutException`), and each
    new paid call would have to remember it. So the transport decides (`transport.PAID_CREATES`): whatever
    may have started a job is raised as an exception type no retry layer knows.
    """
    from google.genai import types

    return types.HttpRetryOptions(
        attempts=settings.retries,
        initial_delay=settings.retry_delay_s,
        max_delay=30.0,
        exp_base=2.0,
        jitter=settings.retry_delay_s,
        http_status_codes=sorted(TRANSIENT_CODES),
    )


class MissingCredentials(LocalEnvironmentError):
    """No credentials are configured (this server's setup, not the call); `str()` says which variable to set."""


class GeminiClient:
    """Owns the lazily created `genai.Client` and its pooled HTTP connections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: genai.Client | None = None
        self._lock = anyio.Lock()

    @property
    def backend(self) -> str:
        return self.settings.backend

    async def get(self) -> genai.Client:
        """The shared client; raises MissingCredentials when no key or Vertex project is configured."""
        if self._client is None:
            if not self.settings.has_credentials:
                raise MissingCredentials(self.settings.missing_credentials_message())
            async with self._lock:
                if self._client is None:
                    # Importing google.genai costs ~0.3 s; a worker thread keeps the event loop free.
                    self._client = await anyio.to_thread.run_sync(self._create)
        return self._client

    def _create(self) -> genai.Client:
        from google import genai
        from google.genai import types

        from gemini_mcp.gemini.transport import ResilientTransport

        s = self.settings
        transport_args: dict[str, Any] = {}
        client_args: dict[str, Any] = {}
        if s.ca_file is not None:
            # Extra trusted CAs (a TLS-inspecting proxy, or the emulator over TLS): `verify` for HTTPS requests,
            # `ssl` for the Live API's WebSocket (the SDK passes it to websockets, and drops it for httpx).
            context = ssl.create_default_context(cafile=str(s.ca_file))
            transport_args["verify"] = context
            client_args["ssl"] = context
        transport = ResilientTransport(
            s.max_concurrency,
            attempts=s.retries,
            backoff_s=s.retry_delay_s,
            offload_dir=s.output_dir.expanduser(),  # same folder as the media: adopting a file is a rename
            **transport_args,
        )
        http_options = types.HttpOptions(
            base_url=s.base_url,
            api_version=s.api_version,
            timeout=int(s.request_timeout_s * 1000),  # the SDK counts milliseconds
            retry_options=retry_options(s),
            async_client_args={"transport": transport, **client_args},
        )
        api_key = s.api_key.get_secret_value() if s.api_key is not None else None
        if s.backend == "vertex":
            if s.uses_project:
                return genai.Client(
                    vertexai=True,
                    project=s.project,
                    location=s.location or "us-central1",
                    http_options=http_options,
                )
            return genai.Client(vertexai=True, api_key=api_key, http_options=http_options)
        return genai.Client(vertexai=False, api_key=api_key, http_options=http_options)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aio.aclose()
