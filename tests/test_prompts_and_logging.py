"""MCP prompts (host commands), completions for their arguments and for media ids, and log messages to
the client about retries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp_types import LoggingMessageNotificationParams, PromptReference, ResourceTemplateReference, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.server.prompts import media_argument

pytestmark = [
    pytest.mark.anyio,
    # logging/setLevel is deprecated in protocol 2026-07-28 but still what 2025-11-25 hosts send.
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://example.com/cat.png", {"url": "https://example.com/cat.png"}),
        ("gemini://media/0123456789ab", {"file_uri": "gemini://media/0123456789ab"}),
        ("https://www.youtube.com/watch?v=x", {"file_uri": "https://www.youtube.com/watch?v=x"}),
        ("files/abc123", {"file_uri": "files/abc123"}),
        ("  photos/cat.png ", {"path": "photos/cat.png"}),
    ],
)
def test_prompt_media_arguments_follow_what_the_user_typed(typed: str, expected: dict[str, str]) -> None:
    assert media_argument(typed) == expected


async def test_prompts_are_listed_and_name_the_tool_to_call(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert {"describe_image", "summarize_document", "narrate_text", "storyboard_video"} <= set(prompts)
    assert [a.name for a in prompts["narrate_text"].arguments or []] == ["text", "voice", "style"]
    assert [a.required for a in prompts["describe_image"].arguments or []] == [True, False]

    result = await client.get_prompt("describe_image", {"image": "https://example.com/cat.png", "focus": "the cat"})
    text = result.messages[0].content
    assert isinstance(text, TextContent)
    assert "analyze_media" in text.text and '"url": "https://example.com/cat.png"' in text.text
    assert "the cat" in text.text

    story = await client.get_prompt("storyboard_video", {"idea": "a paper boat", "shots": "2", "aspect_ratio": "9:16"})
    assert isinstance(story.messages[0].content, TextContent)
    assert "2 shots" in story.messages[0].content.text and "generate_video" in story.messages[0].content.text


async def test_completions_for_prompt_arguments(client: Client) -> None:
    voices = await client.complete(
        PromptReference(type="ref/prompt", name="narrate_text"), {"name": "voice", "value": "ch"}
    )
    assert voices.completion.values == ["Charon"]
    every = await client.complete(
        PromptReference(type="ref/prompt", name="narrate_text"), {"name": "voice", "value": ""}
    )
    assert len(every.completion.values) == every.completion.total == 30
    ratios = await client.complete(
        PromptReference(type="ref/prompt", name="storyboard_video"), {"name": "aspect_ratio", "value": "9"}
    )
    assert ratios.completion.values == ["9:16"]


async def test_completions_offer_the_ids_of_saved_media(client: Client) -> None:
    made = await client.call_tool("generate_image", {"prompt": "a kite", "output": "link"})
    media_id = made.structured_content["images"][0]["id"]  # type: ignore[index]
    template = ResourceTemplateReference(type="ref/resource", uri="gemini://media/{media_id}")
    found = await client.complete(template, {"name": "media_id", "value": media_id[:4]})
    assert media_id in found.completion.values
    assert (await client.complete(template, {"name": "media_id", "value": "zz"})).completion.values == []


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_retries_are_reported_to_the_client_as_log_messages(
    make_env: Callable[..., dict[str, str]], emulator: Emulator, mode: str
) -> None:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.server.app import build_server

    messages: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        messages.append(params)

    emulator.add_fault(match="generateContent", status=503, times=1)
    server = build_server(Settings.from_env(make_env(GEMINI_MCP_RETRY_DELAY="0.01", GEMINI_MCP_RETRIES="3")))
    options = {"log_level": "warning"} if mode != "legacy" else {}
    async with Client(server, mode=mode, logging_callback=on_log, **options) as client:  # type: ignore[arg-type]
        if mode == "legacy":
            await client.set_logging_level("info")
        result = await client.call_tool("generate_text", {"prompt": "hello"})
    assert not result.is_error
    assert [m.level for m in messages] == ["warning"]
    assert "generate_text: Gemini answered 503" in str(messages[0].data)
    assert "attempt 1 of 3" in str(messages[0].data) and "retrying" in str(messages[0].data)


async def test_no_log_messages_below_the_chosen_level(make_client: Callable[..., Client], emulator: Emulator) -> None:
    messages: list[LoggingMessageNotificationParams] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        messages.append(params)

    emulator.add_fault(match="generateContent", status=503, times=1)
    client = make_client(mode="legacy", GEMINI_MCP_RETRY_DELAY="0.01")
    client.logging_callback = on_log
    async with client:
        await client.set_logging_level("error")
        assert not (await client.call_tool("generate_text", {"prompt": "hello"})).is_error
    assert messages == []
