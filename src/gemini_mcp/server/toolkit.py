"""How a tool is declared and run: input model in, typed MCP result out, every failure a clear tool error.

A tool module declares `ToolSpec`s: a pydantic input model (its JSON schema is the tool's input schema), an
output model (the output schema for `structuredContent`), annotations, and an async handler
`handler(args, call) -> CallToolResult`. `GeminiTool` runs a spec inside the `mcp` SDK's `MCPServer`:
it validates arguments into the input model with messages that name the field, maps SDK failures to
actionable tool errors with secrets redacted, redacts every result on its way out (a model may quote a key
it was shown), and leaves cancellation alone so that it propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
from anyio.abc import TaskGroup
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from gemini_mcp.gemini.client import GeminiClient, MissingCredentials
from gemini_mcp.gemini.errors import BackendUnsupported, UserInputError, describe_failure, redact
from gemini_mcp.gemini.models import ModelError
from gemini_mcp.gemini.retry_events import Attempts, call_attempts, retry_listener
from gemini_mcp.server.client_logging import log_to_client
from gemini_mcp.server.media import MediaStore
from gemini_mcp.server.schema_cache import SchemaCache
from gemini_mcp.server.schema_refs import inline_refs
from gemini_mcp.server.settings import Backend, Settings

if TYPE_CHECKING:
    from google import genai

    from gemini_mcp.server.media_urls import MediaUrlSigner

logger = logging.getLogger("gemini_mcp.tools")

InputT = TypeVar("InputT", bound=BaseModel)
SharedT = TypeVar("SharedT")


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown arguments are errors, not silently dropped."""

    # defer_build: a model's validator is built on its first call, not at start-up (schemas come from the cache).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class ToolOutput(BaseModel):
    """Base of every tool's structured output."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)


@dataclass
class Services:
    """What tools share for the life of a server (built once in `server.app.build_server`)."""

    settings: Settings
    gemini: GeminiClient
    media: MediaStore
    media_urls: MediaUrlSigner | None = None  # signs /media/<id> download links when serving HTTP
    specs: list[ToolSpec[Any]] = field(default_factory=list)  # every registered tool, for capabilities
    _shared: dict[str, Any] = field(default_factory=dict)
    inflight: int = 0  # tool calls running now (graceful shutdown waits for them)
    _idle: anyio.Event | None = None
    # Tasks that outlive a tool call (live sessions), run by the server's lifespan; None outside it.
    background: TaskGroup | None = None
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def shut_down(self) -> None:
        """Run what tool families registered for shutdown (closing live sessions cleanly)."""
        for hook in self.shutdown_hooks:
            with anyio.CancelScope(shield=True):
                await hook()

    def call_started(self) -> None:
        self.inflight += 1

    def call_finished(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self._idle is not None:
            self._idle.set()
            self._idle = None

    async def wait_idle(self) -> None:
        """Return once no tool call is running."""
        if self.inflight == 0:
            return
        if self._idle is None:
            self._idle = anyio.Event()
        await self._idle.wait()

    def shared(self, key: str, factory: Callable[[], SharedT]) -> SharedT:
        """A per-server object of a tool family (chat store, live sessions), created on first use."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]  # type: ignore[no-any-return]


@dataclass
class Call:
    """One tool call: the shared services plus the MCP request it belongs to."""

    services: Services
    mcp: Context[Any, Any] | None
    tool: str
    model: str | None = None  # the resolved model, for error messages
    notes: list[str] = field(default_factory=list)
    # Paid work this call started that outlives a failure of the call (how to collect it instead of paying
    # again); added to every error the call ends with from then on.
    resume_hint: str | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def media(self) -> MediaStore:
        return self.services.media

    async def client(self) -> genai.Client:
        return await self.services.gemini.get()

    @property
    def wants_progress(self) -> bool:
        """Whether the client asked for progress on this request (sent a progress token)."""
        if self.mcp is None:
            return False
        try:
            context = self.mcp.request_context
        except ValueError:
            return False
        return _progress_requested(context)

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Report progress; a no-op when the client asked for none. Redacted like results: a streamed answer's
        text so far travels in the message."""
        if self.mcp is not None and self.wants_progress:
            if message:
                message = redact(message, self.settings.secrets())
            await self.mcp.report_progress(progress, total, message)


def _progress_requested(context: Any) -> bool:
    """The token is in `_meta` on JSON-RPC transports; the in-memory (2026) dispatcher keeps the caller's
    callback on the request's outbound channel instead, so look there too."""
    meta = context.meta or {}
    if meta.get("progress_token") is not None or meta.get("progressToken") is not None:
        return True
    params_meta = (context.params or {}).get("_meta") or {}
    if isinstance(params_meta, dict) and params_meta.get("progressToken") is not None:
        return True
    outbound = getattr(context.session, "_request_outbound", None)
    for _ in range(4):  # runners wrap the channel (`_inner`)
        if outbound is None:
            return False
        if any(
            getattr(outbound, name, None) is not None for name in ("_on_progress", "_progress_token", "progress_token")
        ):
            return True
        outbound = getattr(outbound, "_inner", None)
    return False


