"""Spend: an estimate before paying, budgets refused before any upstream request, confirmation (elicitation in both
protocol eras, else confirm_cost), idempotency keys that never start a second paid job, and the ledger behind
spend_report and gemini://spend — through the real mcp client, the real SDK and the emulator.

Each test keeps its own ledger file (GEMINI_MCP_LEDGER_URL): budgets count everything a ledger holds."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.server.app import build_server
from tests import media_samples
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
IMAGE_RPC = "generateContent"
VERTEX = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
FAST = {"GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05"}
PNG = base64.b64encode(media_samples.png()).decode()


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def sent(emulator: Emulator, rpc: str | None = None) -> int:
    return len(emulator.requests(rpc))


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger" / "spend.sqlite3")


@pytest.fixture
def server(make_env: Callable[..., dict[str, str]], ledger: str) -> Callable[..., Any]:
    """A fresh server on this test's ledger (two calls of it: a restart, or a second replica)."""

    def make(**env: str | None) -> Any:
        return build_server(Settings.from_env(make_env(GEMINI_MCP_LEDGER_URL=ledger, **env)))

    return make


# --- estimates ----------------------------------------------------------------------------------------------
PLANNED: list[tuple[str, dict[str, Any], dict[str, str | None], float | None]] = [
    ("generate_image", {"prompt": "a fox", "number_of_images": 3}, {}, 0.117),
    ("generate_image", {"prompt": "a fox", "model": "gemini-3-pro-image", "image_size": "4K"}, {}, 0.24),
    ("generate_image", {"prompt": "a fox", "quality": "high", "number_of_images": 2}, VERTEX, 0.08),
    ("edit_image", {"instruction": "make it blue", "images": [{"data": PNG}]}, {}, 0.039),
    ("generate_video", {"prompt": "a comet", "duration_seconds": 6}, VERTEX, 0.9),
    ("generate_video", {"prompt": "a comet", "quality": "high"}, VERTEX, 3.2),
    ("generate_video", {"prompt": "a comet"}, {}, None),  # Gemini Omni: no published price
    ("extend_video", {"video": {"file_uri": "gemini://media/0123456789ab"}, "prompt": "then it rains"}, VERTEX, 1.05),
    ("generate_music", {"prompt": "calm piano", "duration_s": 60}, {}, None),
    ("deep_research", {"question": "history of the comma"}, {}, None),
    ("batch_generate", {"requests": [{"prompt": "x" * 400}] * 10, "max_output_tokens": 100}, {}, 0.0014),
]


@pytest.mark.parametrize(("tool", "arguments", "env", "usd"), PLANNED)
async def test_an_estimate_for_each_paid_tool_sends_nothing(
    server: Callable[..., Any],
    emulator: Emulator,
    tool: str,
    arguments: dict[str, Any],
    env: dict[str, str | None],
    usd: float | None,
) -> None:
    async with Client(server(**env)) as client:
        result = await client.call_tool("estimate_cost", {"tool": tool, "arguments": arguments})
    assert not result.is_error, text_of(result)
    data = result.structured_content or {}
    assert data["tool"] == tool and data["basis"]
    if usd is None:
        assert data.get("estimate_usd") is None and data["unknown"], data
        assert "price unknown" in data["basis"] and "GEMINI_MCP_PRICES_FILE" in data["basis"]
        assert "price unknown" in text_of(result)
    else:
        assert data["estimate_usd"] == pytest.approx(usd), data
        assert data["prices_as_of"] and data["source"]
    assert "Nothing was sent to Gemini" in text_of(result)
    assert emulator.requests() == []


async def test_estimate_cost_names_the_paid_tools_and_checks_the_arguments(server: Callable[..., Any]) -> None:
    async with Client(server()) as client:
        free = await client.call_tool("estimate_cost", {"tool": "generate_text", "arguments": {"prompt": "hi"}})
        wrong = await client.call_tool("estimate_cost", {"tool": "generate_image", "arguments": {"promt": "hi"}})
    assert free.is_error and "not a paid tool" in text_of(free) and "generate_video" in text_of(free)
    assert wrong.is_error and "prompt" in text_of(wrong) and "did you mean" in text_of(wrong)


