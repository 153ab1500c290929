"""Both halves of a tool result, each complete on its own: hosts show their model only one of them.

Claude Code and Codex hand the model the `structuredContent` JSON instead of the content blocks; Gemini CLI
hands it the content blocks and ignores `structuredContent`; Gemini CLI and Claude Code drop audio blocks,
and some hosts drop images. So once a handler has returned, the runner (framework/toolkit.py) calls
`complete_views`, which fills in, generically:

- in `structuredContent`: `summary` (the headline of the text content, one line), `notes` (everything the
  call noted, framework/call.py `Call.notes`) and, in demo mode, `demo` (the label). The answer, saved paths
  and links are the tool's own fields already. Only fields the output model declares are filled (every
  `ToolOutput` does), so the published output schema stays accurate;
- in the content blocks: one line per saved file that names its path and `gemini://media/<id>` URI (and its
  signed download link over HTTP), the notes, and, in demo mode, the label as the last block.

A tool that wants another summary sets `summary` itself; nothing here names a tool.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from mcp_types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, ConfigDict, Field

from gemini_mcp.media.store import MEDIA_URI_PREFIX

DEMO_LABEL = "[demo mode: emulated output from gemini-mcp's offline emulator, not from Google's Gemini API]"
SUMMARY_CHARS = 400  # one line; long enough for a status line that names a job or a saved path
ANSWER_CHARS = 120  # when the text is the answer itself, its summary is only its beginning
_FILLED = ("demo", "summary", "notes")


_OUTPUTS: weakref.WeakSet[type[BaseModel]] = weakref.WeakSet()  # the output models of tools
# The three fields as a tool's output schema shows them: plain types, as they are sent (the runner never sends
# null), with no pydantic titles or defaults.
_SCHEMAS: dict[str, dict[str, Any]] = {
    "demo": {"type": "string", "description": "Demo mode only: this result is emulated, not from Gemini."},
    "summary": {"type": "string", "description": "The result in one line."},
    "notes": {
        "type": "array",
        "items": {"type": "string"},
        "description": "What the server decided or noticed for this call.",
    },
}


def declare_output(model: type[BaseModel]) -> None:
    """`model` is a tool's own output (ToolSpec says so): its schema documents the fields the runner fills."""
    _OUTPUTS.add(model)


def _view_fields(schema: dict[str, Any], model: type[Any]) -> None:
    """The three fields in `model`'s JSON schema: lean on a tool's own output, and left out of the items nested
    in it (tool modules build those on ToolOutput too: a listed model, a code run), which the runner never fills.
    A field a subclass (or another base) declares itself keeps its own schema."""
    properties = schema.get("properties", {})
    for name in _FILLED:
        if name not in properties or any(
            name in vars(base).get("__annotations__", {}) for base in model.__mro__ if base is not ToolOutput
        ):
            continue
        if model in _OUTPUTS:
            properties[name] = dict(_SCHEMAS[name])
        else:
            del properties[name]


def _unset(value: Any) -> bool:
    return value is None


