"""Money: every paid call is estimated, budgeted, confirmed when it is dear, recorded, and never paid twice.

A paid tool declares one thing, `ToolSpec(cost=hook)`: `hook(args, call) -> Estimate` works out from its
validated input what the call should cost (gemini/prices.py has the table and the helpers) without calling
the API. The framework does the rest for every such tool, naming none:

1. the estimate, before any upstream request;
2. an `idempotency_key` seen within 24 h returns the first call's job (collected, as get_job would) or its
   stored result, and sends nothing upstream; the same key with other arguments is refused;
3. confirmation above GEMINI_MCP_CONFIRM_ABOVE_USD (and for an unknown price once any budget or threshold is
   set): MCP elicitation where the client supports it — mid-call on protocol 2025-11-25, an input-required
   result on 2026-07-28 — and otherwise a refusal asking for `confirm_cost` (the amount the user approved);
4. an atomic reservation against the daily, session and per-client budgets (framework/ledger.py), refused
   with the figures and the setting to raise before anything is sent;
5. the run: a job is recorded with its id as soon as it exists (`Call.on_job_started`); a failure before
   anything was paid releases the reservation; a finished call is settled with the actual cost where the
   API's usage report gives it;
6. `cost` in the result, in structuredContent and in the text.

`paid_input` / `paid_output` give a paid tool's models the `idempotency_key` and `confirm_cost` arguments and
the `cost` output, so tool modules declare neither.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import principal_components
from mcp.server.elicitation import render_elicitation_schema
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, create_model

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.ledger import (
    MICROS_PER_USD,
    Entry,
    Existing,
    Ledger,
    Limits,
    OverBudget,
    Used,
    dumps,
    open_ledger,
    utc_day,
)
from gemini_mcp.gemini.prices import Estimate, money, prices

if TYPE_CHECKING:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.framework.call import Call, Services

logger = logging.getLogger("gemini_mcp.spend")

SPEND_URI = "gemini://spend"
CONFIRM_KEY = "confirm_cost"
INPUT_REQUIRED_VERSION = "2026-07-28"
STORED_RESULT_MAX = 4 * 1024 * 1024  # larger results are kept without their inline media (the links stay)
NOT_FINGERPRINTED = frozenset({"idempotency_key", "confirm_cost", "wait"})
CostHook = Callable[[Any, "Call"], Estimate]
SETTING_OF = {
    "daily": "GEMINI_MCP_BUDGET_DAILY_USD",
    "session": "GEMINI_MCP_BUDGET_SESSION_USD",
    "client_daily": "GEMINI_MCP_BUDGET_CLIENT_DAILY_USD",
}
WINDOW_WORDS = {
    "daily": ("today's spend (UTC day) on this server's ledger", "wait for the next UTC day"),
    "session": ("this session's spend", "start a new session"),
    "client_daily": ("today's spend (UTC day) of your authenticated client", "wait for the next UTC day"),
}


class BudgetRefused(UserInputError):
    """A paid call that would pass a budget: refused before anything was sent upstream."""


class CostInfo(BaseModel):
    estimate_usd: Annotated[float | None, Field(description="Estimated USD; null: price unknown.")] = None
    actual_usd: Annotated[float | None, Field(description="From the API's usage report, when it gives one.")] = None
    basis: Annotated[str, Field(description="How the estimate was worked out.")]
    prices_as_of: str | None = None
    source: str | None = None
    replayed: Annotated[bool | None, Field(description="Same idempotency_key: nothing new was billed.")] = None
    ledger_id: str | None = None


class Confirmation(BaseModel):
    approve: Annotated[bool, Field(description="Start it and pay the estimated cost.")]


# --- the models a paid tool gets ------------------------------------------------------------------------------
# Lean on purpose (every byte is paid on every turn): the bounds are checked in `_checked_key`, not in the schema.
IdempotencyKey = Annotated[str | None, Field(description="Same key within 24 h: same job/result.")]
ConfirmCost = Annotated[float | None, Field(description="USD the user approved, if asked.")]
PAID_FIELDS: dict[str, Any] = {"idempotency_key": (IdempotencyKey, None), "confirm_cost": (ConfirmCost, None)}
COST_FIELD: dict[str, Any] = {"cost": (Annotated[CostInfo | None, Field(description="What this call costs.")], None)}


def paid_input(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with the two arguments every paid tool takes."""
    if "idempotency_key" in model.model_fields:
        return model
    derived: type[BaseModel] = create_model(
        model.__name__, __base__=model, __module__=model.__module__, __doc__=model.__doc__, **PAID_FIELDS
    )
    return derived


