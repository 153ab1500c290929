"""Toolsets: which of the catalog's tools a server offers and, over HTTP, which ones one request may use.

Every tool belongs to one toolset (`ToolSpec.toolset`; by default its family module's name: `text`, `video`,
...). The server's settings choose what it registers (GEMINI_MCP_TOOLSETS, GEMINI_MCP_TOOLS,
GEMINI_MCP_EXCLUDE_TOOLS, GEMINI_MCP_READ_ONLY, or their flags); a tool it does not register exists for no
client. A transport may narrow that per request (server/http.py reads `X-MCP-*` headers and hands them to
`ToolsetGate.narrow`): narrowing only, so a request can never enable what the settings leave out.

One rule, for settings and headers alike:
1. the named toolsets (`all`, `default` and the groups expand), or the `default` set when neither toolsets nor
   single tools are named, plus the named single tools. `default` is every toolset but the opt-in ones (each of
   whose tools says `ToolSpec.opt_in`): with every family on, an agent would pay the context of ~45 tools on
   every turn, most of them for work it never does;
2. a chosen tool that starts long-running jobs brings the tools that collect and cancel them (get_job,
   cancel_job), so `wait: false` and a cut-off call can still be collected;
3. minus the excluded tools; with read-only, minus every tool not annotated read-only.
Names are checked against the catalog: an unknown one is an error naming the valid ones.

`ToolsetGate` is the MCP server middleware that applies a request's selection: tools/list answers only its
tools, and tools/call of a catalog tool outside it is refused with a protocol error (INVALID_PARAMS, as the MCP
spec answers an unknown tool) that says why and how to enable it. While a request runs, `active_selection()`
is its selection, so list_models and the capabilities resource describe what this caller can use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ListToolsResult

from gemini_mcp.config.settings import Settings, SettingsError
from gemini_mcp.framework.jobs import CANCEL_TOOL, COLLECT_TOOL

if TYPE_CHECKING:
    from gemini_mcp.framework.catalog import RegisteredSpec

ALL = "all"
DEFAULT = "default"
# Friendly names for several toolsets at once; a toolset a group names that this server lacks is skipped.
GROUPS: Mapping[str, tuple[str, ...]] = {
    "media": ("images", "speech", "video"),
    "knowledge": ("files", "caches", "file_search", "batch"),
}
NARROWED_KEPT = 64  # distinct header combinations whose selection is kept (agents reuse a handful)


@dataclass(frozen=True)
class Wanted:
    """What one source (the settings, or one request's headers) asks for, as written."""

    toolsets: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    read_only: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Wanted:
        return cls(settings.toolsets, settings.tools, settings.exclude_tools, settings.read_only)


@dataclass(frozen=True)
class Sources:
    """How to name each part of a `Wanted` in a message (a setting and its flag, or a header)."""

    toolsets: str
    tools: str
    exclude: str
    read_only: str


SETTINGS_SOURCES = Sources(
    toolsets="GEMINI_MCP_TOOLSETS / --toolsets",
    tools="GEMINI_MCP_TOOLS / --tools",
    exclude="GEMINI_MCP_EXCLUDE_TOOLS / --exclude-tools",
    read_only="GEMINI_MCP_READ_ONLY / --read-only",
)


class UnknownNames(ValueError):
    """Names that are no toolset or tool of this server; each problem names its source and the valid names."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True, eq=False)
class Selection:
    """The tools one source enables (within `within`, the server's own selection, when this one narrows it)."""

    tools: frozenset[str]
    toolsets: tuple[str, ...]  # toolsets with at least one enabled tool, in catalog order
    toolsets_off: tuple[str, ...]
    wanted: Wanted
    sources: Sources
    catalog: ToolCatalog
    within: Selection | None = None

    @property
    def read_only(self) -> bool:
        return self.wanted.read_only or (self.within is not None and self.within.read_only)

    def allows(self, name: str) -> bool:
        return name in self.tools

    def decided_by(self, name: str) -> Selection:
        """The selection that leaves `name` out: the server's own, or this narrower one."""
        if self.within is not None and not self.within.allows(name):
            return self.within.decided_by(name)
        return self

    def why_not(self, name: str) -> str:
        """Why a catalog tool is not enabled here, naming the setting or header that decided it."""
        decider = self.decided_by(name)
        spec = self.catalog.by_name[name]
        wanted, sources = decider.wanted, decider.sources
        if name in wanted.exclude:
            return f"{sources.exclude} excludes it"
        if wanted.read_only and not self.catalog.is_read_only(name):
            return f"it is not read-only and {sources.read_only} is on"
        return (
            f"neither its toolset '{spec.toolset}' ({sources.toolsets}) nor the tool itself ({sources.tools}) is chosen"
        )

    def refusal(self, name: str) -> str:
        where = "on this server" if self.decided_by(name).within is None else "for this request"
        enabled = ", ".join(self.catalog.ordered(self.tools)) or "none"
        return f"Tool {name} is not enabled {where}: {self.why_not(name)}. Enabled tools: {enabled}."


class ToolCatalog:
    """The catalog's tools by toolset, and how names become a Selection."""

    def __init__(self, specs: Sequence[RegisteredSpec]) -> None:
        self.by_name: dict[str, RegisteredSpec] = {spec.name: spec for spec in specs}
        self.toolsets: dict[str, list[str]] = {}
        for spec in specs:
            self.toolsets.setdefault(spec.toolset, []).append(spec.name)
        opt_in = {spec.toolset for spec in specs if spec.opt_in}
        self.groups: dict[str, tuple[str, ...]] = {
            ALL: tuple(self.toolsets),
            DEFAULT: tuple(toolset for toolset in self.toolsets if toolset not in opt_in),
        }
        for group, members in GROUPS.items():
            present = tuple(member for member in members if member in self.toolsets)
            if present and group not in self.toolsets:
                self.groups[group] = present
        self.collectors = tuple(name for name in (COLLECT_TOOL, CANCEL_TOOL) if name in self.by_name)

    def is_read_only(self, name: str) -> bool:
        return bool(self.by_name[name].annotations.read_only_hint)

    def ordered(self, names: Iterable[str]) -> list[str]:
        chosen = set(names)
        return [name for name in self.by_name if name in chosen]

    def select(self, wanted: Wanted, sources: Sources, within: Selection | None = None) -> Selection:
        """The Selection `wanted` makes (narrowing `within`), or UnknownNames naming every bad name."""
        problems = [
            *self._unknown(wanted.toolsets, sources.toolsets, "toolset", sources),
            *self._unknown(wanted.tools, sources.tools, "tool", sources),
            *self._unknown(wanted.exclude, sources.exclude, "tool", sources),
        ]
        if problems:
            raise UnknownNames(problems)
        # Naming nothing means the default set for the server, and everything the server offers for a request
        # that only narrows it (e.g. with just a read-only header).
        named = wanted.toolsets or (() if wanted.tools else (DEFAULT if within is None else ALL,))
        chosen: set[str] = set(wanted.tools)
        for toolset in named:
            for member in self.groups.get(toolset, (toolset,)):
                chosen.update(self.toolsets[member])
        if any(self.by_name[name].job_name is not None for name in chosen):
            chosen.update(self.collectors)
        chosen.difference_update(wanted.exclude)
        if wanted.read_only:
            chosen = {name for name in chosen if self.is_read_only(name)}
        if within is not None:
            chosen &= within.tools
        on = tuple(toolset for toolset, names in self.toolsets.items() if chosen.intersection(names))
        off = tuple(toolset for toolset in self.toolsets if toolset not in on)
        return Selection(frozenset(chosen), on, off, wanted, sources, self, within)

    def _unknown(self, names: Sequence[str], source: str, what: str, sources: Sources) -> list[str]:
        valid = [*self.toolsets, *self.groups] if what == "toolset" else list(self.by_name)
        problems = []
        for name in names:
            if name in valid:
                continue
            if what == "toolset" and name in self.by_name:
                hint = f" ({name} is a single tool: name it in {sources.tools})"
            elif what == "tool" and (name in self.toolsets or name in self.groups):
                hint = f" ({name} is a toolset: name it in {sources.toolsets})"
            else:
                hint = _did_you_mean(name, valid)
            problems.append(f"{source}: unknown {what} {name!r}{hint}; valid {what}s: {', '.join(valid)}")
        return problems


def _did_you_mean(name: str, valid: Sequence[str]) -> str:
    import difflib  # only on a bad name: not worth loading on every start

    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def server_selection(settings: Settings, specs: Sequence[RegisteredSpec]) -> Selection:
    """What the settings enable; a name that is no toolset or tool raises SettingsError (one line each)."""
    try:
        return ToolCatalog(specs).select(Wanted.from_settings(settings), SETTINGS_SOURCES)
    except UnknownNames as bad:
        raise SettingsError(bad.problems) from None


_ACTIVE: ContextVar[Selection | None] = ContextVar("gemini_mcp_toolsets", default=None)


def active_selection() -> Selection | None:
    """The selection of the request being handled (set by ToolsetGate), or None outside one."""
    return _ACTIVE.get()


Narrowing = Callable[[ServerRequestContext[Any, Any]], Selection | None]


class ToolsetGate:
    """MCP server middleware (`MCPServer.middleware`) applying each request's Selection: the server's own, or
    the narrower one `narrowing` (set by a transport) finds in the request. tools/list answers only its tools;
    tools/call of a catalog tool outside it is refused with INVALID_PARAMS saying why; names the catalog does not
    know are left to the SDK's own answer."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.narrowing: Narrowing | None = None
        self._narrowed: dict[tuple[Wanted, Sources], Selection] = {}

    def narrow(self, wanted: Wanted, sources: Sources) -> Selection:
        """The server's selection narrowed by `wanted`; UnknownNames for a name the catalog does not know."""
        key = (wanted, sources)
        found = self._narrowed.get(key)
        if found is None:
            found = self.selection.catalog.select(wanted, sources, within=self.selection)
            if len(self._narrowed) >= NARROWED_KEPT:
                self._narrowed.pop(next(iter(self._narrowed)))
            self._narrowed[key] = found
        return found

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:  # a notification: nothing to choose, and nobody to tell about a bad header
            return await call_next(ctx)
        selection = self.selection
        if self.narrowing is not None:
            # Raised before call_next, a bad header refuses even `initialize`: the operator learns at connect time.
            selection = self.narrowing(ctx) or selection
        token = _ACTIVE.set(selection)
        try:
            if ctx.method == "tools/call":
                name = (ctx.params or {}).get("name")
                if isinstance(name, str) and name in selection.catalog.by_name and not selection.allows(name):
                    raise MCPError(code=INVALID_PARAMS, message=selection.refusal(name))
            result = await call_next(ctx)
            if ctx.method == "tools/list" and selection is not self.selection:
                return _only(result, selection)
            return result
        finally:
            _ACTIVE.reset(token)


def _only(result: HandlerResult, selection: Selection) -> HandlerResult:
    if isinstance(result, ListToolsResult):
        return result.model_copy(update={"tools": [tool for tool in result.tools if selection.allows(tool.name)]})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        tools = [tool for tool in result["tools"] if isinstance(tool, dict) and selection.allows(tool.get("name", ""))]
        return {**result, "tools": tools}
    return result


def gate_of(middleware: Iterable[object]) -> ToolsetGate | None:
    """The ToolsetGate among a server's middleware (`MCPServer.middleware`), if it has one."""
    return next((item for item in middleware if isinstance(item, ToolsetGate)), None)