class ToolOutput(BaseModel):
    """Base of every tool's structured output. `demo`, `summary` and `notes` are filled by the runner
    (framework/views.py) on a tool's own output; a tool sets them only to say something else."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True, json_schema_extra=_view_fields)

    # Absent unless set, however a tool dumps its model: a tool's own JSON text never shows them as null.
    demo: Annotated[str | None, Field(description=_SCHEMAS["demo"]["description"], exclude_if=_unset)] = None
    summary: Annotated[str | None, Field(description=_SCHEMAS["summary"]["description"], exclude_if=_unset)] = None
    notes: Annotated[list[str] | None, Field(description=_SCHEMAS["notes"]["description"], exclude_if=_unset)] = None


def fields_taken(model: type[BaseModel]) -> frozenset[str]:
    """Which of `demo`, `summary`, `notes` the output model lets the runner fill."""
    if model.model_config.get("extra") == "allow":
        return frozenset(_FILLED)
    return frozenset(name for name in _FILLED if name in model.model_fields)


async def complete_views(
    result: CallToolResult, output_model: type[BaseModel], notes: Sequence[str], *, demo: bool
) -> None:
    """Make `result`'s structuredContent and its content blocks each carry the whole answer, in place."""
    from gemini_mcp.framework.delivery import saved_line  # with the first result, not at start-up

    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    data = result.structured_content
    if data is not None:  # the schema says these are never null
        data = {key: value for key, value in data.items() if not (key in _FILLED and value is None)}
    notes = _merged(data, notes)
    summary = None
    if data is not None:
        taken = fields_taken(output_model)
        summary = data.get("summary") or _headline(result.content, data)
        head: dict[str, Any] = {}
        if demo and "demo" in taken:
            head["demo"] = DEMO_LABEL
        if summary and "summary" in taken:
            head["summary"] = summary
        rest = {key: value for key, value in data.items() if key not in head}
        if notes and "notes" in taken:
            rest["notes"] = notes
        result.structured_content = {**head, **rest}  # what a model reading JSON meets first
    shown = "\n".join(texts)
    extra: list[ContentBlock] = []
    if not texts:  # a host that shows only the blocks still gets words
        words = summary or (json.dumps(data, ensure_ascii=False, indent=2) if data is not None else "")
        if words:
            extra.append(TextContent(type="text", text=words))
    lines = [await saved_line(item) for item in saved_media(data) if item["uri"] not in shown]
    if lines:
        extra.append(TextContent(type="text", text="\n".join(lines)))
    unsaid = [note for note in notes if note not in shown]
    if unsaid:
        extra.append(TextContent(type="text", text="\n".join(f"Note: {note}" for note in unsaid)))
    if demo:
        extra.append(TextContent(type="text", text=DEMO_LABEL))  # last, where tests and people look
    result.content = [*result.content, *extra]


def _merged(data: dict[str, Any] | None, notes: Sequence[str]) -> list[str]:
    """The notes the tool put in its output, then the call's others, each once, in order."""
    given = data.get("notes") if data is not None else None
    merged = [str(note) for note in given] if isinstance(given, list) else []
    return merged + [note for note in dict.fromkeys(notes) if note not in merged]


def _headline(content: Sequence[ContentBlock], data: dict[str, Any]) -> str | None:
    """The text content's headline. After media, the tool's account of what it saved (the last text block);
    otherwise the first text block: the answer's own beginning when that block is the answer."""
    texts = [block.text.strip() for block in content if isinstance(block, TextContent) and block.text.strip()]
    if not texts:
        return None
    with_media = any(not isinstance(block, TextContent) for block in content)
    text = texts[-1] if with_media else texts[0]
    parsed = _json_in(text)
    if parsed is not None:
        if parsed[0] == data:
            return None  # the text is the structured content itself: nothing to sum up
        return _shortened(json.dumps(parsed[0], ensure_ascii=False, separators=(",", ":")), ANSWER_CHARS)
    limit = ANSWER_CHARS if any(text == value for value in _strings(data)) else SUMMARY_CHARS
    return _shortened(_first_line(text).strip(), limit)


# Where `str.splitlines` ends a line: found by search, a long answer is not split into all of its lines.
_LINE_END = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _first_line(text: str) -> str:
    end = _LINE_END.search(text)
    return text if end is None else text[: end.start()]


def _json_in(text: str) -> tuple[Any] | None:
    # `text` is stripped, so JSON ends with the bracket it began with: "[1] of 3 sources …" is not parsed.
    if not (text.startswith("{") and text.endswith("}")) and not (text.startswith("[") and text.endswith("]")):
        return None
    try:
        return (json.loads(text),)
    except ValueError:
        return None


def _shortened(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2 :] else cut).rstrip(" ,;:") + "…"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def saved_media(value: Any) -> Iterator[dict[str, Any]]:
    """The saved files a structured result describes (framework/delivery.py's `SavedMedia` items), in order."""
    if isinstance(value, dict):
        uri = value.get("uri")
        if isinstance(uri, str) and uri.startswith(MEDIA_URI_PREFIX) and isinstance(value.get("path"), str):
            yield value
            return
        for item in value.values():
            yield from saved_media(item)
    elif isinstance(value, list):
        for item in value:
            yield from saved_media(item)
