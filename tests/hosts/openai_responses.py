"""A fake OpenAI Responses API for Codex: `POST /v1/responses` streamed as server-sent events (Codex always
streams), and `GET /v1/models` answered with an empty list (Codex then keeps its built-in model info)."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from tests.hosts.fake_api import RecordingServer, Reply, Script, json_reply, sse_reply

_ids = itertools.count(1)


def request_text(body: dict[str, Any]) -> str:
    texts = [str(body.get("instructions") or "")]
    for item in body.get("input") or []:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and "text" in part:
                texts.append(str(part["text"]))
    return "\n".join(texts)


def tool_names(body: dict[str, Any]) -> list[str]:
    """Function tools by name; those in a namespace tool (Codex puts each MCP server's tools in one, named
    `mcp__SERVER`) as `NAMESPACE.NAME`."""
    names = []
    for tool in body.get("tools") or []:
        if tool.get("type") == "function":
            names.append(str(tool.get("name")))
        for inner in tool.get("tools") or []:
            names.append(f"{tool.get('name')}.{inner.get('name')}")
    return names


def call_name(item: dict[str, Any]) -> str:
    return f"{item['namespace']}.{item.get('name')}" if item.get("namespace") else str(item.get("name"))


def describe_output(output: Any) -> list[str]:
    """A function_call_output as the model received it: a string, or a list of input_text/input_image parts."""
    if isinstance(output, str):
        return [output]
    lines = []
    for part in output or []:
        if part.get("type") == "input_text":
            lines.append(str(part.get("text")))
        elif part.get("type") == "input_image":
            url = str(part.get("image_url") or "")
            head, _, data = url.partition(";base64,")
            lines.append(f"Media received: {head.removeprefix('data:')}, {len(base64.b64decode(data))} bytes")
        else:
            lines.append(f"Part received: {part.get('type')}")
    return lines


class FakeResponses(RecordingServer):
    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script

    def model_requests(self) -> list[dict[str, Any]]:
        return self.requests(lambda r: r["method"] == "POST" and r["path"].split("?")[0].endswith("/responses"))

    def scripted_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.model_requests() if self.script.marker in request_text(r["body"] or {})]

    def answer(self, request: dict[str, Any]) -> Reply:
        path = request["path"].split("?", 1)[0]
        body = request["body"] or {}
        if request["method"] == "GET" and path.endswith("/models"):
            return json_reply({"models": []})
        if not path.endswith("/responses"):
            return json_reply({"error": {"message": f"no route {path}", "type": "invalid_request_error"}}, 404)
        items = [i for i in body.get("input") or [] if isinstance(i, dict)]
        made = [call_name(i) for i in items if i.get("type") == "function_call"]
        step = self.script.next_call(request_text(body), tool_names(body), made)
        if isinstance(step, tuple):
            call, name = step
            namespace, _, bare = name.rpartition(".")
            item = {
                "type": "function_call",
                "id": f"fc_{next(_ids):04d}",
                "call_id": f"call_{next(_ids):04d}",
                "name": bare,
                "arguments": json.dumps(call.args),
                "status": "completed",
            }
            if namespace:
                item["namespace"] = namespace
            return self._stream(item)
        if step is True:
            lines = [self.script.answer]
            tail = list(itertools.takewhile(lambda i: i.get("type") != "function_call", reversed(items)))
            for output in reversed([i for i in tail if i.get("type") == "function_call_output"]):
                lines += describe_output(output.get("output"))
            return self._stream(message("\n".join(lines)))
        return self._stream(message("OK."))

    def _stream(self, item: dict[str, Any]) -> Reply:
        response_id = f"resp_{next(_ids):04d}"
        usage = {
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 10,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 110,
        }
        events: list[tuple[str | None, dict[str, Any]]] = [
            ("response.created", {"type": "response.created", "response": {"id": response_id}}),
            ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}),
        ]
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(
                (
                    "response.output_text.delta",
                    {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "delta": text},
                )
            )
        events += [
            ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
            (
                "response.completed",
                {"type": "response.completed", "response": {"id": response_id, "status": "completed", "usage": usage}},
            ),
        ]
        return sse_reply(events)


def message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"msg_{next(_ids):04d}",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
