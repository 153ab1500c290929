"""The media viewer: an MCP Apps view (extension `io.modelcontextprotocol/ui`) for the results of media tools.

Hosts that render MCP Apps (Claude Desktop, VS Code, ChatGPT, …) show a tool's result in a sandboxed iframe
when the tool's definition names a `ui://` resource in `_meta.ui.resourceUri`. One self-contained page
(viewer.html, next to this module: script and style inline, no network) shows images, audio, video and a
running job, from the result the host hands it; it reads the bytes through the host with `resources/read` of
`gemini://media/<id>` and polls or cancels a job with `tools/call` of get_job / cancel_job.

Which tools point at it is one rule, not a list: a tool whose output can hold saved media, or that starts or
collects a job (framework/jobs.py). The rule is read from the spec once and kept in the schema cache, so a lazy
spec's module is not imported for it.

Only a client that declares the extension (with the `text/html;profile=mcp-app` MIME type, the SDK's
`client_supports_apps`) sees any of it: its tools/list carries the `_meta.ui` of those tools, and its
resources/list the viewer. Every other client gets exactly what it got before; tool results are the same for
both (the view reads the structured content every result already has).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any, get_args

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import ListResourcesResult, ListToolsResult
from pydantic import BaseModel

from gemini_mcp.framework.jobs import CANCEL_TOOL, COLLECT_TOOL
from gemini_mcp.framework.schema_cache import SchemaCache
from gemini_mcp.media.store import SavedMedia

if TYPE_CHECKING:
    from gemini_mcp.framework.catalog import RegisteredSpec

VIEWER_URI = "ui://gemini/media-viewer.html"
VIEWER_FILE = "viewer.html"
UI_SCHEME = "ui://"


def viewer_html() -> str:
    """The viewer page, as packaged next to this module, calling the job framework's own tools."""
    page = resources.files(__package__ or "gemini_mcp.framework").joinpath(VIEWER_FILE).read_text(encoding="utf-8")
    return page.replace("{{COLLECT_TOOL}}", COLLECT_TOOL).replace("{{CANCEL_TOOL}}", CANCEL_TOOL)


def holds_media(model: Any, seen: set[type[BaseModel]] | None = None) -> bool:
    """Whether `model` (a pydantic model or an annotation) can hold a saved file anywhere inside it."""
    seen = set() if seen is None else seen
    if isinstance(model, type) and issubclass(model, BaseModel):
        if issubclass(model, SavedMedia):
            return True
        if model in seen:
            return False
        seen.add(model)
        return any(holds_media(field.annotation, seen) for field in model.model_fields.values())
    return any(holds_media(arg, seen) for arg in get_args(model))


def shows_in_viewer(spec: RegisteredSpec) -> bool:
    """The rule: a job tool, a tool collecting jobs, or one whose output can carry saved media."""
    return spec.job_name is not None or spec.waits_on_jobs or holds_media(spec.output_model)


def viewer_tools(specs: Iterable[RegisteredSpec], cache: SchemaCache) -> frozenset[str]:
    """The names of the tools whose results the viewer shows (the rule, cached per tool)."""
    return frozenset(
        spec.name for spec in specs if cache.get(f"{spec.name}:viewer", lambda spec=spec: shows_in_viewer(spec))
    )


class MediaViewer(Apps):
    """The SDK's Apps extension serving the viewer resource, and the server middleware that shows it to the
    clients that declared the extension (pass the instance as both: `extensions=[…]`, `middleware=[…]`)."""

    def __init__(self, tools: Iterable[str]) -> None:
        super().__init__()
        self.viewer_tools = frozenset(tools)
        self.add_html_resource(
            VIEWER_URI,
            viewer_html(),
            name="media-viewer",
            title="Gemini media viewer",
            description="Shows a tool's images, audio, video or running job (MCP Apps hosts render it).",
            csp=ResourceCsp(),  # no network at all: media comes through resources/read
            prefers_border=True,
        )

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method == "tools/list":
            return self._with_viewer(result) if client_supports_apps(ctx) else result
        if ctx.method == "resources/list" and not client_supports_apps(ctx):
            return _without_views(result)
        return result

    def _with_viewer(self, result: HandlerResult) -> HandlerResult:
        if isinstance(result, ListToolsResult):
            tools = [
                tool.model_copy(update={"meta": _meta_with_viewer(tool.meta)})
                if tool.name in self.viewer_tools
                else tool
                for tool in result.tools
            ]
            return result.model_copy(update={"tools": tools})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):  # the wire form, from a middleware
            listed = [
                {**tool, "_meta": _meta_with_viewer(tool.get("_meta"))}
                if isinstance(tool, dict) and tool.get("name") in self.viewer_tools
                else tool
                for tool in result["tools"]
            ]
            return {**result, "tools": listed}
        return result


def _meta_with_viewer(meta: dict[str, Any] | None) -> dict[str, Any]:
    given = dict(meta or {})
    ui = dict(given.get("ui") or {})
    ui.setdefault("resourceUri", VIEWER_URI)
    return {**given, "ui": ui}


def _without_views(result: HandlerResult) -> HandlerResult:
    """resources/list for a client without the extension: as if no `ui://` resource existed."""
    if isinstance(result, ListResourcesResult):
        kept = [item for item in result.resources if not str(item.uri).startswith(UI_SCHEME)]
        return result.model_copy(update={"resources": kept})
    if isinstance(result, dict) and isinstance(result.get("resources"), list):
        listed = [
            item
            for item in result["resources"]
            if not (isinstance(item, dict) and str(item.get("uri", "")).startswith(UI_SCHEME))
        ]
        return {**result, "resources": listed}
    return result
