"""How a tool is declared and run: input model in, typed MCP result out, every failure a clear tool error.

A tool module declares `ToolSpec`s: a pydantic input model (its JSON schema is the tool's input schema), an
output model (the output schema for `structuredContent`), annotations, and an async handler
`handler(args, call) -> CallToolResult`. `GeminiTool` runs a spec: it validates arguments into the input
model with messages that name the field, maps SDK failures to actionable tool errors with secrets redacted,
checks structuredContent against the output model, redacts every result on its way out (a model may quote a
key it was shown), and leaves cancellation alone so that it propagates. `build_tools` registers one per spec
with the `mcp` SDK's `MCPServer` (through framework/mcp_adapter.py, the one module that knows how the SDK
builds a tool).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, ValidationError

from gemini_mcp.config.settings import Settings
from gemini_mcp.errors import BackendUnsupported, GeminiMcpError, ServerBug, redact
from gemini_mcp.framework.call import Call, Services
from gemini_mcp.framework.client_logging import log_to_client
from gemini_mcp.framework.mcp_adapter import output_schema_of, registered_tool
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.framework.schema_refs import inline_refs
from gemini_mcp.framework.schemas import lean_input_schema
from gemini_mcp.framework.spend import run_paid
from gemini_mcp.framework.views import DEMO_LABEL as DEMO_LABEL  # where callers have always found it
from gemini_mcp.framework.views import complete_views
from gemini_mcp.gemini.failures import describe_failure
from gemini_mcp.gemini.retry_events import Attempts, call_attempts, retry_listener

if TYPE_CHECKING:
    from gemini_mcp.framework.catalog import RegisteredSpec

logger = logging.getLogger("gemini_mcp.tools")

InputT = TypeVar("InputT", bound=BaseModel)
SharedT = TypeVar("SharedT")


class GeminiTool:
    """Runs one tool spec. `build_tools` registers one per spec with the SDK; the tasks extension runs them
    directly (`run` raises ToolError, which it turns into its own answer)."""

    def __init__(self, spec: RegisteredSpec, services: Services) -> None:
        self.spec = spec
        self.services = services

    @classmethod
    def build(cls, spec: RegisteredSpec, services: Services) -> GeminiTool:
        return cls(spec, services)

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        """The tool's result; a failure the agent can act on raises ToolError (UnexpectedToolError: our bug)."""
        services = self.services
        services.call_started()
        try:
            return await self._run(self.spec, services, arguments, context)
        finally:
            services.call_finished()

    async def answer(self, arguments: dict[str, Any], context: Context[Any, Any]) -> Any:
        """`run` for the SDK: a ToolError becomes an `isError` result carrying its message as written (raised,
        the SDK would prefix it with "Error executing tool <name>: ")."""
        try:
            return await self.run(arguments, context)
        except ToolError as exc:
            if not isinstance(exc, UnexpectedToolError):  # a crash was logged with its traceback already
                logger.info("Tool %r failed: %r", self.spec.name, str(exc))
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)

    async def _run(
        self, spec: RegisteredSpec, services: Services, arguments: dict[str, Any], context: Context[Any, Any] | None
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
            return await self._call(spec, services, arguments, call, attempts)
        finally:
            call_attempts.reset(counting)
            retry_listener.reset(listening)

    async def _call(
        self, spec: RegisteredSpec, services: Services, arguments: dict[str, Any], call: Call, attempts: Attempts
    ) -> Any:
        arguments = without_host_arguments(spec.name, spec.input_model, arguments)
        try:
            args = spec.input_model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(format_validation_error(spec.name, exc, spec.input_model)) from None
        settings = services.settings
        try:
            if settings.backend not in spec.backends:
                raise BackendUnsupported(
                    f"{spec.name} is not available on the {settings.backend} backend. {spec.backend_hint}".strip()
                )
            deadline = spec.deadline_s(settings)
            with anyio.CancelScope(deadline=anyio.current_time() + deadline) as scope:
                result = await run_paid(spec, args, call, spec.handler)  # a paid tool's spend steps, else as is
            if scope.cancelled_caught:
                variable = spec.deadline_setting
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
        except ServerBug as exc:
            logger.exception("%s crashed", spec.name)
            raise UnexpectedToolError(_with_hint(str(exc), call)) from exc
        except GeminiMcpError as exc:  # the caller's input, the upstream API, or this machine: each worded so
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
            raise UnexpectedToolError(_with_hint(str(ServerBug.in_tool(spec.name, exc)), call)) from exc
        if isinstance(result, CallToolResult):
            if not result.is_error:
                # Hosts show their model either the structured content or the blocks: each must say it all.
                await complete_views(result, spec.output_model, call.notes, demo=settings.demo)
                _check_output(spec, result, call)
            redact_result(result, _result_filter(services))
        return result


def _check_output(spec: RegisteredSpec, result: CallToolResult, call: Call) -> None:
    """structuredContent must match the output schema the tool advertises: a mismatch is our bug, and is
    never handed to a client that may rely on the schema."""
    try:
        spec.output_model.model_validate(result.structured_content)
    except ValidationError as exc:
        logger.exception("%s: structuredContent does not match %s", spec.name, spec.output_model.__name__)
        raise UnexpectedToolError(_with_hint(str(ServerBug.in_tool(spec.name, exc)), call)) from exc


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
    audio data, blobs) is skipped: base64 is large, and no key survives a trip through an image encoder.
    Each distinct string is cleaned once: an answer's text is both a content block and a structured field,
    and redaction costs ~30 µs per KB of text (benchmarks/README.md)."""
    clean = _once_each(clean)
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


ONCE_ABOVE_CHARS = 256  # shorter strings are cleaned in about a microsecond: not worth remembering


def _once_each(clean: Callable[[str], str]) -> Callable[[str], str]:
    done: dict[str, str] = {}

    def once(text: str) -> str:
        if len(text) < ONCE_ABOVE_CHARS:
            return clean(text)
        found = done.get(text)
        if found is None:
            found = done[text] = clean(text)
        return found

    return once


def _cleaned(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {key: _cleaned(item, clean) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item, clean) for item in value]
    return value


# Arguments hosts add to every tool's declaration on their own and then send, which no tool of ours takes: they
# are dropped before validation rather than failing the call. Gemini CLI adds `wait_for_previous` (a boolean its
# model fills in) to every tool and forwards it. Any other unknown argument is still an error: a typo must not
# pass silently, so the schemas keep `additionalProperties: false`.
HOST_ARGUMENTS = frozenset({"wait_for_previous"})


def without_host_arguments(tool: str, model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """`arguments` without the host-added ones `model` does not take (a tool that declares one keeps it)."""
    added = HOST_ARGUMENTS.intersection(arguments)
    if not added:
        return arguments
    dropped = added - set(_parameter_names(model))
    if not dropped:
        return arguments
    logger.debug("%s: ignored host-added argument(s) %s", tool, ", ".join(sorted(dropped)))
    return {name: value for name, value in arguments.items() if name not in dropped}


def format_validation_error(tool: str, exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One line per problem, each naming the field path and what is expected (never echoing big values). With the
    input `model`, an unknown argument's line names the valid ones there, and the closest if it looks like a typo."""
    lines = []
    valid: dict[str, None] = {}  # what the unknown names could have been, once per place, in order
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message, names = _unknown_parameter(tool, model, error["loc"])
            if names:
                valid[names] = None
        elif error["type"] == "missing":
            message = "is required"
        lines.append(f"{path}: {message}")
    return f"Invalid arguments for {tool}: " + "; ".join(lines) + "".join(f". {names}" for names in valid)