async def test_a_price_overlay_replaces_a_figure_and_prices_an_unknown_model(
    server: Callable[..., Any], tmp_path: Path
) -> None:
    overlay = tmp_path / "prices.json"
    overlay.write_text(
        json.dumps(
            {
                "models": {
                    "gemini-omni-1.2-flash": {"per": "second", "usd": 0.1, "as_of": "2026-11-30", "source": "ours"}
                }
            }
        )
    )
    async with Client(server(GEMINI_MCP_PRICES_FILE=str(overlay))) as client:
        result = await client.call_tool(
            "estimate_cost", {"tool": "generate_video", "arguments": {"prompt": "x", "duration_seconds": 10}}
        )
    data = result.structured_content or {}
    assert data["estimate_usd"] == pytest.approx(1.0) and data["prices_as_of"] == "2026-11-30"
    assert data["source"] == "ours"


# --- cost in every paid result ------------------------------------------------------------------------------
async def test_a_paid_result_carries_its_cost_in_both_halves(server: Callable[..., Any], emulator: Emulator) -> None:
    async with Client(server()) as client:
        result = await client.call_tool("generate_image", {"prompt": "a lighthouse", "number_of_images": 2})
    assert not result.is_error, text_of(result)
    cost = (result.structured_content or {})["cost"]
    assert cost["estimate_usd"] == pytest.approx(0.078)
    assert cost["actual_usd"] is not None  # from the usage metadata the API reported
    assert cost["prices_as_of"] == "2025-08-26" and "ai.google.dev" in cost["source"]
    assert "Cost: $0.077 by the API's usage report" in text_of(result) or "Cost:" in text_of(result)
    assert sent(emulator, IMAGE_RPC) == 2


# --- budgets ------------------------------------------------------------------------------------------------
async def test_a_call_over_the_daily_budget_is_refused_with_nothing_sent(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server(GEMINI_MCP_BUDGET_DAILY_USD="0.1")) as client:
        over = await client.call_tool("generate_image", {"prompt": "a fox", "number_of_images": 3})
        assert sent(emulator) == 0
        first = await client.call_tool("generate_image", {"prompt": "a fox", "number_of_images": 2})
        again = await client.call_tool("generate_image", {"prompt": "a fox"})
        report = await client.call_tool("spend_report", {"by": "tool"})
    assert over.is_error
    message = text_of(over)
    assert "refused before anything was sent" in message and "GEMINI_MCP_BUDGET_DAILY_USD=$0.100" in message
    assert "about $0.117" in message and "leaving $0.100" in message and "Raise GEMINI_MCP_BUDGET_DAILY_USD" in message
    assert not first.is_error, text_of(first)
    assert again.is_error and "leaving $0.02" in text_of(again), text_of(again)  # 0.1 - 0.0774 (actual)
    assert sent(emulator, IMAGE_RPC) == 2  # only the call within the budget
    data = report.structured_content or {}
    assert data["rows"][0]["tool"] == "generate_image" and data["rows"][0]["calls"] == 1
    assert data["budgets"]["daily"]["limit_usd"] == 0.1


