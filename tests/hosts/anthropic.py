"""A fake Anthropic Messages API for Claude Code: `POST /v1/messages` (streamed as server-sent events when the
request says `stream: true`, as Claude Code asks) and `POST /v1/messages/count_tokens`."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from tests.hosts.fake_api import RecordingServer, Reply, Script, json_reply, sse_reply

_ids = itertools.count(1)


def blocks(content: Any) -> list[dict[str, Any]]:
    """A message's content as blocks (the API takes a bare string too)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def request_text(body: dict[str, Any]) -> str:
    texts = [b.get("text", "") for m in body.get("messages") or [] for b in blocks(m.get("content"))]
    texts += [b.get("text", "") for b in blocks(body.get("system"))]
    return "\n".join(str(t) for t in texts)


def tool_results(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in blocks(message.get("content")) if b.get("type") == "tool_result"]


def describe_result(result: dict[str, Any]) -> list[str]:
    """The tool result as the model received it: its text, and a line per image."""
    lines = []
    for block in blocks(result.get("content")):
        if block.get("type") == "text":
            lines.append(str(block.get("text")))
        elif block.get("type") == "image":
            source = block.get("source") or {}
            size = len(base64.b64decode(source.get("data") or ""))
            lines.append(f"Media received: {source.get('media_type')}, {size} bytes")
        else:
            lines.append(f"Block received: {block.get('type')}")
    return lines


class FakeAnthropic(RecordingServer):
    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script

    def model_requests(self) -> list[dict[str, Any]]:
        """The requests of the scripted conversation (the host's own side requests left out)."""
        return self.requests(lambda r: r["path"].startswith("/v1/messages?") or r["path"] == "/v1/messages")

    def scripted_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.model_requests() if self.script.marker in request_text(r["body"] or {})]

    def answer(self, request: dict[str, Any]) -> Reply:
        path = request["path"].split("?", 1)[0]
        body = request["body"] or {}
        if path == "/v1/messages/count_tokens":
            return json_reply({"input_tokens": len(json.dumps(body)) // 4})
        if path != "/v1/messages":
            return json_reply({"type": "error", "error": {"type": "not_found_error", "message": path}}, 404)
        offered = [str(t.get("name")) for t in body.get("tools") or []]
        made = [
            str(b.get("name"))
            for m in body.get("messages") or []
            if m.get("role") == "assistant"
            for b in blocks(m.get("content"))
            if b.get("type") == "tool_use"
        ]
        step = self.script.next_call(request_text(body), offered, made)
        if isinstance(step, tuple):
            call, name = step
            content: dict[str, Any] = {
                "type": "tool_use",
                "id": f"toolu_{next(_ids):04d}",
                "name": name,
                "input": call.args,
            }
            return self._message(body, content, "tool_use")
        if step is True:
            last = (body.get("messages") or [{}])[-1]
            lines = [self.script.answer]
            for result in tool_results(last):
                lines += describe_result(result)
            return self._message(body, {"type": "text", "text": "\n".join(lines)}, "end_turn")
        return self._message(body, {"type": "text", "text": "OK."}, "end_turn")

    def _message(self, body: dict[str, Any], block: dict[str, Any], stop: str) -> Reply:
        usage = {"input_tokens": len(json.dumps(body)) // 4, "output_tokens": 10}
        message = {
            "id": f"msg_{next(_ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model") or "claude-fake",
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            return json_reply(message)
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        return sse_reply(
            [
                (
                    "message_start",
                    {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
                ),
                ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                (
                    "message_delta",
                    {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage},
                ),
                ("message_stop", {"type": "message_stop"}),
            ]
        )
