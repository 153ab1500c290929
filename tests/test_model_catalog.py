"""The model catalog end to end: aliases and retirements, the config each model takes (thinking level or budget,
image_config), model_status passed on in notes, the overlay file, list_models and the capabilities resource, and
the README's models table. MCP client → server → real google-genai SDK → emulator over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult, ImageContent, TextContent

from gemini_mcp.emulator import Emulator
from gemini_mcp.gemini import catalog
from gemini_mcp.gemini.models import ModelError, Task, plan_thinking, resolve, resolve_model, use_overlay
from gemini_mcp.media.imaging import dimensions

pytestmark = pytest.mark.anyio
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(autouse=True)
def no_overlay() -> Iterator[None]:
    """Each test starts, and leaves, with the packaged catalog alone (the overlay slot is process-wide)."""
    use_overlay(None)
    yield
    use_overlay(None)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def calls(emulator: Emulator, rpc: str = "generateContent") -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["rpc"] == rpc]


def camel(value: Any) -> Any:
    """The SDK mixes camelCase and snake_case in request bodies: compare in one spelling."""
    if isinstance(value, dict):
        return {"".join(w.title() if i else w for i, w in enumerate(k.split("_"))): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def generation_config(request: dict[str, Any]) -> dict[str, Any]:
    return camel(request["body"].get("generationConfig") or request["body"].get("generation_config") or {})


# --- aliases and retirements ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "model"),
    [
        ("nano banana pro", "gemini-3-pro-image"),
        ("nano banana 2", "gemini-3.1-flash-image"),
        ("gemini 3.5 flash", "gemini-3.5-flash"),
        ("omni", "gemini-omni-1.2-flash"),
        ("lyria", "lyria-3.5"),
        ("flash", "gemini-flash-latest"),  # the seed's aliases stay where their models are served
        ("pro", "gemini-2.5-pro"),
    ],
)
def test_aliases_of_todays_models(alias: str, model: str) -> None:
    resolution = resolve(alias, Task.TEXT, "gemini")
    assert resolution.model == model and resolution.note is None


async def test_an_alias_to_a_current_model_reaches_it(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "gemini 3.5 flash"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["model"] == "gemini-3.5-flash"
    assert [r["model"] for r in calls(emulator)] == ["gemini-3.5-flash"]


def test_a_seed_alias_whose_model_is_retired_resolves_to_its_successor_with_a_note() -> None:
    on_gemini = resolve("veo", Task.VIDEO, "gemini")
    assert on_gemini.model == "gemini-omni-1.2-flash"
    assert on_gemini.note and "veo-3.1-fast-generate-preview" in on_gemini.note and "2026-10-22" in on_gemini.note
    assert resolve(None, Task.VIDEO_HQ, "gemini").model == "gemini-omni-1.2-flash"
    assert resolve("veo", Task.VIDEO, "vertex").model == "veo-3.1-fast-generate-001"
    assert resolve(None, Task.VIDEO_HQ, "vertex").model == "veo-3.1-generate-001"
    assert resolve(None, Task.LIVE, "vertex").model == "gemini-live-2.5-flash-native-audio"
    assert resolve_model("veo", Task.VIDEO) == "veo-3.1-fast-generate-preview"  # backend-neutral: the seed's id


async def test_an_alias_whose_target_the_overlay_retired_runs_the_successor(
    make_client: Callable[..., Client], emulator: Emulator, tmp_path: Path
) -> None:
    overlay = tmp_path / "models.json"
    retired = {"stage": "retired", "retired": "2026-11-30", "successor": "gemini-3.8-flash"}
    overlay.write_text(json.dumps({"models": [{"id": "gemini-flash-latest", "serves": {"gemini": retired}}]}))
    async with make_client(GEMINI_MCP_MODELS_FILE=str(overlay)) as client:
        result = await client.call_tool("generate_text", {"prompt": "hi", "model": "flash"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["model"] == "gemini-3.8-flash"
    assert [r["model"] for r in calls(emulator)] == ["gemini-3.8-flash"]
    [note] = [n for n in result.structured_content["notes"] if "gemini-flash-latest" in n]
    assert "'flash'" in note and "retired" in note and "2026-11-30" in note and "gemini-3.8-flash" in note
    assert note in text_of(result)  # the content blocks say it too


@pytest.mark.parametrize(
    ("model", "successor"),
    [("gemini-3-pro-preview", "gemini-3.1-pro-preview"), ("gemini-1.5-pro-002", "gemini-2.5-pro")],
)
async def test_a_retired_id_is_refused_before_any_call(
    client: Client, emulator: Emulator, model: str, successor: str
) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": model})
    assert result.is_error
    assert "retired" in text_of(result) and f"use '{successor}'" in text_of(result)
    assert emulator.requests() == []


async def test_a_404_for_a_model_the_catalog_thought_alive_names_the_successor(
    client: Client, emulator: Emulator
) -> None:
    # The catalog lists gemini-live-2.5-flash-preview as alive (deprecated); generateContent answers 404 for it.
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "gemini-live-2.5-flash-preview"})
    assert result.is_error
    message = text_of(result)
    assert "404" in message and "gemini-3.1-flash-live-preview" in message and "list_models" in message


# --- thinking: level for Gemini 3+, budget for 2.5, never both ------------------------------------------
async def test_thinking_level_reaches_a_gemini_3_model(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "generate_text", {"prompt": "hi", "model": "gemini-3.5-flash", "thinking_level": "LOW"}
    )
    assert not result.is_error, text_of(result)
    [request] = calls(emulator)
    assert generation_config(request)["thinkingConfig"] == {"thinkingLevel": "LOW"}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"model": "gemini-2.5-flash", "thinking_level": "LOW"}, "takes thinking_budget, not thinking_level"),
        ({"model": "gemini-3.5-flash", "thinking_budget": 1024}, "takes thinking_level, not a budget"),
        ({"model": "gemini-3.1-pro-preview", "thinking_level": "MINIMAL"}, "LOW, MEDIUM, HIGH"),
        ({"model": "gemini-3.5-flash", "thinking_level": "LOW", "thinking_budget": 10}, "not both"),
        ({"model": "gemini-2.0-flash", "thinking_level": "LOW"}, "does not take a thinking config"),
    ],
)
async def test_the_wrong_thinking_setting_is_refused_before_any_call(
    client: Client, emulator: Emulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", **arguments})
    assert result.is_error and expected in text_of(result), text_of(result)
    assert emulator.requests() == []


async def test_thinking_budget_still_reaches_a_25_model(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "thinking_budget": 512})
    assert not result.is_error, text_of(result)
    assert generation_config(calls(emulator)[0])["thinkingConfig"] == {"thinkingBudget": 512}


def test_max_output_tokens_on_a_level_model_picks_its_lowest_level() -> None:
    plan = plan_thinking("gemini-3.1-pro-preview", None, 200)
    assert plan.level == "LOW" and plan.budget is None and plan.note and "max_output_tokens=200" in plan.note


async def test_the_emulator_refuses_a_level_the_model_lacks(emulator: Emulator) -> None:
    from google import genai
    from google.genai import errors, types

    sdk = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emulator.base_url))
    level = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.XHIGH))
    with pytest.raises(errors.ClientError) as refused:
        await sdk.aio.models.generate_content(model="gemini-3.5-flash", contents="x", config=level)
    assert "XHIGH is not supported" in str(refused.value.message)
    with pytest.raises(errors.ClientError) as on_25:
        await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents="x", config=level)
    assert "Thinking level is not supported" in str(on_25.value.message)
    await sdk.aio.aclose()


async def test_the_emulator_lists_deprecated_models_and_answers_404_for_retired_ones(emulator: Emulator) -> None:
    from google import genai
    from google.genai import errors, types

    sdk = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emulator.base_url))
    listed = {m.name: m async for m in await sdk.aio.models.list()}
    assert "Deprecated: retires on 2027-03-31" in (listed["models/gemini-2.0-flash"].description or "")
    assert "models/gemini-3.8-flash" in listed and "models/gemini-3-pro-preview" not in listed
    with pytest.raises(errors.ClientError) as gone:
        await sdk.aio.models.generate_content(model="gemini-3-pro-preview", contents="x")
    assert gone.value.code == 404
    deprecated = await sdk.aio.models.generate_content(model="gemini-2.0-flash", contents="x")
    assert deprecated.model_status is not None and deprecated.model_status.model_stage == types.ModelStage.DEPRECATED
    assert deprecated.model_status.retirement_time is not None
    current = await sdk.aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert current.model_status is None
    await sdk.aio.aclose()


async def test_an_audio_only_live_model_is_refused_a_text_session(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "live_converse", {"text": "hi", "model": "gemini live", "response_modality": "text"}
    )
    assert result.is_error and "audio only" in text_of(result) and "gemini-3.1-flash-live-preview" in text_of(result)
    assert emulator.requests() == []


# --- the complex-task default -----------------------------------------------------------------------------
async def test_task_complex_picks_the_complex_default(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "prove it", "task": "complex"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["model"] == "gemini-2.5-pro"
    named = await client.call_tool("generate_text", {"prompt": "x", "task": "complex", "model": "flash"})
    assert named.structured_content["model"] == "gemini-flash-latest"  # a named model wins


# --- images: image_config where the model takes it, never for gemini-2.5-flash-image -----------------------
async def test_image_config_reaches_a_model_that_takes_it(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool(
        "generate_image",
        {"prompt": "a lighthouse", "model": "nano banana pro", "aspect_ratio": "16:9", "image_size": "2K"},
    )
    assert not result.is_error, text_of(result)
    [request] = calls(emulator)
    assert request["model"] == "gemini-3-pro-image"
    config = generation_config(request)
    assert config == {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"}}
    assert "Aspect ratio" not in json.dumps(request["body"]["contents"])  # a parameter, not words in the prompt
    [image] = [b for b in result.content if isinstance(b, ImageContent)]
    width, height = dimensions(base64.b64decode(image.data))  # type: ignore[misc]
    assert width == 128 and abs(width / height - 16 / 9) < 0.05  # 2K: the emulator's larger picture


async def test_gemini_25_flash_image_gets_no_image_config(client: Client, emulator: Emulator) -> None:
    shaped = await client.call_tool("generate_image", {"prompt": "a fox", "aspect_ratio": "9:16"})
    assert not shaped.is_error, text_of(shaped)
    [request] = calls(emulator)
    assert generation_config(request) == {"responseModalities": ["IMAGE"]}
    sized = await client.call_tool("generate_image", {"prompt": "a fox", "image_size": "2K"})
    assert sized.is_error and "image_size" in text_of(sized) and "nano banana pro" in text_of(sized)
    assert len(calls(emulator)) == 1


# --- model_status, list_models, capabilities ---------------------------------------------------------------
async def test_model_status_of_a_deprecated_model_is_passed_on_in_notes(client: Client, emulator: Emulator) -> None:
    result = await client.call_tool("generate_text", {"prompt": "hi", "model": "gemini-2.0-flash"})
    assert not result.is_error, text_of(result)
    [note] = [n for n in result.structured_content["notes"] if n.startswith("gemini-2.0-flash is ")]
    assert "deprecated" in note and "2027-03-31" in note and "gemini-2.5-flash" in note
    assert "will be retired" in note  # the API's own message, from model_status
    speech = await client.call_tool("generate_speech", {"text": "hi", "model": "gemini-3.1-flash-tts-preview"})
    assert not speech.is_error, text_of(speech)
    assert any("gemini-3.8-flash-lite-tts" in n for n in speech.structured_content["notes"])


async def test_list_models_and_capabilities_show_stage_and_availability(
    make_client: Callable[..., Client], emulator: Emulator
) -> None:
    from gemini_mcp.gemini.listing import forget_listings

    forget_listings()  # fetched here, not taken from the process-wide cache an earlier test may have filled
    async with make_client() as client:
        await _list_models_and_capabilities(client, emulator)


async def _list_models_and_capabilities(client: Client, emulator: Emulator) -> None:
    listed = await client.call_tool("list_models", {"contains": "2.0-flash"})
    assert not listed.is_error, text_of(listed)
    models = {m["id"]: m for m in listed.structured_content["models"]}
    assert models["gemini-2.0-flash"]["stage"] == "deprecated"
    assert models["gemini-2.0-flash"]["retires"] == "2027-03-31"
    assert models["gemini-2.0-flash"]["successor"] == "gemini-2.5-flash"
    assert "deprecated, retires 2027-03-31" in text_of(listed)
    assert len(calls(emulator, "list")) >= 1
    resource = await client.read_resource("gemini://capabilities")
    capabilities = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
    by_id = {m["id"]: m for m in capabilities["models"]}
    assert by_id["gemini-2.0-flash"]["available"] is True  # listed by the last models.list
    assert by_id["gemini-3-pro-preview"]["stage"] == "retired"
    assert by_id["gemini-3-pro-preview"]["successor"] == "gemini-3.1-pro-preview"
    assert capabilities["defaults"]["video"] == "gemini-omni-1.2-flash"


async def test_the_model_list_is_cached_for_its_ttl(make_client: Callable[..., Client], emulator: Emulator) -> None:
    async with make_client(GEMINI_MCP_MODELS_TTL="3600") as client:
        await client.call_tool("list_models", {})
        first = len(calls(emulator, "list"))
        await client.call_tool("list_models", {"contains": "flash"})
        assert len(calls(emulator, "list")) == first
    async with make_client(GEMINI_MCP_MODELS_TTL="0") as uncached:
        await uncached.call_tool("list_models", {})
        assert len(calls(emulator, "list")) > first


# --- the overlay file ------------------------------------------------------------------------------------
async def test_the_overlay_adds_a_model_and_an_alias(
    make_client: Callable[..., Client], emulator: Emulator, tmp_path: Path
) -> None:
    overlay = tmp_path / "models.json"
    model = {
        "id": "gemini-3.9-flash",
        "tasks": ["text"],
        "serves": {"gemini": {"stage": "preview"}},
        "thinking": {"levels": ["LOW", "HIGH"]},
        "source": "our own notes",
    }
    overlay.write_text(json.dumps({"aliases": {"house flash": "gemini-3.9-flash"}, "models": [model]}))
    async with make_client(GEMINI_MCP_MODELS_FILE=str(overlay)) as client:
        refused = await client.call_tool(
            "generate_text", {"prompt": "hi", "model": "house flash", "thinking_level": "MEDIUM"}
        )
        sent = calls(emulator)
        resource = await client.read_resource("gemini://capabilities")
        overlay.write_text(json.dumps({"aliases": {"house flash": "gemini-3.5-flash"}, "models": [model]}))
        reloaded = await client.call_tool("generate_text", {"prompt": "hi", "model": "house flash"})
    assert refused.is_error and "LOW, HIGH" in text_of(refused)  # the overlay's levels, checked before any call
    assert sent == []
    capabilities = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
    assert capabilities["aliases"]["house flash"] == "gemini-3.9-flash"
    assert any(m["id"] == "gemini-3.9-flash" and m["stage"] == "preview" for m in capabilities["models"])
    assert not reloaded.is_error and reloaded.structured_content["model"] == "gemini-3.5-flash"  # re-read on change


async def test_a_broken_overlay_is_a_clear_error(make_client: Callable[..., Client], tmp_path: Path) -> None:
    overlay = tmp_path / "models.json"
    overlay.write_text(json.dumps({"models": [{"id": "x", "serves": {"gemini": {"stage": "gone"}}}]}))
    async with make_client(GEMINI_MCP_MODELS_FILE=str(overlay)) as client:
        result = await client.call_tool("generate_text", {"prompt": "hi"})
    message = text_of(result)
    assert result.is_error and "GEMINI_MCP_MODELS_FILE" in message and "stage" in message and "gone" in message


def test_the_overlay_is_refused_with_the_entry_named() -> None:
    with pytest.raises(catalog.CatalogError, match="unknown keys"):
        catalog._build(
            catalog._parse(
                {"models": [{"id": "y", "serves": {"gemini": {"stage": "ga"}}, "tasc": []}]},
                catalog._packaged_raw(),
                "test",
            ),
            None,
            "test",
        )
    with pytest.raises(ModelError, match="blank"):
        resolve(" ", Task.TEXT)


# --- the packaged data and the README -------------------------------------------------------------------
def test_every_alias_default_and_successor_names_a_catalog_model() -> None:
    loaded = catalog.load()
    known = {e.id for e in loaded.entries()}
    named = [*loaded.aliases.values(), *loaded.defaults.values()]
    for entry in loaded.entries():
        named += [s.successor for s in entry.serves.values() if s.successor]
        named += [entry.successor or entry.id, *entry.elsewhere.values()]
    assert sorted(set(named) - known) == []
    assert loaded.as_of == "2026-12-01" and "google-genai 3.6.1" in loaded.source
    assert all(entry.source for entry in loaded.entries())


def test_readme_models_table_is_the_catalogs() -> None:
    document = README.read_text(encoding="utf-8")
    start, end = document.find(catalog.TABLE_START), document.find(catalog.TABLE_END)
    assert start >= 0 and end > start, (
        f"README.md has no {catalog.TABLE_START} … {catalog.TABLE_END} section: paste "
        "`python -m gemini_mcp.gemini.catalog --markdown` there (or run it with --update README.md)"
    )
    assert document[start + len(catalog.TABLE_START) : end].strip() == catalog.markdown_table().strip(), (
        "README.md's models table differs from the catalog: run python -m gemini_mcp.gemini.catalog --update README.md"
    )