Handler = Callable[[Any, Call], Awaitable[CallToolResult]]


@dataclass(frozen=True)
class ToolSpec(Generic[InputT]):
    """Everything that describes one tool; the description is written for the agent that reads it."""

    name: str
    title: str
    description: str
    input_model: type[InputT]
    output_model: type[BaseModel]
    handler: Callable[[InputT, Call], Awaitable[CallToolResult]]
    annotations: ToolAnnotations
    backends: frozenset[Backend] = frozenset({"gemini", "vertex"})
    backend_hint: str = ""  # how to switch, when the current backend cannot serve the tool
    long_running: bool = False  # waits for Veo: bounded by GEMINI_MCP_VIDEO_DEADLINE, not the call deadline

    @property
    def is_loaded(self) -> bool:
        """False for a LazyToolSpec whose module is not imported yet (server/tool_catalog.py)."""
        return True

    def deadline_s(self, settings: Settings) -> float:
        """How long one call may take in all; a video call also downloads and saves the result."""
        return settings.video_deadline_s + settings.request_timeout_s if self.long_running else settings.call_deadline_s


async def _not_loaded_yet(**_: Any) -> Any:
    """`Tool.fn` of a lazy tool: never called (GeminiTool.run calls the spec's handler, loading it)."""
    raise RuntimeError("GeminiTool.run calls the spec's handler")


class _NoArguments(ArgModelBase):
    """Placeholder: `GeminiTool.run` validates into the spec's own input model instead."""


class GeminiTool(Tool):
    """An `mcp` Tool that runs a ToolSpec; built by `GeminiTool.build`."""

    spec: Any = None
    services: Any = None

    @classmethod
    def build(cls, spec: ToolSpec[Any], services: Services, cache: SchemaCache | None = None) -> GeminiTool:
        cache = cache or SchemaCache(enabled=False)
        parameters = cache.get(
            f"{spec.name}:input", lambda: inline_refs(spec.input_model.model_json_schema(by_alias=True))
        )
        output_schema = cache.get(f"{spec.name}:output", lambda: _output_schema(spec.output_model))
        loaded = spec.is_loaded  # a lazy spec stays unloaded: its model is attached on the first call
        return cls(
            fn=spec.handler if loaded else _not_loaded_yet,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            parameters=parameters,
            fn_metadata=FuncMetadata(
                arg_model=_NoArguments, output_model=spec.output_model if loaded else None, output_schema=output_schema
            ),
            is_async=True,
            context_kwarg=None,
            annotations=spec.annotations,
            spec=spec,
            services=services,
        )

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        spec: ToolSpec[Any] = self.spec
        services: Services = self.services
        services.call_started()
        try:
            return await self._run(spec, services, arguments, context, convert_result)
        finally:
            services.call_finished()

    async def _run(
        self,
        spec: ToolSpec[Any],
        services: Services,
        arguments: dict[str, Any],
        context: Context[Any, Any],
        convert_result: bool,
    ) -> Any:
        call = Call(services=services, mcp=context, tool=spec.name)
        attempts = Attempts()

        async def on_retryable(message: str) -> None:
            attempt = attempts.of_last_failure
            limit = services.settings.retries
            outcome = "retrying with backoff" if attempt < limit else "no attempts left"
            text = f"{spec.name}: {message} (attempt {attempt} of {limit}); {outcome}"
            await log_to_client(context, "warning", text)

        listening = retry_listener.set(on_retryable)
        counting = call_attempts.set(attempts)
        try:
            return await self._call(spec, services, arguments, call, attempts, convert_result)
        finally:
            call_attempts.reset(counting)
            retry_listener.reset(listening)

    async def _call(
        self,
        spec: ToolSpec[Any],
        services: Services,
        arguments: dict[str, Any],
        call: Call,
        attempts: Attempts,
        convert_result: bool,
    ) -> Any:
        try:
            args = spec.input_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(format_validation_error(spec.name, exc)) from None
        if self.fn_metadata.output_model is None:  # a lazy spec, loaded just now
            self.fn_metadata.output_model = spec.output_model
        settings = services.settings
        try:
            if settings.backend not in spec.backends:
                raise BackendUnsupported(
                    f"{spec.name} is not available on the {settings.backend} backend. {spec.backend_hint}".strip()
                )
            deadline = spec.deadline_s(settings)
            with anyio.CancelScope(deadline=anyio.current_time() + deadline) as scope:
                result = await spec.handler(args, call)
            if scope.cancelled_caught:
                variable = "GEMINI_MCP_VIDEO_DEADLINE" if spec.long_running else "GEMINI_MCP_CALL_DEADLINE"
                late = (
                    f"{spec.name} did not finish within {deadline:g} s ({variable}), retries included; nothing was "
                    "returned."
                )
                if call.resume_hint:
                    raise ToolError(f"{late} {call.resume_hint} Raise {variable} to wait longer.")
                raise ToolError(f"{late} Try again later, ask for less, or raise {variable}.")
        except MCPError:
            raise
        except ToolError:
            raise
        except (UserInputError, ModelError, MissingCredentials, BackendUnsupported) as exc:
            raise ToolError(redact(_with_hint(str(exc), call), settings.secrets())) from None
        except Exception as exc:
            described = describe_failure(
                exc,
                model=call.model,
                key_variable=settings.api_key_variable,
                secrets=settings.secrets(),
                attempts=attempts.of_last_failure,
                folders=_local_folders(settings),
            )
            if described is not None:
                logger.info("%s: Gemini call failed: %s", spec.name, described)
                raise ToolError(redact(_with_hint(str(described), call), settings.secrets())) from None
            logger.exception("%s crashed", spec.name)
            raise UnexpectedToolError(
                _with_hint(f"{spec.name} failed unexpectedly ({type(exc).__name__}); the server log has details", call)
            ) from exc
        if isinstance(result, CallToolResult):
            redact_result(result, _result_filter(services))
            if settings.demo and not result.is_error:
                result.content.append(TextContent(type="text", text=DEMO_LABEL))
        return self.fn_metadata.convert_result(result) if convert_result else result


