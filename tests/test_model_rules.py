"""The model rules of shared/DESIGN.md, as pure functions."""

from __future__ import annotations

import pytest

from gemini_mcp.config.settings import Backend
from gemini_mcp.gemini.models import ModelError, Task, plan_thinking, resolve, resolve_model, thinking_limits


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("flash", "gemini-flash-latest"),
        ("Gemini Flash", "gemini-flash-latest"),
        ("flash-lite", "gemini-flash-lite-latest"),
        ("gemini lite", "gemini-flash-lite-latest"),
        ("pro", "gemini-2.5-pro"),
        ("gemini pro", "gemini-2.5-pro"),
        ("nano banana", "gemini-2.5-flash-image"),
        ("gemini flash image", "gemini-2.5-flash-image"),
        ("native audio", "gemini-2.5-flash-native-audio-preview-09-2025"),
        ("gemini text-to-speech", "gemini-2.5-flash-preview-tts"),
        ("gemini tts", "gemini-2.5-flash-preview-tts"),
        ("veo", "veo-3.1-fast-generate-preview"),
        ("veo fast", "veo-3.1-fast-generate-preview"),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash-preview-09-2025"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
    ],
)
def test_aliases_and_full_names(given: str, expected: str) -> None:
    assert resolve_model(given, Task.TEXT) == expected


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (Task.TEXT, "gemini-2.5-flash"),
        (Task.REASONING, "gemini-2.5-pro"),
        (Task.IMAGE, "gemini-2.5-flash-image"),
        (Task.IMAGE_HQ, "imagen-4.0-generate-001"),
        (Task.VIDEO, "veo-3.1-fast-generate-preview"),
        (Task.VIDEO_HQ, "veo-3.1-generate-preview"),
        (Task.LIVE, "gemini-2.5-flash-native-audio-preview-09-2025"),
        (Task.SPEECH, "gemini-2.5-flash-preview-tts"),
    ],
)
def test_task_defaults(task: Task, expected: str) -> None:
    assert resolve_model(None, task) == expected


@pytest.mark.parametrize(
    ("retired", "replacement"),
    [
        ("gemini-1.5-flash", "gemini-2.5-flash"),
        ("gemini-1.5-pro", "gemini-2.5-pro"),
        ("gemini-pro", "gemini-2.5-pro"),
        ("gemini-1.5-flash-002", "gemini-2.5-flash"),
        ("models/gemini-1.5-pro-latest", "gemini-2.5-pro"),
    ],
)
def test_retired_models_name_their_replacement(retired: str, replacement: str) -> None:
    with pytest.raises(ModelError, match=f"use '{replacement}'"):
        resolve_model(retired, Task.TEXT)


def test_thinking_only_on_the_25_series() -> None:
    assert thinking_limits("gemini-2.5-pro").maximum == 32768  # type: ignore[union-attr]
    assert thinking_limits("gemini-2.5-flash").maximum == 24576  # type: ignore[union-attr]
    assert thinking_limits("gemini-2.5-flash-lite").maximum == 24576  # type: ignore[union-attr]
    for model in ("gemini-2.0-flash", "gemini-2.5-flash-image", "gemini-2.5-flash-preview-tts"):
        assert thinking_limits(model) is None
    with pytest.raises(ModelError, match="does not take a thinking config"):
        plan_thinking("gemini-2.0-flash", 100, None)


def test_budget_bounds() -> None:
    assert plan_thinking("gemini-2.5-flash", 0, None).budget == 0
    assert plan_thinking("gemini-2.5-pro", 32768, None).budget == 32768
    assert plan_thinking("gemini-2.5-flash", -1, None).budget == -1
    with pytest.raises(ModelError, match=r"outside Gemini 2\.5 Flash's range"):
        plan_thinking("gemini-2.5-flash", 24577, None)
    with pytest.raises(ModelError, match="cannot turn thinking off"):
        plan_thinking("gemini-2.5-pro", 0, None)


def test_default_leaves_thinking_unset() -> None:
    assert plan_thinking("gemini-2.5-flash", None, None).budget is None


def test_max_output_tokens_gets_a_budget_that_leaves_room() -> None:
    plan = plan_thinking("gemini-2.5-flash", None, 200)
    assert plan.budget == 100
    assert plan.note and "100" in plan.note
    with pytest.raises(ModelError, match="must be smaller than max_output_tokens"):
        plan_thinking("gemini-2.5-flash", 300, 200)
    assert plan_thinking("gemini-2.5-flash-lite", None, 100).budget == 0  # below lite's minimum: off
    with pytest.raises(ModelError, match="at least 256"):
        plan_thinking("gemini-2.5-pro", None, 100)


def test_thinking_levels_come_from_the_catalog() -> None:
    assert thinking_limits("gemini-3.5-flash") is None  # a level model takes no budget
    assert plan_thinking("gemini-3.5-flash", None, None, "minimal").level == "MINIMAL"
    assert plan_thinking("gemini-4-carbon", None, None, "XHIGH").level == "XHIGH"
    with pytest.raises(ModelError, match="takes MINIMAL, LOW, MEDIUM, HIGH, not XHIGH"):
        plan_thinking("gemini-3.5-flash", None, None, "XHIGH")
    with pytest.raises(ModelError, match="takes thinking_budget, not thinking_level"):
        plan_thinking("gemini-2.5-pro", None, None, "HIGH")
    unknown = plan_thinking("gemini-9-ultra", 100, None)  # not in the catalog: sent as asked, and said so
    assert unknown.budget == 100 and unknown.note and "not in the model catalog" in unknown.note


@pytest.mark.parametrize(
    ("name", "task", "backend", "expected"),
    [
        (None, Task.TEXT, "gemini", "gemini-2.5-flash"),
        (None, Task.REASONING, "vertex", "gemini-2.5-pro"),
        ("flash", Task.TEXT, "vertex", "gemini-2.5-flash"),  # no -latest pointer on Vertex
        ("native audio", Task.LIVE, "vertex", "gemini-live-2.5-flash-native-audio"),
        ("veo quality", Task.VIDEO, "gemini", "gemini-omni-1.2-flash"),
        ("omni", Task.VIDEO, "vertex", "veo-3.1-fast-generate-001"),
        ("gemini-2.5-flash-preview-09-2025", Task.TEXT, "gemini", "gemini-2.5-flash-preview-09-2025"),
    ],
)
def test_resolution_per_backend(name: str | None, task: Task, backend: Backend, expected: str) -> None:
    assert resolve(name, task, backend).model == expected


def test_a_deprecated_model_runs_with_a_note() -> None:
    resolution = resolve("gemini-2.5-flash-preview-09-2025", Task.TEXT, "gemini")
    assert resolution.note and "deprecated" in resolution.note and "gemini-2.5-flash" in resolution.note
