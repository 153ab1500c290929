"""Text tools end to end: MCP client → server → real google-genai SDK → emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def model_calls(emulator: Emulator, rpc: str = "generateContent") -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["rpc"] == rpc]


async def test_tools_are_listed_with_schemas_titles_and_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {"generate_text", "generate_json", "count_tokens", "list_models"} <= set(tools)
    for tool in tools.values():
        assert tool.title and tool.description
        assert tool.output_schema is not None
        assert tool.annotations is not None and tool.annotations.open_world_hint is not None
        properties = tool.input_schema.get("properties", {})
        for name, prop in properties.items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    assert tools["generate_text"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["generate_text"].annotations.open_world_hint is True  # type: ignore[union-attr]


async def test_generate_text_returns_the_emulators_answer(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "Say hello to the tests"})
    assert not result.is_error, text_of(result)
    assert "Say hello to the tests" in text_of(result)
    structured = result.structured_content
    assert structured["model"] == "gemini-2.5-flash"
    assert structured["text"] == text_of(result)
    assert structured["finish_reason"] == "STOP"
    assert structured["usage"]["total_tokens"] > 0
    [request] = model_calls(emulator)
    assert request["model"] == "gemini-2.5-flash"
    assert request["has_api_key"]
    assert "thinkingConfig" not in json.dumps(request["body"])  # default: the model decides


async def test_system_instruction_sampling_and_conversation_reach_gemini(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "generate_text",
        {
            "contents": [
                {"role": "user", "parts": [{"text": "My name is Ada."}]},
                {"role": "model", "parts": [{"text": "Hello Ada."}]},
                {"role": "user", "parts": [{"text": "What is my name?"}]},
            ],
            "system_instruction": "Answer like a pirate",
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 20,
            "seed": 7,
        },
    )
    assert not result.is_error, text_of(result)
    [request] = model_calls(emulator)
    body = request["body"]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert "Answer like a pirate" in json.dumps(body["systemInstruction"])
    config = body["generationConfig"]
    assert (config["temperature"], config["topP"], config["topK"], config["seed"]) == (0.2, 0.9, 20, 7)


async def test_alias_is_resolved_before_the_call(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "pro"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["model"] == "gemini-2.5-pro"
    assert model_calls(emulator)[0]["model"] == "gemini-2.5-pro"


async def test_deprecated_model_is_refused_with_its_replacement(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "gemini-1.5-flash"})
    assert result.is_error
    assert "gemini-1.5-flash" in text_of(result) and "gemini-2.5-flash" in text_of(result)
    assert model_calls(emulator) == []  # refused before any call


async def test_max_output_tokens_sets_a_thinking_budget_and_says_so(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "max_output_tokens": 200})
    assert not result.is_error, text_of(result)
    config = model_calls(emulator)[0]["body"]["generationConfig"]
    assert config["maxOutputTokens"] == 200
    thinking = config.get("thinkingConfig") or config.get("thinking_config")
    assert (thinking.get("thinkingBudget") or thinking.get("thinking_budget")) == 100
    assert any("thinking_budget set to 100" in note for note in result.structured_content["notes"])


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"prompt": "hi", "model": "gemini-2.0-flash", "thinking_budget": 10},
            "does not take a thinking config",
        ),
        ({"prompt": "hi", "model": "pro", "thinking_budget": 0}, "cannot turn thinking off"),
        ({"prompt": "hi", "thinking_budget": 30000}, "thinking_budget"),
        (
            {"prompt": "hi", "thinking_budget": 500, "max_output_tokens": 400},
            "must be smaller than max_output_tokens",
        ),
        ({}, "give exactly one of `prompt`"),
        ({"prompt": "hi", "contents": [{"parts": [{"text": "x"}]}]}, "not both"),
        ({"prompt": "hi", "temperature": 3}, "temperature"),
        ({"prompt": "hi", "tempreature": 0.1}, "tempreature: is not a parameter"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "hi", "model": " "}, "model is blank"),
    ],
)
async def test_bad_input_is_a_tool_error_naming_the_field(
    client: Client, emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("generate_text", arguments)
    assert result.is_error
    assert expected in text_of(result)
    assert "Traceback" not in text_of(result)
    assert model_calls(emulator) == []
    # The server keeps serving.
    assert not (await client.call_tool("generate_text", {"prompt": "still there?"})).is_error


async def test_unknown_model_maps_the_404_to_advice(client: Client) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "gemini-9-ultra"})
    assert result.is_error
    message = text_of(result)
    assert "404" in message and "gemini-9-ultra" in message and "list_models" in message


async def test_rejected_key_names_the_variable_without_echoing_it(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_API_KEY="invalid-key-123456") as client:
        result = await client.call_tool("generate_text", {"prompt": "hi"})
    assert result.is_error
    assert "GEMINI_API_KEY" in text_of(result)
    assert "invalid-key-123456" not in text_of(result)


async def test_no_key_lists_tools_and_says_which_variable_to_set(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    async with make_client(GEMINI_API_KEY=None) as client:
        assert len((await client.list_tools()).tools) >= 4
        result = await client.call_tool("generate_text", {"prompt": "hi"})
    assert result.is_error
    assert "GEMINI_API_KEY" in text_of(result)
    assert emulator.requests() == []


async def test_vertex_express_mode(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(GOOGLE_GENAI_USE_VERTEXAI="true", GEMINI_API_KEY=None, GOOGLE_API_KEY=FAKE_KEY) as client:
        result = await client.call_tool("generate_text", {"prompt": "hello vertex"})
        assert not result.is_error, text_of(result)
        capabilities = await client.read_resource("gemini://capabilities")
    [request] = model_calls(emulator)
    assert request["backend"] == "vertex"
    data = json.loads(capabilities.contents[0].text)  # type: ignore[union-attr]
    assert data["backend"] == "vertex" and data["credentials"] == "API key from GOOGLE_API_KEY"


async def test_generate_json_with_a_json_schema(client: Client, emulator: Emulator) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age"],
    }
    result = await client.call_tool("generate_json", {"prompt": "Invent a person", "schema": schema})
    assert not result.is_error, text_of(result)
    data = result.structured_content["data"]
    assert isinstance(data["name"], str) and isinstance(data["age"], int)
    assert json.loads(text_of(result)) == data
    config = model_calls(emulator)[0]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseJsonSchema" in config or "response_json_schema" in config


async def test_generate_json_with_a_gemini_schema(client: Client, emulator: Emulator) -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"title": {"type": "STRING"}, "year": {"type": "INTEGER"}},
        "propertyOrdering": ["title", "year"],
        "required": ["title"],
    }
    result = await client.call_tool("generate_json", {"prompt": "A film", "schema": schema})
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content["data"]["title"], str)
    config = model_calls(emulator)[0]["body"]["generationConfig"]
    assert "responseSchema" in config or "response_schema" in config


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "OBJECT"}, "schema: an OBJECT must have properties"),
        (
            {"type": "OBJECT", "properties": {"address": {"type": "OBJECT", "properties": {}}}},
            "schema.properties.address: an OBJECT must have properties",
        ),
        ({"type": "object", "properties": {"x": {"type": "strin"}}}, "schema.properties.x"),
        ({"type": "ARRAY"}, "schema: an ARRAY must have"),
        ({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["b"]}, "schema.required"),
        ({}, "schema: must be a non-empty JSON object"),
    ],
)
async def test_broken_schema_is_refused_naming_the_path(
    client: Client, emulator: Emulator, schema: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("generate_json", {"prompt": "x", "schema": schema})
    assert result.is_error
    assert expected in text_of(result)
    assert model_calls(emulator) == []


async def test_answer_that_breaks_the_schema_is_not_returned_as_success(client: Client, emulator: Emulator) -> None:
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": '{"name": 42}'}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ]
    }
    emulator.add_fault(match="generateContent", response=body)
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    result = await client.call_tool("generate_json", {"prompt": "x", "schema": schema})
    assert result.is_error
    assert "answer (against schema).name" in text_of(result)


async def test_safety_block_is_explained(client: Client, emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", response={"promptFeedback": {"blockReason": "SAFETY"}})
    result = await client.call_tool("generate_text", {"prompt": "x"})
    assert result.is_error and "blocked the prompt: SAFETY" in text_of(result)


async def test_count_tokens(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("count_tokens", {"prompt": "How many tokens is this sentence?"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["total_tokens"] > 0
    assert model_calls(emulator, "countTokens")


async def test_list_models_shows_models_aliases_and_capabilities(client: Client) -> None:
    result = await client.call_tool("list_models", {"contains": "flash"})
    assert not result.is_error, text_of(result)
    structured = result.structured_content
    ids = [m["id"] for m in structured["models"]]
    assert ids and all("flash" in i for i in ids)
    assert structured["capabilities"]["aliases"]["nano banana"] == "gemini-2.5-flash-image"
    assert structured["capabilities"]["backend"] == "gemini"


async def test_list_models_without_a_key_still_explains(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_API_KEY=None) as client:
        result = await client.call_tool("list_models", {})
    assert not result.is_error
    assert "GEMINI_API_KEY" in " ".join(result.structured_content["notes"])


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_both_protocol_eras(make_client: Callable[..., Client], mode: str) -> None:
    async with make_client(mode=mode) as client:
        assert (await client.list_tools()).tools
        result = await client.call_tool("generate_text", {"prompt": "era check"})
    assert not result.is_error, text_of(result)
    assert "era check" in text_of(result)


async def test_the_key_never_appears_in_results(client: Client) -> None:
    calls = [
        ("generate_text", {"prompt": "hi"}),
        ("generate_text", {"prompt": "hi", "model": "nope-model"}),
        ("generate_json", {"prompt": "x", "schema": {"type": "OBJECT"}}),
        ("list_models", {}),
        ("count_tokens", {"prompt": "x"}),
    ]
    for name, arguments in calls:
        result = await client.call_tool(name, arguments)
        assert FAKE_KEY not in result.model_dump_json()


async def test_sampling_settings_in_config_reach_gemini_and_are_checked(client: Client, emulator: Emulator) -> None:
    schema = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}["generate_text"]
    assert "config" in schema["properties"] and "temperature" not in schema["properties"]  # one object, in prose
    assert "temperature" in schema["properties"]["config"]["description"]
    result = await client.call_tool(
        "generate_text",
        {"prompt": "hi", "config": {"temperature": 0.3, "top_k": 5, "stop_sequences": ["END"], "seed": 2}},
    )
    assert not result.is_error, text_of(result)
    config = model_calls(emulator)[-1]["body"]["generationConfig"]
    assert (config["temperature"], config["topK"], config["stopSequences"], config["seed"]) == (0.3, 5, ["END"], 2)
    for arguments, words in (
        ({"prompt": "hi", "config": {"temperature": 3}}, "config.temperature"),
        ({"prompt": "hi", "config": {"temprature": 1}}, "config.temprature"),
        ({"prompt": "hi", "temperature": 1, "config": {"temperature": 1}}, "give it once"),
        ({"prompt": "hi", "config": {"thinking_level": "HUGE"}}, "config.thinking_level"),
    ):
        refused = await client.call_tool("generate_text", arguments)
        assert refused.is_error and words in text_of(refused), (arguments, text_of(refused))
    assert len(model_calls(emulator)) == 1  # nothing refused reached Gemini
