"""Spend: estimate_cost (what a planned paid call would cost, without making it) and spend_report (the ledger).

The prices, budgets, confirmation and ledger are the framework's (framework/spend.py, framework/ledger.py,
gemini/prices.py); these tools only read them. The same report is the resource gemini://spend.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_mcp.framework.call import Call
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.spend import estimate_call, money, report
from gemini_mcp.framework.toolkit import structured_result


class EstimateInput(ToolInput):
    """Arguments of estimate_cost."""

    tool: Annotated[str, Field(min_length=1, description="The paid tool, e.g. generate_video.")]
    arguments: Annotated[
        dict[str, Any], Field(default_factory=dict, description="The arguments you would call it with.")
    ]


class Budget(BaseModel):
    setting: str
    limit_usd: float | None = None
    used_usd: float | None = None
    left_usd: float | None = None


class EstimateOutput(ToolOutput):
    tool: str
    model: str | None = None
    estimate_usd: Annotated[float | None, Field(description="null: the price is unknown.")] = None
    basis: Annotated[str, Field(description="How it was worked out.")]
    prices_as_of: str | None = None
    source: str | None = None
    unknown: Annotated[str | None, Field(description="Why the price is unknown.")] = None
    needs_confirmation: Annotated[str | None, Field(description="Why the call would ask to confirm.")] = None
    over_budget: Annotated[list[str] | None, Field(description="Budgets the call would pass.")] = None
    budgets: Annotated[dict[str, Budget], Field(default_factory=dict, description="daily, session, client_daily.")]


async def estimate_cost(args: EstimateInput, call: Call) -> CallToolResult:
    found = await estimate_call(call.services, call, args.tool, args.arguments)
    call.notes.extend(found.pop("notes") or [])
    output = EstimateOutput.model_validate(found)
    lines = [f"{output.tool}: about {money(output.estimate_usd)} ({output.basis})."]
    if output.prices_as_of:
        lines.append(f"Prices as of {output.prices_as_of} ({output.source}).")
    if output.needs_confirmation:
        lines.append(f"It would ask for confirmation: {output.needs_confirmation} (or pass confirm_cost).")
    if output.over_budget:
        lines.append(f"It would be refused: over {', '.join(output.over_budget)}.")
    for name, budget in output.budgets.items():
        if budget.limit_usd is not None:
            lines.append(
                f"{name} budget ({budget.setting}): {money(budget.used_usd)} used of {money(budget.limit_usd)}."
            )
    lines.append("Nothing was sent to Gemini.")
    return structured_result(output, text=" ".join(lines))


class ReportInput(ToolInput):
    """Arguments of spend_report."""

    since: Annotated[str | None, Field(description="First UTC day, YYYY-MM-DD; default 30 days ago.")] = None
    until: Annotated[str | None, Field(description="Last UTC day, YYYY-MM-DD; default today.")] = None
    by: Annotated[Literal["day", "tool", "model"], Field(description="How rows are grouped.")] = "day"


class ReportRow(BaseModel):
    day: str | None = None
    tool: str | None = None
    model: str | None = None
    calls: int
    usd: float | None = None
    failed: Annotated[int, Field(description="Refused or failed before paying: not charged.")] = 0
    unknown_price: int = 0


class ReportOutput(ToolOutput):
    since: str
    until: str
    by: str
    total_usd: Annotated[float | None, Field(description="Actual where reported, else estimated.")] = None
    calls: int
    unknown_price_calls: Annotated[int, Field(description="Paid calls whose price is unknown (not in total).")] = 0
    rows: list[ReportRow]
    budgets: Annotated[dict[str, Budget], Field(default_factory=dict)]
    ledger: Annotated[str, Field(description="Where the ledger is kept.")]
    prices_as_of: str | None = None


async def spend_report(args: ReportInput, call: Call) -> CallToolResult:
    found = await report(call.services, call, since=args.since, until=args.until, by=args.by)
    output = ReportOutput.model_validate(found)
    lines = [
        f"Spend {output.since} to {output.until}: {money(output.total_usd)} over {output.calls} paid call(s)"
        + (f" ({output.unknown_price_calls} of unknown price)" if output.unknown_price_calls else "")
        + "."
    ]
    for row in output.rows:
        name = getattr(row, args.by)
        lines.append(
            f"- {name}: {money(row.usd)}, {row.calls} call(s)" + (f", {row.failed} not charged" if row.failed else "")
        )
    for name, budget in output.budgets.items():
        if budget.limit_usd is not None:
            lines.append(
                f"{name} budget ({budget.setting}): {money(budget.used_usd)} used of {money(budget.limit_usd)}."
            )
    return structured_result(output, text="\n".join(lines))


_READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="estimate_cost",
        title="Estimate a paid call",
        description=(
            "What a paid tool call (generate_video, generate_image, generate_music, deep_research, batch_generate, "
            "…) would cost, in USD with its basis and price date, and whether budgets or confirmation would stop "
            "it. Sends nothing to Gemini."
        ),
        input_model=EstimateInput,
        output_model=EstimateOutput,
        handler=estimate_cost,
        annotations=_READS,
    ),
    ToolSpec(
        name="spend_report",
        title="Spend report",
        description=(
            "What the paid tools spent, from the server's ledger: totals by day, tool or model over a range of UTC "
            "days (default the last 30), and the budgets left."
        ),
        input_model=ReportInput,
        output_model=ReportOutput,
        handler=spend_report,
        annotations=_READS,
    ),
]