async def test_the_session_budget_is_per_session_and_a_failure_releases_its_reservation(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.add_fault(match=IMAGE_RPC, status=400, message="Invalid prompt.", times=1)
    async with Client(server(GEMINI_MCP_BUDGET_SESSION_USD="0.05")) as client:
        failed = await client.call_tool("generate_image", {"prompt": "a fox"})
        paid = await client.call_tool("generate_image", {"prompt": "a fox"})  # the failure charged nothing
        over = await client.call_tool("generate_image", {"prompt": "a fox"})
    # An upstream refusal (its wording is images.py's: it arrives wrapped in the task group's ExceptionGroup today).
    assert failed.is_error
    assert not paid.is_error, text_of(paid)
    assert over.is_error and "GEMINI_MCP_BUDGET_SESSION_USD" in text_of(over) and "new session" in text_of(over)
    async with Client(server(GEMINI_MCP_BUDGET_SESSION_USD="0.05")) as other:  # another session
        fresh = await other.call_tool("generate_image", {"prompt": "a fox"})
        report = await other.call_tool("spend_report", {})
    assert not fresh.is_error, text_of(fresh)
    rows = (report.structured_content or {})["rows"]
    assert rows[0]["calls"] == 3 and rows[0]["failed"] == 1


async def test_an_unknown_price_under_a_budget_needs_confirmation_and_reserves_the_approved_amount(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.configure(operation_duration_s=0)
    async with Client(server(GEMINI_MCP_BUDGET_DAILY_USD="2", **FAST)) as client:
        asked = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False})
        assert sent(emulator) == 0
        approved = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False, "confirm_cost": 1.5})
        over = await client.call_tool("generate_video", {"prompt": "a comet", "wait": False, "confirm_cost": 1.0})
    assert asked.is_error and "price is unknown" in text_of(asked) and "confirm_cost=" in text_of(asked)
    assert not approved.is_error, text_of(approved)
    assert "$1.50 approved and reserved" in (approved.structured_content or {})["cost"]["basis"]
    assert over.is_error and "leaving $0.500" in text_of(over)
    assert sent(emulator, "interactions.create") == 1


# --- confirmation -------------------------------------------------------------------------------------------
class Asker:
    """An elicitation callback that answers as told and remembers what it was asked."""

    def __init__(self, action: str = "accept", approve: bool = True) -> None:
        self.action = action
        self.approve = approve
        self.asked: list[ElicitRequestParams] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params)
        content = {"approve": self.approve} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


CONFIRM = {"GEMINI_MCP_CONFIRM_ABOVE_USD": "0.05"}


async def test_without_elicitation_a_dear_call_asks_for_confirm_cost(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server(**CONFIRM)) as client:
        asked = await client.call_tool("generate_image", {"prompt": "a fox", "number_of_images": 2})
        assert sent(emulator) == 0
        short = await client.call_tool(
            "generate_image", {"prompt": "a fox", "number_of_images": 2, "confirm_cost": 0.05}
        )
        done = await client.call_tool(
            "generate_image", {"prompt": "a fox", "number_of_images": 2, "confirm_cost": 0.078}
        )
        cheap = await client.call_tool("generate_image", {"prompt": "a fox"})  # under the threshold
    message = text_of(asked)
    assert asked.is_error and "about $0.078" in message and "GEMINI_MCP_CONFIRM_ABOVE_USD ($0.050)" in message
    assert "Nothing was sent or billed" in message and "confirm_cost=0.078" in message
    assert short.is_error
    assert not done.is_error and "cost confirmed with confirm_cost=0.078" in text_of(done)
    assert not cheap.is_error
    assert sent(emulator, IMAGE_RPC) == 3


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_client_with_elicitation_is_asked_in_either_protocol_era(
    server: Callable[..., Any], emulator: Emulator, mode: str
) -> None:
    yes = Asker()
    async with Client(server(**CONFIRM), mode=mode, elicitation_callback=yes) as client:
        result = await client.call_tool("generate_image", {"prompt": "a fox", "number_of_images": 2})
    assert not result.is_error, text_of(result)
    assert len(yes.asked) == 1 and "about $0.078" in yes.asked[0].message
    assert "cost confirmed by the user" in text_of(result)
    assert sent(emulator, IMAGE_RPC) == 2  # asked once, created once: the retried round did not draw again
    no = Asker(action="decline")
    async with Client(server(**CONFIRM), mode=mode, elicitation_callback=no) as client:
        refused = await client.call_tool("generate_image", {"prompt": "a fox", "number_of_images": 2})
    assert refused.is_error and "declined" in text_of(refused) and "nothing was sent" in text_of(refused)
    assert sent(emulator, IMAGE_RPC) == 2