def paid_output(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with the `cost` every paid result carries."""
    if "cost" in model.model_fields:
        return model
    derived: type[BaseModel] = create_model(
        model.__name__, __base__=model, __module__=model.__module__, __doc__=model.__doc__, **COST_FIELD
    )
    return derived


def cost_hook(spec: Any) -> CostHook | None:
    """The spec's cost hook (a catalog stand-in hands over its real ToolSpec, whose module is loaded by now)."""
    real = spec if hasattr(spec, "cost") else spec.spec
    hook: CostHook | None = real.cost
    return hook


# --- per server -----------------------------------------------------------------------------------------------
def ledger_path(settings: Settings) -> Path:
    name = "spend-demo.sqlite3" if settings.demo else "spend.sqlite3"  # demo spend is not real money
    return settings.xdg_data_home / "gemini-mcp" / name


def micros(usd: float | None) -> int | None:
    return None if usd is None else round(usd * MICROS_PER_USD)


def _limit(setting: float) -> int | None:
    return micros(setting) if setting > 0 else None  # 0: no limit


def usd(amount: int | None) -> float | None:
    return None if amount is None else round(amount / MICROS_PER_USD, 6)


class Spend:
    """The ledger and the budgets of one server (one per Services, opened on first use)."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.settings = settings
        self.instance = uuid.uuid4().hex[:12]  # the session of a client without an MCP session id (stdio)
        self.ledger: Ledger = open_ledger(settings.ledger_url, ledger_path(settings))
        services.shutdown_hooks.append(self.ledger.aclose)

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(_limit(s.budget_daily_usd), _limit(s.budget_session_usd), _limit(s.budget_client_daily_usd))

    def table_file(self) -> Path | None:
        return self.settings.prices_file

    def identity(self, call: Call | None) -> tuple[str, str | None]:
        """(session, client) of this call: the MCP session id over HTTP (else this server's run), and the
        authenticated principal over HTTP (hashed: the ledger needs to tell clients apart, not to name them)."""
        session = None
        if call is not None and call.mcp is not None:
            try:
                headers = call.mcp.headers
            except (ValueError, AttributeError):
                headers = None
            if headers is not None:
                session = headers.get("mcp-session-id")
        client = None
        token = get_access_token()
        if token is not None:
            client_id, issuer, subject = principal_components(token)
            client = hashlib.sha256(f"{issuer or ''}|{client_id}|{subject or ''}".encode()).hexdigest()[:16]
        return session or self.instance, client


def spend_of(services: Services) -> Spend:
    return services.shared("gemini_mcp.spend", lambda: Spend(services))


# --- the gate ---------------------------------------------------------------------------------------------------
async def run_paid(
    spec: Any, args: BaseModel, call: Call, handler: Callable[[Any, Call], Awaitable[Any]]
) -> CallToolResult | InputRequiredResult | Any:
    """Run one call of `spec`: through the spend steps when it declares a cost, else as it is."""
    hook = cost_hook(spec)
    if hook is None:
        return await handler(args, call)
    estimate = hook(args, call)
    spend = spend_of(call.services)
    session, client = spend.identity(call)
    key = _checked_key(getattr(args, "idempotency_key", None))
    approved = getattr(args, "confirm_cost", None)
    if approved is not None and approved < 0:
        raise UserInputError(f"confirm_cost: must be 0 or more (USD), got {approved:g}")
    scope = f"{client or '-'}|{call.tool}|{key}" if key else None
    fingerprint = _fingerprint(args)
    if scope is not None:
        found = await spend.ledger.find_key(scope)
        if found is not None:
            return await _again(found, key or "", fingerprint, args, call)
    asked = await _confirm(estimate, args, call, spend)
    if isinstance(asked, InputRequiredResult):
        return asked
    reserve = estimate.micros
    basis = estimate.basis
    if reserve is None and approved is not None:  # an unknown price: the budget holds the amount approved
        reserve = micros(approved)
        basis += f"; {money(approved)} approved and reserved"
    entry = Entry(
        tool=call.tool,
        session=session,
        client=client,
        model=estimate.model or call.model,
        estimate=reserve,
        key_scope=scope,
        fingerprint=fingerprint if scope else None,
        basis=basis,
    )
    outcome = await spend.ledger.reserve(entry, spend.limits)
    if isinstance(outcome, Existing):  # the same key, a moment ago on another replica
        return await _again(outcome.entry, key or "", fingerprint, args, call)
    if isinstance(outcome, OverBudget):
        raise BudgetRefused(_refusal(call.tool, estimate, outcome, reserve))
    return await _run(spend, entry, estimate, args, call, handler)


async def _run(
    spend: Spend, entry: Entry, estimate: Estimate, args: BaseModel, call: Call, handler: Callable[..., Awaitable[Any]]
) -> Any:
    ledger = spend.ledger
    started: list[str] = []

    async def job_started(job_id: str) -> None:
        started.append(job_id)
        with anyio.CancelScope(shield=True):
            await ledger.update(entry.id, status="started", job_id=job_id, model=call.model or entry.model)

    call.on_job_started = job_started
    try:
        result = await handler(args, call)
    except BaseException as exc:
        paid = bool(started) or _may_have_started(exc)
        with anyio.CancelScope(shield=True):
            try:
                await ledger.update(entry.id, status="started" if paid else "failed", model=call.model or entry.model)
            except Exception:  # the call's own failure is what the caller must see
                logger.exception("%s: could not record the outcome in the spend ledger", call.tool)
        raise
    finally:
        call.on_job_started = None
    if not isinstance(result, CallToolResult):
        return result
    if result.is_error:
        await ledger.update(entry.id, status="started" if started else "failed")
        return result
    data = result.structured_content or {}
    running = data.get("status") == "running"
    actual = estimate.actual(data.get("usage"))
    changes: dict[str, Any] = {"status": "started" if running else "done", "model": call.model or entry.model}
    if actual is not None:
        changes["actual"] = micros(actual)
    if entry.key_scope is not None and not started:
        changes["result"] = _stored(result)
    await ledger.update(entry.id, **changes)
    _add_cost(result, _info(estimate, entry, actual))
    return result


async def _again(found: Entry, key: str, fingerprint: str, args: BaseModel, call: Call) -> Any:
    """The first call with this idempotency key: its job collected, or its result again; nothing is sent."""
    from gemini_mcp.framework.jobs import collect, resolve

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(found.at))
    if found.fingerprint is not None and found.fingerprint != fingerprint:
        raise UserInputError(
            f"idempotency_key: '{key}' was used at {when} for a {call.tool} call with other arguments; a key names "
            "one call: repeat that call's arguments to get its result, or use a new key for a new call"
        )
    info = CostInfo(
        estimate_usd=usd(found.estimate),
        actual_usd=usd(found.actual),
        basis=found.basis or "",
        replayed=True,
        ledger_id=found.id,
    )
    if found.job_id:
        call.notes.append(
            f"idempotency_key '{key}': the call of {when} already started this job; collected it instead of "
            "starting (and paying for) another"
        )
        kind, ref = resolve(call.services, found.job_id)
        result = await collect(kind, ref, call, wait=bool(getattr(args, "wait", True)))
        _add_cost(result, info)
        return result
    if found.result:
        call.notes.append(
            f"idempotency_key '{key}': the same call ran at {when}; this is its result again, nothing was sent to "
            "Gemini or billed"
        )
        result = CallToolResult.model_validate(json.loads(found.result))
        _add_cost(result, info)
        return result
    raise UserInputError(
        f"idempotency_key: a {call.tool} call with '{key}' began at {when} and has not finished (or was cut off "
        "before it did). Wait and call again with the same key to get its result, or use a new key to start "
        "another, billed call"
    )


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip() or len(key) > 200:
        raise UserInputError(
            "idempotency_key: 1 to 200 characters that name this one call (e.g. a UUID), the same when it is repeated"
        )
    return key


def _fingerprint(args: BaseModel) -> str:
    data = args.model_dump(mode="json", exclude=set(NOT_FINGERPRINTED), exclude_defaults=True)
    return hashlib.sha256(dumps(data).encode()).hexdigest()[:24]


def _may_have_started(exc: BaseException) -> bool:
    from gemini_mcp.gemini.transport import CreateMayHaveStarted  # loaded with the SDK, not at start-up

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CreateMayHaveStarted):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _stored(result: CallToolResult) -> str:
    text = result.model_dump_json(by_alias=True, exclude_none=True)
    if len(text) <= STORED_RESULT_MAX:
        return text
    slim = result.model_copy(update={"content": [b for b in result.content if b.type not in ("image", "audio")]})
    return slim.model_dump_json(by_alias=True, exclude_none=True)


def _info(estimate: Estimate, entry: Entry, actual: float | None) -> CostInfo:
    return CostInfo(
        estimate_usd=estimate.usd,
        actual_usd=actual,
        basis=entry.basis or estimate.basis,
        prices_as_of=estimate.as_of,
        source=estimate.source,
        ledger_id=entry.id,
    )


def cost_line(info: CostInfo) -> str:
    if info.replayed:
        return f"Cost: nothing new (same idempotency_key; the first call was estimated at {money(info.estimate_usd)})."
    dated = f"; prices as of {info.prices_as_of}" if info.prices_as_of else ""
    if info.actual_usd is not None:
        return f"Cost: {money(info.actual_usd)} by the API's usage report (estimated {info.basis}{dated})."
    if info.estimate_usd is None:
        return f"Cost: unknown — {info.basis}."
    return f"Cost: about {money(info.estimate_usd)} ({info.basis}{dated})."


def _add_cost(result: CallToolResult, info: CostInfo) -> None:
    if result.is_error:
        return
    if result.structured_content is not None:
        result.structured_content["cost"] = info.model_dump(mode="json", exclude_none=True)
    result.content = [*result.content, TextContent(type="text", text=cost_line(info))]


# --- confirmation -----------------------------------------------------------------------------------------------
def needs_confirmation(estimate: Estimate, settings: Settings) -> str | None:
    """Why this estimate must be confirmed, or None."""
    threshold = settings.confirm_above_usd or None  # 0: off
    if estimate.usd is None:
        budgets = (settings.budget_daily_usd, settings.budget_session_usd, settings.budget_client_daily_usd)
        if threshold is not None or any(budgets):
            return "its price is unknown, so no budget can vouch for it"
        return None
    if threshold is not None and estimate.usd > threshold:
        return f"it is above GEMINI_MCP_CONFIRM_ABOVE_USD ({money(threshold)})"
    return None


def _elicits(call: Call) -> bool:
    ctx = call.mcp
    if ctx is None:
        return False
    try:
        capabilities = ctx.client_capabilities
    except (ValueError, AttributeError):
        return False
    elicitation = capabilities.elicitation if capabilities is not None else None
    # An empty elicitation capability means form mode (the 2025-06-18 shape).
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _confirm(estimate: Estimate, args: BaseModel, call: Call, spend: Spend) -> InputRequiredResult | None:
    why = needs_confirmation(estimate, spend.settings)
    if why is None:
        return None
    approved: float | None = getattr(args, "confirm_cost", None)
    if approved is not None and (estimate.usd is None or approved + 1e-9 >= estimate.usd):
        call.notes.append(f"cost confirmed with confirm_cost={approved:g}")
        return None
    what = (
        f"{call.tool} will cost about {money(estimate.usd)} ({estimate.basis})"
        if estimate.usd is not None
        else f"{call.tool}: {estimate.basis}"
    )
    ctx = call.mcp
    if ctx is not None and _elicits(call):
        message = f"{what}. Confirmation is needed because {why}. Start it?"
        version = ctx.protocol_version or ""
        if version and is_version_at_least(version, INPUT_REQUIRED_VERSION):
            answer = (ctx.input_responses or {}).get(CONFIRM_KEY)
            if isinstance(answer, ElicitResult):
                _answered(answer.action, (answer.content or {}).get("approve") is True, call)
                return None
            schema = render_elicitation_schema(Confirmation)
            request = ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))
            return InputRequiredResult(input_requests={CONFIRM_KEY: request})
        try:
            outcome = await ctx.elicit(message, Confirmation)
        except (MCPError, ValueError, RuntimeError) as exc:  # no back-channel, or an answer of the wrong shape
            logger.info("%s: elicitation failed (%s); asking for confirm_cost instead", call.tool, exc)
        else:
            approve = bool(getattr(getattr(outcome, "data", None), "approve", False))
            _answered(outcome.action, approve, call)
            return None
    amount = f"{estimate.usd:g}" if estimate.usd is not None else "<the most the user approves, in USD>"
    raise UserInputError(
        f"confirm_cost: {what}, and {why}. Nothing was sent or billed. Ask the user whether to spend it, then call "
        f"again with the same arguments and confirm_cost={amount}"
    )


def _answered(action: str, approve: bool, call: Call) -> None:
    if action == "accept" and approve:
        call.notes.append("cost confirmed by the user (elicitation)")
        return
    word = "declined" if action in ("decline", "accept") else "dismissed"
    raise UserInputError(
        f"confirm_cost: the user {word} the cost of this {call.tool} call; nothing was sent or billed. Ask for "
        "something cheaper, or call again if they change their mind"
    )


def _refusal(tool: str, estimate: Estimate, over: OverBudget, reserve: int | None) -> str:
    spent, fix = WINDOW_WORDS[over.window]
    setting = SETTING_OF[over.window]
    left = max(0, over.limit - over.used)
    cost = f"about {money(usd(reserve))} ({estimate.basis})"
    return (
        f"Budget: {tool} was refused before anything was sent to Gemini: it would cost {cost}, and {spent} is "
        f"{money(usd(over.used))} of {setting}={money(usd(over.limit))}, leaving {money(usd(left))}. Raise {setting}, "
        f"ask for less, or {fix}"
    )


# --- estimates, reports ------------------------------------------------------------------------------------------
async def budget_status(services: Services, call: Call | None) -> dict[str, Any]:
    spend = spend_of(services)
    session, client = spend.identity(call)
    used: Used = await spend.ledger.used(session, client)
    limits = spend.limits
    status: dict[str, Any] = {}
    for window, limit, spent in (
        ("daily", limits.daily, used.daily),
        ("session", limits.session, used.session),
        ("client_daily", limits.client_daily, used.client_daily if client is not None else None),
    ):
        if spent is None:
            continue
        status[window] = {
            "setting": SETTING_OF[window],
            "limit_usd": usd(limit),
            "used_usd": usd(spent),
            "left_usd": usd(max(0, limit - spent)) if limit is not None else None,
        }
    return status


async def estimate_call(services: Services, call: Call, tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """What a planned call of `tool` with `arguments` would cost, and whether it would pass; nothing is sent."""
    from gemini_mcp.framework.call import Call as ToolCall
    from gemini_mcp.framework.toolkit import format_validation_error

    spec = next((s for s in services.specs if s.name == tool), None)
    paid = [s.name for s in services.specs if _is_paid(s)]
    if spec is None or not _is_paid(spec):
        known = "no such tool" if spec is None else "not a paid tool (billed by the tokens of its answer, if at all)"
        raise UserInputError(f"tool: '{tool}' is {known}; estimate_cost covers {', '.join(paid) or 'no tool here'}")
    hook = cost_hook(spec)
    assert hook is not None
    from pydantic import ValidationError

    try:
        args = spec.input_model.model_validate(dict(arguments))
    except ValidationError as exc:
        raise UserInputError("arguments: " + format_validation_error(tool, exc, spec.input_model)) from None
    planned = ToolCall(services=services, mcp=call.mcp, tool=tool)
    estimate = hook(args, planned)
    budgets = await budget_status(services, call)
    blocked = [
        f"{v['setting']} ({money(v['left_usd'])} left)"
        for v in budgets.values()
        if v["left_usd"] is not None and (estimate.usd or 0) > v["left_usd"] + 1e-9
    ]
    return {
        "tool": tool,
        "model": estimate.model or planned.model,
        "estimate_usd": estimate.usd,
        "basis": estimate.basis,
        "prices_as_of": estimate.as_of,
        "source": estimate.source,
        "unknown": estimate.unknown,
        "needs_confirmation": needs_confirmation(estimate, services.settings),
        "over_budget": blocked or None,
        "budgets": budgets,
        "notes": planned.notes or None,
    }


def _is_paid(spec: Any) -> bool:
    try:
        return cost_hook(spec) is not None
    except Exception:  # a tool module that cannot be imported is no paid tool here
        return False


def _range(since: str | None, until: str | None, days: int = 30) -> tuple[float, float, str, str]:
    def parse(day: str, field: str) -> float:
        try:
            return float(calendar.timegm(time.strptime(day, "%Y-%m-%d")))
        except ValueError:
            raise UserInputError(f"{field}: expected a UTC day as YYYY-MM-DD, got '{day}'") from None

    now = time.time()
    end = parse(until, "until") + 86400 if until else now + 1
    start = parse(since, "since") if since else parse(utc_day(now - (days - 1) * 86400), "since")
    if start >= end:
        raise UserInputError("since: must be on or before until")
    return start, end, utc_day(start), utc_day(end - 1)


async def report(
    services: Services, call: Call | None, *, since: str | None, until: str | None, by: str
) -> dict[str, Any]:
    """Spend per day, tool or model over a range of UTC days (default: the last 30), from the ledger."""
    spend = spend_of(services)
    start, end, first, last = _range(since, until)
    rows: dict[str, dict[str, Any]] = {}
    total = 0
    unknown = 0
    for entry in await spend.ledger.entries(start, end):
        name = {"day": entry.day, "tool": entry.tool, "model": entry.model or "-"}[by]
        row = rows.setdefault(name, {by: name, "calls": 0, "usd": 0, "failed": 0, "unknown_price": 0})
        row["calls"] += 1
        if entry.status == "failed":
            row["failed"] += 1
        if entry.estimate is None and entry.actual is None and entry.status != "failed":
            row["unknown_price"] += 1
            unknown += 1
        row["usd"] += entry.charge
        total += entry.charge
    for row in rows.values():
        row["usd"] = usd(row["usd"])
    return {
        "since": first,
        "until": last,
        "by": by,
        "total_usd": usd(total),
        "calls": sum(row["calls"] for row in rows.values()),
        "unknown_price_calls": unknown,
        "rows": [rows[name] for name in sorted(rows)],
        "budgets": await budget_status(services, call),
        "ledger": spend.ledger.where,
        "prices_as_of": prices(spend.table_file()).as_of,
    }


async def spend_summary(services: Services) -> str:
    """The `gemini://spend` resource: the last 30 days by day and by tool, and the budgets."""
    by_day = await report(services, None, since=None, until=None, by="day")
    by_tool = await report(services, None, since=None, until=None, by="tool")
    return json.dumps({**by_day, "by_tool": by_tool["rows"]}, indent=2)
