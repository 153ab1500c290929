"""Function calling, streaming, grounding, chats and embeddings through MCP against the emulator."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.wire import camel_keys as camel
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}
TIME = {
    "name": "get_time",
    "description": "Current time in a timezone",
    "parameters": {"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}},
}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def bodies(emulator: Emulator, rpc: str) -> list[dict[str, Any]]:
    return [r["body"] for r in emulator.requests() if r["rpc"] == rpc]


# Function calling ----------------------------------------------------------------------------------------
async def test_plan_function_calls_returns_calls_then_the_final_answer(client: Client, emulator: Emulator) -> None:
    asked = await client.call_tool(
        "plan_function_calls", {"prompt": "What's the weather and the time in Paris?", "functions": [WEATHER, TIME]}
    )
    assert not asked.is_error, text_of(asked)
    calls = asked.structured_content["calls"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert calls[0]["args"]["unit"] == "celsius" and isinstance(calls[0]["args"]["city"], str)
    assert all(c["id"] for c in calls)
    tools = camel(bodies(emulator, "generateContent")[0]["tools"])
    declared = tools[0]["functionDeclarations"]
    assert "parametersJsonSchema" in declared[0] and "parameters" in declared[1]

    results = [
        {"name": c["name"], "args": c["args"], "id": c["id"], "response": {"result": f"{c['name']} ok"}} for c in calls
    ]
    final = await client.call_tool(
        "plan_function_calls",
        {"prompt": "What's the weather and the time in Paris?", "functions": [WEATHER, TIME], "results": results},
    )
    assert not final.is_error, text_of(final)
    assert final.structured_content["calls"] == []
    assert "get_weather ok" in final.structured_content["text"]
    history = camel(bodies(emulator, "generateContent")[1]["contents"])
    assert [c["role"] for c in history] == ["user", "model", "user"]
    assert "functionResponse" in history[2]["parts"][0]


async def test_mode_any_forces_a_call_and_none_forbids(client: Client) -> None:
    forced = await client.call_tool("plan_function_calls", {"prompt": "hello", "functions": [WEATHER], "mode": "ANY"})
    assert [c["name"] for c in forced.structured_content["calls"]] == ["get_weather"]
    none = await client.call_tool("plan_function_calls", {"prompt": "weather?", "functions": [WEATHER], "mode": "NONE"})
    assert none.structured_content["calls"] == [] and none.structured_content["text"]


@pytest.mark.parametrize(
    ("functions", "expected"),
    [
        ([{"name": "1bad", "description": "x"}], "functions[0].name"),
        ([{"name": "ok", "description": "x", "parameters": {"type": "OBJECT"}}], "must have properties"),
        ([{"name": "ok", "description": "x", "parameters": {"type": "string"}}], "must be an object schema"),
        ([WEATHER, WEATHER], "declared twice"),
        ([{"name": "ok"}], "functions.0.description: is required"),
    ],
)
async def test_malformed_declarations_are_refused(
    client: Client, emulator: Emulator, functions: list[Any], expected: str
) -> None:
    result = await client.call_tool("plan_function_calls", {"prompt": "x", "functions": functions})
    assert result.is_error and expected in text_of(result)
    assert bodies(emulator, "generateContent") == []


# Streaming -----------------------------------------------------------------------------------------------
async def test_progress_token_streams_growing_text(client: Client, emulator: Emulator) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    prompt = "Write a few words about streaming answers to agents"
    streamed = await client.call_tool("generate_text", {"prompt": prompt}, progress_callback=on_progress)
    plain = await client.call_tool("generate_text", {"prompt": prompt})
    assert not streamed.is_error, text_of(streamed)
    assert [r["rpc"] for r in emulator.requests()] == ["streamGenerateContent", "generateContent"]
    assert len(messages) >= 2
    assert all(
        later.startswith(earlier) and len(later) > len(earlier) for earlier, later in itertools.pairwise(messages)
    )
    assert messages[-1] == text_of(streamed) == text_of(plain)
    assert streamed.structured_content["usage"] == plain.structured_content["usage"]
    assert streamed.structured_content["finish_reason"] == "STOP"


# Grounding, URL context, code execution ----------------------------------------------------------------
async def test_search_web_returns_sources_queries_and_citations(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("search_web", {"query": "latest Gemini release"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["search_queries"] == ["latest Gemini release"]
    assert [s["index"] for s in data["sources"]] == [1, 2]
    assert data["sources"][0]["uri"].startswith("https://")
    assert "[1][2]" in data["text"]
    assert "Sources:" in text_of(result)
    assert camel(bodies(emulator, "generateContent")[0]["tools"]) == [{"googleSearch": {}}]


async def test_url_context_and_code_execution_options(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "generate_text",
        {"prompt": "Compare https://example.com/a and compute 2+2", "url_context": True, "code_execution": True},
    )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert [u["url"] for u in data["urls_read"]] == ["https://example.com/a"]
    assert data["code_runs"][0]["code"] and data["code_runs"][0]["outcome"] == "OUTCOME_OK"
    assert "```python" in text_of(result)


# Chats ---------------------------------------------------------------------------------------------------
async def test_three_turn_chat_keeps_history(client: Client, emulator: Emulator) -> None:
    started = await client.call_tool("chat_start", {"system_instruction": "Be brief", "model": "flash"})
    chat_id = started.structured_content["chat_id"]
    for turn, message in enumerate(["My name is Ada.", "I like maths.", "What do you know about me?"], start=1):
        reply = await client.call_tool("chat_send", {"chat_id": chat_id, "message": message})
        assert not reply.is_error, text_of(reply)
        assert reply.structured_content["turn"] == turn
    sent = bodies(emulator, "generateContent")
    assert [len(b["contents"]) for b in sent] == [1, 3, 5]
    assert "Be brief" in json.dumps(sent[-1])
    history = await client.call_tool("chat_history", {"chat_id": chat_id})
    assert [t["role"] for t in history.structured_content["turns"]] == ["user", "model"] * 3
    ended = await client.call_tool("chat_end", {"chat_id": chat_id})
    assert ended.structured_content["turns"] == 3
    gone = await client.call_tool("chat_send", {"chat_id": chat_id, "message": "hello?"})
    assert gone.is_error and "chat_start" in text_of(gone)


async def test_chats_are_bounded_and_refused_when_stateless_on_vertex(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_CHAT_MAX_SESSIONS="1") as client:
        first = (await client.call_tool("chat_start", {})).structured_content["chat_id"]
        second = await client.call_tool("chat_start", {})
        assert any(first in note for note in second.structured_content["notes"])
        assert (await client.call_tool("chat_history", {"chat_id": first})).is_error
    # Stateless on the Developer API, chats live at Google (tests/test_chats_stateless.py); on Vertex they cannot.
    vertex = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
    async with make_client(GEMINI_MCP_STATELESS="true", **vertex) as client:
        refused = await client.call_tool("chat_start", {})
    assert refused.is_error and "stateless" in text_of(refused)


# Embeddings ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("vertex", [False, True], ids=["developer-api", "vertex"])
async def test_embed_text_of_the_asked_dimension(
    make_client: Callable[..., Client], emulator: Emulator, vertex: bool
) -> None:
    from tests.conftest import FAKE_KEY

    env = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY} if vertex else {}
    async with make_client(**env) as client:
        result = await client.call_tool(
            "embed_text",
            {
                "texts": ["the cat sat", "the cat sat down", "quantum chromodynamics"],
                "task_type": "SEMANTIC_SIMILARITY",
                "output_dimensionality": 256,
            },
        )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["dimensions"] == 256 and [e["index"] for e in data["embeddings"]] == [0, 1, 2]
    vectors = [e["values"] for e in data["embeddings"]]
    assert all(abs(math.sqrt(sum(v * v for v in vec)) - 1) < 1e-6 for vec in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=False))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    request = camel(bodies(emulator, "batchEmbedContents")[0])
    assert "256" in json.dumps(request)


async def test_embed_text_batches_above_the_api_limit(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "embed_text", {"texts": [f"text {i}" for i in range(150)], "output_dimensionality": 8}
    )
    assert not result.is_error, text_of(result)
    assert len(result.structured_content["embeddings"]) == 150
    assert sorted(len(b["requests"]) for b in bodies(emulator, "batchEmbedContents")) == [50, 100]


async def test_embed_text_keeps_its_batches_in_flight_together_and_in_order(client: Client, emulator: Emulator) -> None:
    texts = [f"text {i}" for i in range(250)]
    emulator.add_fault(match="batchEmbedContents", hold=True, times=None)
    results: list[CallToolResult] = []
    async with anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await client.call_tool("embed_text", {"texts": texts, "output_dimensionality": 8}))

        group.start_soon(call)
        held = await emulator.await_requests("batchEmbedContents", 3)  # all three batches sent before any answer
        assert len(held) == 3 and results == []
        emulator.release_held()
    [result] = results
    assert not result.is_error, text_of(result)
    vectors = [e["values"] for e in result.structured_content["embeddings"]]
    one_by_one = await client.call_tool(
        "embed_text", {"texts": [texts[0], texts[120], texts[249]], "output_dimensionality": 8}
    )
    assert [e["values"] for e in one_by_one.structured_content["embeddings"]] == [
        vectors[0],
        vectors[120],
        vectors[249],
    ]


async def test_embed_text_one_failed_batch_fails_the_call_with_the_api_error(
    client: Client, emulator: Emulator
) -> None:
    emulator.add_fault(match="batchEmbedContents", status=400, message="Request contains an invalid argument.", times=1)
    result = await client.call_tool("embed_text", {"texts": [f"t{i}" for i in range(300)]})
    assert result.is_error and "invalid argument" in text_of(result)


async def test_embed_text_refuses_bad_dimensions(client: Client) -> None:
    result = await client.call_tool("embed_text", {"texts": ["x"], "output_dimensionality": 5000})
    assert result.is_error and "output_dimensionality" in text_of(result)
