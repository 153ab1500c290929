"""Scripted model turns: the emulator plays the model of a real agent host (Gemini CLI) on a script.

Opt-in and inert unless configured: `Emulator.configure(extra={"scripted": [rule, …]})` or
`POST /_emulator/config {"extra": {"scripted": [rule, …]}}`. A rule is

    {"marker": "RT-1", "calls": [{"name": "generate_image", "args": {"prompt": "a red fox"}}, …],
     "answer": "Done."}

It applies to a generateContent / streamGenerateContent request whose text (any turn, the system instruction
included) contains `marker` and that declares a function for each call: one named `name`, or ending in
`_name` / `__name` / `.name` / `/name` (hosts prefix MCP tools: Gemini CLI's `mcp_gemini_generate_image`).
Requests without those tools (a host's routing, next-speaker or summary calls) are served as usual, so the
script never answers a question it was not written for. The reply is the next call the conversation has not
made yet (as a `functionCall` with the host's name for the tool); once every call was made, it is text:
`answer`, then each function response of the last turn quoted as JSON, then what media came with it
(`image/png, 1234 bytes`), so a host's final output shows what its model was handed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gemini_mcp.emulator import validate
from gemini_mcp.emulator.state import RpcContext
from gemini_mcp.emulator.wire import estimate_tokens, get

SCRIPT_KEY = "scripted"


def reply(ctx: RpcContext) -> dict[str, Any] | None:
    """The scripted answer to this request, or None when no rule applies."""
    rules = ctx.state.config.extra.get(SCRIPT_KEY) or []
    contents: list[Any] = ctx.body.get("contents") or []
    declared = [
        str(get(d, "name")) for tool in ctx.body.get("tools") or [] for d in get(tool, "function_declarations") or []
    ]
    text = _all_text(ctx.body)
    for rule in rules:
        marker = str(rule.get("marker") or "")
        calls = rule.get("calls") or []
        if not marker or marker not in text:
            continue
        names = [_declared_name(str(call.get("name")), declared) for call in calls]
        if any(name is None for name in names):
            continue
        made = _calls_made(contents)
        for call, name in zip(calls, names, strict=True):
            if name not in made:
                return _response(ctx, [{"functionCall": {"name": name, "args": call.get("args") or {}}}])
        return _response(ctx, [{"text": _final_text(str(rule.get("answer") or "Scripted answer."), contents)}])
    return None


def _declared_name(wanted: str, declared: list[str]) -> str | None:
    for name in declared:
        if name == wanted or re.fullmatch(rf".*(?:_|__|\.|/){re.escape(wanted)}", name):
            return name
    return None


def _all_text(body: dict[str, Any]) -> str:
    texts = [str(p["text"]) for c in body.get("contents") or [] for p in get(c, "parts") or [] if "text" in p]
    system = get(body, "system_instruction")
    texts += [str(p["text"]) for p in get(system, "parts") or [] if isinstance(p, dict) and "text" in p]
    return "\n".join(texts)


def _calls_made(contents: list[Any]) -> set[str]:
    return {
        str(get(get(part, "function_call"), "name"))
        for content in contents
        for part in get(content, "parts") or []
        if get(part, "function_call") is not None
    }


def _final_text(answer: str, contents: list[Any]) -> str:
    lines = [answer]
    last = get(contents[-1], "parts") or [] if contents else []
    for part in last:
        response = get(part, "function_response")
        if response is None:
            continue
        lines.append(f"{get(response, 'name')} returned: {json.dumps(get(response, 'response'), sort_keys=True)}")
        # Newer hosts nest media in the function response (`functionResponse.parts`).
        lines += [_media_line(p) for p in get(response, "parts") or [] if validate.decode_inline(p) is not None]
    lines += [_media_line(p) for p in last if validate.decode_inline(p) is not None]
    return "\n".join(lines)


def _media_line(part: Any) -> str:
    decoded = validate.decode_inline(part)
    mime, data = decoded if decoded is not None else ("unknown", b"")
    return f"Media received: {mime}, {len(data)} bytes"


def _response(ctx: RpcContext, parts: list[dict[str, Any]]) -> dict[str, Any]:
    prompt_tokens = estimate_tokens(json.dumps(ctx.body.get("contents") or []))
    answer_tokens = estimate_tokens(json.dumps(parts))
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens,
        },
        "modelVersion": ctx.model,
    }