def _unknown_parameter(tool: str, model: type[BaseModel] | None, loc: Sequence[int | str]) -> tuple[str, str]:
    """What to say about one unknown argument, and the valid names at its place ('' when unknown)."""
    names = _names_at(model, loc[:-1]) if model is not None else None
    if not names:
        return "is not a parameter of this tool (check the input schema for the allowed names)", ""
    import difflib  # only for a wrong argument: not worth loading on every start

    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if len(loc) == 1:
        return f"is not a parameter of {tool}{hint}", f"Its parameters: {', '.join(names)}"
    where = ".".join(str(part) for part in loc[:-1])
    return f"is not a field of {where}{hint}", f"The fields of {where}: {', '.join(names)}"


def _parameter_names(model: type[BaseModel]) -> list[str]:
    """The names `model` accepts, as its JSON schema spells them (an alias where it has one)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _names_at(model: type[BaseModel], path: Sequence[int | str]) -> list[str] | None:
    """The field names of the object at `path` inside `model` (list indexes skipped), or None where a union or
    a mapping leaves it ambiguous."""
    current = model
    for part in path:
        if isinstance(part, int):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return None
        current = inner
    return _parameter_names(current)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The one pydantic model an annotation holds (through Optional, Annotated, list, ...), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = {model for arg in get_args(annotation) if (model := _model_in(arg)) is not None}
    return found.pop() if len(found) == 1 else None


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
    schema = output_schema_of(model)
    return inline_refs(schema) if schema is not None else None


def build_tools(specs: Sequence[RegisteredSpec], services: Services, cache: SchemaCache | None = None) -> list[Tool]:
    """The SDK Tools for `MCPServer(tools=...)`, one per spec. The schemas come from the cache, so a lazy spec's
    module is not imported before its first call."""
    cache = cache or SchemaCache()
    tools = [_sdk_tool(spec, services, cache) for spec in specs]
    cache.save()
    return tools


def _sdk_tool(spec: RegisteredSpec, services: Services, cache: SchemaCache) -> Tool:
    return registered_tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        input_schema=cache.get(f"{spec.name}:input", lambda: lean_input_schema(spec.input_model)),
        output_schema=cache.get(f"{spec.name}:output", lambda: _output_schema(spec.output_model)),
        annotations=spec.annotations,
        run=GeminiTool(spec, services).answer,
    )