# --- idempotency --------------------------------------------------------------------------------------------
async def test_the_same_key_twice_makes_one_upstream_create(server: Callable[..., Any], emulator: Emulator) -> None:
    call = {"prompt": "a fox", "idempotency_key": "fox-1"}
    async with Client(server()) as client:
        first = await client.call_tool("generate_image", call)
        second = await client.call_tool("generate_image", call)
        other = await client.call_tool("generate_image", {"prompt": "a wolf", "idempotency_key": "fox-1"})
    assert not first.is_error and not second.is_error, text_of(second)
    assert sent(emulator, IMAGE_RPC) == 1
    assert (second.structured_content or {})["images"] == (first.structured_content or {})["images"]
    assert (second.structured_content or {})["cost"]["replayed"] is True
    assert "nothing was sent to Gemini or billed" in text_of(second)
    assert other.is_error and "other arguments" in text_of(other)


async def test_a_job_is_found_again_by_its_key_and_id_after_a_restart(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    call = {"prompt": "a comet", "wait": False, "idempotency_key": "comet-7"}
    async with Client(server(**VERTEX, **FAST)) as client:
        started = await client.call_tool("generate_video", call)
    assert not started.is_error, text_of(started)
    job_id = (started.structured_content or {})["job_id"]
    async with Client(server(**VERTEX, **FAST)) as restarted:  # a new process on the same ledger
        again = await restarted.call_tool("generate_video", call)
        assert (again.structured_content or {})["job_id"] == job_id
        assert (again.structured_content or {})["status"] == "running"
        emulator.finish_all()
        collected = await restarted.call_tool("get_job", {"job_id": job_id})
        waited = await restarted.call_tool("generate_video", {**call, "wait": True})
        report = await restarted.call_tool("spend_report", {"by": "model"})
    assert sent(emulator, "predictLongRunning") == 1
    assert "collected it instead of starting" in text_of(again)
    assert not collected.is_error and (collected.structured_content or {})["status"] == "done", text_of(collected)
    assert not waited.is_error and (waited.structured_content or {})["videos"], text_of(waited)
    rows = (report.structured_content or {})["rows"]
    assert [(row["model"], row["calls"]) for row in rows] == [("veo-3.1-fast-generate-001", 1)]
    assert rows[0]["usd"] == pytest.approx(1.2)  # 8 s at $0.15/s


async def test_the_spend_resource_reports_the_ledger(server: Callable[..., Any]) -> None:
    async with Client(server(GEMINI_MCP_BUDGET_DAILY_USD="5")) as client:
        await client.call_tool("generate_image", {"prompt": "a fox"})
        found = await client.read_resource("gemini://spend")
    data = json.loads(found.contents[0].text)  # type: ignore[union-attr]
    assert data["calls"] == 1 and data["by_tool"][0]["tool"] == "generate_image"
    assert data["budgets"]["daily"]["limit_usd"] == 5.0 and data["ledger"].endswith("spend.sqlite3")


async def test_two_servers_on_one_sqlite_ledger_never_exceed_its_budget(
    server: Callable[..., Any], emulator: Emulator
) -> None:
    budget = {"GEMINI_MCP_BUDGET_DAILY_USD": "0.195"}  # five images at $0.039
    results: list[CallToolResult] = []

    async def one(client: Client, index: int) -> None:
        results.append(await client.call_tool("generate_image", {"prompt": f"a fox, take {index}"}))

    async with (
        Client(server(**budget)) as first,
        Client(server(**budget)) as second,
        anyio.create_task_group() as group,
    ):
        for index in range(20):
            group.start_soon(one, first if index % 2 else second, index)
    assert sum(1 for result in results if not result.is_error) == 5
    assert sent(emulator, IMAGE_RPC) == 5
