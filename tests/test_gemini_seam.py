"""gemini/ stands alone: its helpers run against the emulator with a small object for the call (no MCP server,
no framework), and `read_answer` reads recorded emulator answers the one way every tool relies on."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.errors import GeminiCallError, LocalEnvironmentError, UserInputError
from gemini_mcp.gemini.client import GeminiClient
from gemini_mcp.gemini.context import GeminiCall
from gemini_mcp.gemini.embeddings import embed
from gemini_mcp.gemini.failures import describe_failure
from gemini_mcp.gemini.functions import Declared, Returned, calling_config, result_turns
from gemini_mcp.gemini.generate import count_tokens, generate, merge_chunks
from gemini_mcp.gemini.images import draw
from gemini_mcp.gemini.request import builtin_tools, user_contents
from gemini_mcp.gemini.response import EmptyAnswer, read_answer
from gemini_mcp.gemini.speech import speak
from gemini_mcp.media.store import MediaStore
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
FLASH = "gemini-2.5-flash"


@dataclass
class Caller:
    """All a gemini/ helper needs from a tool call (`GeminiCall`): settings, media, a client, progress, notes."""

    settings: Settings
    gemini: GeminiClient
    media: MediaStore
    wants_progress: bool = False
    notes: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)

    async def client(self) -> genai.Client:
        return await self.gemini.get()

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.heard.append(message or "")

    async def client_root_uris(self) -> list[str] | None:
        return None


@pytest.fixture
async def caller(emulator: Emulator, tmp_path: Path) -> AsyncIterator[Caller]:
    env = {"GEMINI_API_KEY": FAKE_KEY, "GOOGLE_GEMINI_BASE_URL": emulator.base_url, "GEMINI_MCP_RETRIES": "1"}
    settings = Settings.from_env({**env, "GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "media")})
    gemini = GeminiClient(settings)  # the server's own client: resilient transport and all
    seam: GeminiCall = Caller(settings, gemini, MediaStore(tmp_path / "media"))
    assert isinstance(seam, Caller)
    yield seam
    await gemini.aclose()


def user(text: str) -> list[types.Content]:
    return [types.Content(role="user", parts=[types.Part(text=text)])]


def candidate(parts: list[dict[str, Any]], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0, **extra}]}


# --- the seam, without a server ------------------------------------------------------------------------------
async def test_a_helper_runs_with_a_small_call_object(caller: Caller, emulator: Emulator) -> None:
    answer = await generate(caller, FLASH, await user_contents("hello seam", None, caller), None)
    assert answer.require_text().startswith(f"[emulated {FLASH}] Answer to: hello seam")
    assert answer.finish_reason == "STOP" and answer.usage is not None and answer.usage.total_tokens
    assert answer.info(FLASH, caller.notes).model == FLASH
    assert caller.heard == []  # nobody listens: not streamed
    assert [r["rpc"] for r in emulator.requests()] == ["generateContent"]
    assert await count_tokens(caller, FLASH, user("four words right here")) > 0
    assert len(await embed(caller, "gemini-embedding-001", ["a", "b", "c"], task_type=None, dimensions=8)) == 3


async def test_a_listener_gets_the_answer_streamed_and_the_same_result(caller: Caller, emulator: Emulator) -> None:
    prompt = "a prompt long enough to come back in several streamed events"
    whole = await generate(caller, FLASH, user(prompt), None)
    caller.wants_progress = True
    streamed = await generate(caller, FLASH, user(prompt), None)
    assert streamed.text == whole.text and streamed.usage == whole.usage
    assert len(caller.heard) > 1 and caller.heard[-1] == whole.text
    assert "streamGenerateContent" in [r["rpc"] for r in emulator.requests()]
    caller.heard.clear()
    spoken = await speak(caller, "gemini-2.5-flash-preview-tts", "Say hi", voice="Kore")
    assert caller.heard == []  # media answers are never streamed: their tools send a heartbeat
    [clip] = spoken.require_media("no audio")
    assert clip.data and (clip.mime_type or "").startswith("audio/")


async def test_upstream_failures_come_out_of_the_seam_as_upstream_errors(caller: Caller, emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", status=404, message="models/nope is not found")
    with pytest.raises(Exception) as raised:
        await generate(caller, "nope", user("x"), None)
    described = describe_failure(raised.value, model="nope", key_variable="GEMINI_API_KEY")
    assert isinstance(described, GeminiCallError) and not isinstance(described, UserInputError)
    assert described.code == 404 and "list_models" in str(described)


def test_a_disk_failure_is_the_local_environment() -> None:

    import google.genai  # noqa: F401  # describe_failure runs after a call, when the SDK is loaded

    error = OSError(errno.ENOSPC, "No space left on device")
    error.filename = "/srv/media/fox.png"
    described = describe_failure(
        error, model=None, key_variable=None, folders=[("GEMINI_MCP_OUTPUT_DIR", Path("/srv"))]
    )
    assert isinstance(described, LocalEnvironmentError) and not isinstance(described, GeminiCallError)
    assert str(described).startswith(LocalEnvironmentError.LEAD) and "GEMINI_MCP_OUTPUT_DIR" in str(described)


# --- parsing recorded emulator answers -----------------------------------------------------------------------
@pytest.fixture
def sdk(emulator: Emulator) -> genai.Client:
    return genai.Client(api_key=FAKE_KEY, http_options=types.HttpOptions(base_url=emulator.base_url))


async def record(sdk: genai.Client, prompt: str, model: str = FLASH, **config: Any) -> types.GenerateContentResponse:
    generated = types.GenerateContentConfig(**config) if config else None
    return await sdk.aio.models.generate_content(model=model, contents=prompt, config=generated)


async def test_text_and_usage(sdk: genai.Client) -> None:
    answer = read_answer(await record(sdk, "plain text please"))
    assert answer.text == f"[emulated {FLASH}] Answer to: plain text please" and answer.refusal is None
    assert answer.usage is not None and answer.usage.prompt_tokens and answer.usage.output_tokens
    assert (answer.media, answer.function_calls, answer.code_runs, answer.grounding) == ([], [], [], None)


async def test_thoughts_are_read_apart_from_the_answer(sdk: genai.Client) -> None:
    thinking = types.ThinkingConfig(include_thoughts=True)
    response = await record(sdk, "think first", thinking_config=thinking)
    assert any(part.thought for part in response.candidates[0].content.parts)  # type: ignore[index, union-attr]
    answer = read_answer(response)
    assert answer.thoughts.startswith("Thinking about: think first")
    assert "Thinking about" not in answer.text and answer.require_text().endswith("Answer to: think first")
    assert answer.usage is not None and answer.usage.thinking_tokens


async def test_streamed_chunks_merge_into_the_same_answer(sdk: genai.Client) -> None:
    prompt = "several events of streamed text for the merge"
    chunks = [chunk async for chunk in await sdk.aio.models.generate_content_stream(model=FLASH, contents=prompt)]
    assert len(chunks) > 1
    merged, whole = read_answer(merge_chunks(chunks)), read_answer(await record(sdk, prompt))
    assert (merged.text, merged.finish_reason, merged.usage) == (whole.text, whole.finish_reason, whole.usage)


async def test_a_blocked_prompt(sdk: genai.Client, emulator: Emulator) -> None:
    emulator.add_fault(
        match="generateContent",
        response={"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": "unsafe request"}},
    )
    answer = read_answer(await record(sdk, "x"))
    assert answer.prompt_block == "SAFETY" and not answer.has_candidates
    with pytest.raises(EmptyAnswer, match=r"blocked the prompt: SAFETY \(unsafe request\)") as raised:
        answer.require_text()
    assert isinstance(raised.value, GeminiCallError) and not isinstance(raised.value, UserInputError)


async def test_a_safety_stop_names_the_ratings_and_keeps_the_partial_text(
    sdk: genai.Client, emulator: Emulator
) -> None:
    ratings = [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    ]
    emulator.add_fault(
        match="generateContent", response=candidate([{"text": "Step one"}], "SAFETY", safetyRatings=ratings)
    )
    answer = read_answer(await record(sdk, "x"))
    assert answer.finish_reason == "SAFETY" and answer.flagged == ["HARM_CATEGORY_DANGEROUS_CONTENT=HIGH"]
    with pytest.raises(EmptyAnswer, match="stopped the answer for SAFETY") as raised:
        answer.require_text()
    assert "HARM_CATEGORY_DANGEROUS_CONTENT=HIGH" in str(raised.value) and "'Step one'" in str(raised.value)


async def test_no_candidates_and_an_empty_answer(sdk: genai.Client, emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", response={"candidates": []})
    none = read_answer(await record(sdk, "x"))
    assert not none.has_candidates and none.finish_reason is None and none.text == ""
    with pytest.raises(EmptyAnswer, match="no candidates"):
        none.require_text()
    used_up = read_answer(await record(sdk, "x", max_output_tokens=1))  # thinking took the whole budget
    assert used_up.finish_reason == "MAX_TOKENS" and used_up.text == ""
    with pytest.raises(EmptyAnswer, match="max_output_tokens was used up"):
        used_up.require_text()


async def test_function_calls_then_their_results(sdk: genai.Client) -> None:
    weather = Declared(
        "get_weather",
        "The weather in a city",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    config = calling_config([weather], "AUTO", None)
    asked = read_answer(await record(sdk, "What is the weather in Paris?", **config))
    [called] = asked.function_calls
    assert called.name == "get_weather" and set(called.args) == {"city"} and asked.text == ""
    contents = [*user("What is the weather in Paris?")]
    contents += result_turns([Returned(called.name, called.args, called.id, {"sky": "clear"})])
    final = read_answer(await sdk.aio.models.generate_content(model=FLASH, contents=contents, config=config))
    assert final.function_calls == [] and "get_weather returned" in final.require_text()


async def test_code_runs_and_urls_read(sdk: genai.Client) -> None:
    tools = builtin_tools(url_context=True, code_execution=True)
    answer = read_answer(await record(sdk, "Compute it from https://example.com/data", tools=tools))
    [run] = answer.code_runs
    assert (run.language, run.outcome, run.output) == ("PYTHON", "OUTCOME_OK", "emulated computation\n")
    assert answer.urls_read and answer.urls_read[0].url == "https://example.com/data"
    assert answer.urls_read[0].status == "URL_RETRIEVAL_STATUS_SUCCESS"


async def test_grounding_sources_queries_and_citations(sdk: genai.Client) -> None:
    answer = read_answer(await record(sdk, "Who won the cup?", tools=builtin_tools(google_search=True)))
    grounding = answer.grounding
    assert grounding is not None and grounding.queries == ["Who won the cup?"]
    assert [s.title for s in grounding.sources] == ["example.com", "wikipedia.org"]
    first_line, rest = answer.text.split("\n", 1)[0], answer.text[len(answer.text.split("\n", 1)[0]) :]
    assert grounding.cite(answer.text) == f"{first_line}[1][2]{rest}"
    assert grounding.cite("é") == "é[1][2]"  # offsets are UTF-8 bytes; a span past the end is cut to it


async def test_image_answers_and_an_image_safety_stop(caller: Caller) -> None:
    drawn = await draw(caller, "gemini-2.5-flash-image", user("a red fox"))
    [image] = drawn.require_media("no image")
    assert image.data and image.data.startswith(b"\x89PNG")
    blocked = await draw(caller, "gemini-2.5-flash-image", user("something unsafe"))
    assert blocked.inline == [] and blocked.finish_reason == "IMAGE_SAFETY"
    with pytest.raises(EmptyAnswer, match="IMAGE_SAFETY"):
        blocked.require_media("no image")