def _with_hint(message: str, call: Call) -> str:
    if not call.resume_hint:
        return message
    return f"{message.rstrip()}{'' if message.rstrip().endswith('.') else '.'} {call.resume_hint}"


def _local_folders(settings: Settings) -> list[tuple[str, Path]]:
    """The settings that name local paths, for errors of the local file system to point at."""
    folders = [("GEMINI_MCP_OUTPUT_DIR", settings.output_dir)]
    folders += [("GEMINI_MCP_ALLOWED_DIRS", folder) for folder in settings.allowed_dirs]
    if settings.ca_file is not None:
        folders.append(("GEMINI_MCP_CA_FILE", settings.ca_file))
    return folders


def _result_filter(services: Services) -> Callable[[str], str]:
    """`redact` with this server's secrets, sparing the signed /media links it hands out on purpose (their
    `sig=` would otherwise be redacted as a credential, and the link would stop working)."""
    secrets = services.settings.secrets()
    signer = services.media_urls

    def clean(text: str) -> str:
        if signer is None or "sig=" not in text:
            return redact(text, secrets)
        return "".join(piece if ours else redact(piece, secrets) for piece, ours in signer.split_links(text))

    return clean


def redact_result(result: CallToolResult, clean: Callable[[str], str]) -> None:
    """Pass every string of `result` a client can read through `clean`, in place. Inline media (image and
    audio data, blobs) is skipped: base64 is large, and no key survives a trip through an image encoder."""
    for block in result.content:
        if isinstance(block, TextContent):
            block.text = clean(block.text)
        elif isinstance(block, ResourceLink):
            block.name = clean(block.name)
            if block.title is not None:
                block.title = clean(block.title)
            if block.description is not None:
                block.description = clean(block.description)
        elif isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
            block.resource.text = clean(block.resource.text)
    if result.structured_content is not None:
        result.structured_content = _cleaned(result.structured_content, clean)


def _cleaned(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {key: _cleaned(item, clean) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item, clean) for item in value]
    return value


DEMO_LABEL = "[demo mode: emulated output from gemini-mcp's offline emulator, not from Google's Gemini API]"


def format_validation_error(tool: str, exc: ValidationError) -> str:
    """One line per problem, each naming the field path and what is expected (never echoing big values)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a parameter of this tool (check the input schema for the allowed names)"
        elif error["type"] == "missing":
            message = "is required"
        lines.append(f"{path}: {message}")
    return f"Invalid arguments for {tool}: " + "; ".join(lines)


def structured_result(
    output: BaseModel, content: Sequence[ContentBlock] | None = None, *, text: str | None = None
) -> CallToolResult:
    """A result whose `structuredContent` is `output`; `content` defaults to `text`, else its JSON."""
    data = output.model_dump(mode="json", by_alias=True, exclude_none=True)
    if content is None:
        body = text if text is not None else output.model_dump_json(by_alias=True, exclude_none=True, indent=2)
        content = [TextContent(type="text", text=body)]
    return CallToolResult(content=list(content), structured_content=data)


def _output_schema(model: Any) -> dict[str, Any] | None:
    schema = FuncMetadata(arg_model=_NoArguments, output_model=model).output_schema
    return inline_refs(schema) if schema is not None else None


def build_tools(specs: Sequence[ToolSpec[Any]], services: Services, cache: SchemaCache | None = None) -> list[Tool]:
    cache = cache or SchemaCache()
    tools: list[Tool] = [GeminiTool.build(spec, services, cache) for spec in specs]
    cache.save()
    return tools
