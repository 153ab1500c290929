"""Long-running upstream work (Veo videos, background interactions, batches) as jobs a tool family declares.

A family describes its kind of job once, as a `JobKind`: how to poll it, how to deliver its finished result,
how to cancel it upstream (when the API can), its progress messages, its deadline setting and poll interval.
A tool that starts one declares `job=KIND` on its ToolSpec and returns `Started` from its handler; the
framework then gives it, with no edit here:

- progress beats with rising values and the family's messages, the first naming how to collect the job;
- cancellation that stops polling at once and cancels upstream where the API can (a deadline never does);
- a deadline (the kind's setting) that ends the call with an error naming the job and how to collect it;
- `wait: false` answered at once with the job id;
- `get_job` / `cancel_job` and the MCP tasks extension (framework/tasks.py) for every kind.

A job id is `<kind>.<base64url JSON of the upstream id and the output options>`: everything needed to resume
is in the id, so any replica answers for any job (the upstream API keeps the job, not this process).

Every job is assumed to be paid for: its id reaches the client as soon as it exists (first progress message,
an INFO log line, every later error through `call.resume_hint`, a WARNING when the call is cut off) so that
nobody starts, and pays for, a second one to get the first one's result.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

from gemini_mcp.errors import BackendUnsupported, GeminiCallError, UserInputError
from gemini_mcp.framework.progress import MAX_SILENCE_S, Heartbeat
from gemini_mcp.framework.views import ToolOutput

if TYPE_CHECKING:
    from gemini_mcp.config.settings import Settings
    from gemini_mcp.framework.call import Call, Services
    from gemini_mcp.framework.catalog import RegisteredSpec

logger = logging.getLogger("gemini_mcp.jobs")

COLLECT_TOOL = "get_job"
CANCEL_TOOL = "cancel_job"
CANCEL_GRACE_S = 10.0  # how long a cut-off call may spend asking upstream to cancel its job
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


# --- what a family hands the framework ---------------------------------------------------------------------
@dataclass(frozen=True)
class JobRef:
    """One job: its kind, the upstream id, and the output options its result is delivered with (encoded in the
    id). `local` is what this process knows beyond the id (e.g. the prompt, to name the saved file); it is
    empty when the job is collected by id."""

    kind: str
    upstream: str
    options: Mapping[str, Any] = field(default_factory=dict)
    local: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        payload = json.dumps({"op": self.upstream, **self.options}, separators=(",", ":")).encode()
        return f"{self.kind}." + base64.urlsafe_b64encode(payload).decode().rstrip("=")

    @classmethod
    def parse(cls, job_id: str, field_name: str = "job_id") -> JobRef:
        kind, _, raw = job_id.strip().partition(".")
        try:
            if not _KIND_NAME.match(kind) or not raw:
                raise ValueError(job_id)
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            upstream = data.pop("op")
            if not isinstance(upstream, str) or not upstream:
                raise ValueError(job_id)
        except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
            raise UserInputError(
                f"{field_name}: not a job id this server hands out (expected '<kind>.<code>', exactly as a "
                "long-running tool returned it in job_id)"
            ) from None
        return cls(kind, upstream, data)


@dataclass(frozen=True)
class JobState:
    """What one poll saw. `upstream` is the family's own view of the job (e.g. Veo's operation), handed back
    to its `deliver`."""

    done: bool
    percent: float | None = None  # progress the API reports, 0-100, when it reports any
    cancelled: bool = False
    upstream: Any = None
    message: str | None = None  # what the API says the job is doing (e.g. queued), instead of the kind's messages


@dataclass(frozen=True)
class Started:
    """What a job tool's handler returns once the upstream API accepted the job."""

    upstream: str  # the id the API gave the job
    state: JobState  # what the create answered (some APIs answer with a finished job)
    options: Mapping[str, Any] = field(default_factory=dict)  # output options, kept in the job id
    local: Mapping[str, Any] = field(default_factory=dict)  # see JobRef.local
    wait: bool = True  # false: answer with the job id at once


@dataclass(frozen=True)
class JobKind:
    """A family's kind of long-running job. Texts are written for the agent: `title` is who works ("Veo"),
    `noun` what comes out ("video"), `label` what the upstream job is called ("Veo operation")."""

    name: str  # prefix of the job ids: lower-case letters, digits, '-' and '_'
    title: str
    noun: str
    poll: Callable[[JobRef, Call], Awaitable[JobState]]
    # The finished result; raises (UserInputError, …) when the job failed upstream.
    deliver: Callable[[JobRef, JobState, Call], Awaitable[CallToolResult]]
    deadline_setting: str  # the variable that bounds waiting, named in the deadline error
    deadline: Callable[[Settings], float]  # its value, in seconds
    poll_interval: Callable[[Settings], float]  # seconds between polls
    messages: Sequence[str] = ("Working on it…",)  # rotating progress messages while waiting
    # Cancels the job upstream; None when the API cannot (Veo).
    cancel: Callable[[JobRef, Call], Awaitable[None]] | None = None
    # The structured output while the job runs (a JobOutput by default).
    running: Callable[[JobRef, JobState, Call], BaseModel] | None = None
    collect_hint: Callable[[JobRef], str] | None = None  # how to collect a job, default get_job(job_id=…)
    label: str = ""  # default "<title> job"
    done_message: str = ""  # the last progress message, default "<title> finished: fetching the <noun>"
    started_message: str = ""  # the task's first status message, default "<title> started"
    expected_s: float = 90.0  # typical duration, for progress estimates when the API reports none
    kept_s: float = 48 * 3600  # how long the API keeps a finished job to collect
    paid: bool = True
    logger: logging.Logger = logger
    # One tool serving backends whose APIs differ (Veo on Vertex, Omni interactions on the Developer API): the
    # kind its jobs are on those backends, by backend name. get_job finds these kinds through the tool too.
    on_backends: Mapping[str, JobKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _KIND_NAME.match(self.name):
            raise ValueError(f"JobKind name {self.name!r}: use lower-case letters, digits, '-' or '_' (max 32)")

    @property
    def what(self) -> str:
        return self.label or f"{self.title} job"

    def serving(self, backend: str) -> JobKind:
        """The kind this kind's tools run on `backend` (itself unless `on_backends` names another)."""
        return self.on_backends.get(backend, self)

    def hint(self, ref: JobRef) -> str:
        return self.collect_hint(ref) if self.collect_hint else f"{COLLECT_TOOL}(job_id='{ref.id}')"

    def kept_text(self) -> str:
        days = self.kept_s / 86400
        return f"about {days:.0f} days" if days >= 1.5 else f"about {self.kept_s / 3600:.0f} hours"


class JobOutput(ToolOutput):
    """The structured output every job result carries (families extend it)."""

    job_id: Annotated[str | None, Field(description="Pass to get_job (collect) or cancel_job.")] = None
    status: Annotated[Literal["running", "done"], Field(description="'running' until the result is ready.")]
    progress_percent: Annotated[float | None, Field(description="Progress the API reports, when running.")] = None


class AnyJobOutput(JobOutput):
    """get_job's output: the job's own result, whatever its family (extra fields are that family's)."""

    model_config = ConfigDict(extra="allow")


class CancelledJob(ToolOutput):
    job_id: str
    status: Annotated[Literal["cancelled"], Field(description="The API accepted the cancellation.")]


# --- what the tasks extension watches ------------------------------------------------------------------------
@dataclass
class Watch:
    """What the last job a call touched was left at; set by `follow` while `watching()` is active."""

    kind: JobKind | None = None
    ref: JobRef | None = None
    running: bool = False
    cancelled: bool = False
    percent: float | None = None


_watch: ContextVar[Watch | None] = ContextVar("gemini_mcp_job_watch", default=None)


@contextmanager
def watching() -> Iterator[Watch]:
    """Run a job tool without waiting (a task handle answers instead), and see which job it touched."""
    watch = Watch()
    token = _watch.set(watch)
    try:
        yield watch
    finally:
        _watch.reset(token)


# --- the life of a job ---------------------------------------------------------------------------------------
def job_handler(kind: JobKind, handler: Callable[[Any, Call], Awaitable[Any]]) -> Callable[[Any, Call], Awaitable[Any]]:
    """The handler a job ToolSpec runs: the family's own, then — when it returned `Started` — the job's life.
    A CallToolResult (a refusal, or a collecting tool's answer) passes through."""
    if getattr(handler, "__job_kind__", None) is kind:
        return handler

    async def run(args: Any, call: Call) -> Any:
        outcome = await handler(args, call)
        if not isinstance(outcome, Started):
            return outcome
        here = kind.serving(call.settings.backend)
        ref = JobRef(here.name, outcome.upstream, dict(outcome.options), dict(outcome.local))
        _started(here, ref, call)
        if call.on_job_started is not None:  # recorded before anything else can fail: it is what was paid for
            await call.on_job_started(ref.id)
        return await follow(here, ref, outcome.state, call, wait=outcome.wait, owner=True)

    run.__job_kind__ = kind  # type: ignore[attr-defined]
    run.__wrapped__ = handler  # type: ignore[attr-defined]
    return run


def _started(kind: JobKind, ref: JobRef, call: Call) -> None:
    """Hand the new job out before anything else can fail: it is what was paid for."""
    kind.logger.info(
        "%s: %s %s started (model %s, job id %s)", call.tool, kind.what, ref.upstream, call.model or "-", ref.id
    )
    bills = f"that starts, and bills, another {kind.noun}" if kind.paid else f"that starts another {kind.noun}"
    call.resume_hint = (
        f"Do not call {call.tool} again ({bills}): {kind.what} {ref.upstream} was started and keeps running at "
        f"Google, which keeps it for {kind.kept_text()}; retry by collecting it with {kind.hint(ref)}."
    )


async def collect(kind: JobKind, ref: JobRef, call: Call, *, wait: bool) -> CallToolResult:
    """Look at a job started earlier (by any replica): its status, or its finished result; `wait` polls until done."""
    state = await kind.poll(ref, call)
    return await follow(kind, ref, state, call, wait=wait)


async def follow(
    kind: JobKind, ref: JobRef, state: JobState, call: Call, *, wait: bool, owner: bool = False
) -> CallToolResult:
    """Wait for the job (when asked), then deliver it or say it is running. `owner`: this call started the job,
    so cancelling the call cancels the job upstream where the API can; a collecting call only stops waiting."""
    watch = _watch.get()
    if watch is not None:
        wait = False  # a task: the client polls tasks/get instead
    outer = anyio.current_effective_deadline()
    try:
        if wait and not state.done and not state.cancelled:
            state = await _wait(kind, ref, state, call)
        if watch is not None:
            watch.kind, watch.ref, watch.percent = kind, ref, state.percent
            watch.running, watch.cancelled = not state.done and not state.cancelled, state.cancelled
        if state.cancelled:
            call.resume_hint = None
            raise UserInputError(
                f"job_id: {kind.what} {ref.upstream} was cancelled, so there is nothing to collect; start a new one "
                f"if you still need the {kind.noun}"
            )
        if state.done:
            result = await kind.deliver(ref, state, call)
        else:
            output = kind.running(ref, state, call) if kind.running else JobOutput(status="running")
            data = output.model_dump(mode="json", by_alias=True, exclude_none=True)
            if data.get("progress_percent") is None and state.percent is not None:
                data["progress_percent"] = state.percent
            text = f"{kind.title} is working on it. Collect the {kind.noun} with {kind.hint(ref)}."
            result = CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
    except anyio.get_cancelled_exc_class():
        # Past the call's deadline the job stays collectable; a client that cancelled wants it stopped.
        deadline = anyio.current_time() >= outer
        stopping = call.services.stopping  # a shutdown is no client's wish to stop paid work
        await _cut_off(kind, ref, call, cancel=owner and not deadline and not state.done and not stopping)
        raise
    if result.structured_content is not None and not result.is_error:
        result.structured_content.setdefault("job_id", ref.id)
    return result


async def _wait(kind: JobKind, ref: JobRef, state: JobState, call: Call) -> JobState:
    settings = call.settings
    limit = kind.deadline(settings)
    every = kind.poll_interval(settings)
    tick = min(every, MAX_SILENCE_S)
    heartbeat = Heartbeat(call, kind.messages, expected_s=kind.expected_s)
    # The first message a client sees says how to collect the job: whatever happens to this call, it can.
    await heartbeat.beat(
        state.percent, f"{kind.title} is running; if this call is cut off, collect it with {kind.hint(ref)}"
    )
    with anyio.move_on_after(limit) as scope:
        next_poll = heartbeat.elapsed + every
        while not state.done and not state.cancelled:
            await anyio.sleep(min(tick, max(0.0, next_poll - heartbeat.elapsed)) or tick)
            if heartbeat.elapsed >= next_poll:
                state = await kind.poll(ref, call)
                next_poll = heartbeat.elapsed + every
            if not state.done and not state.cancelled:
                await heartbeat.beat(state.percent, state.message)
    if scope.cancelled_caught and not state.done:
        kind.logger.warning(
            "%s: %s %s passed %s; it keeps running", call.tool, kind.what, ref.upstream, kind.deadline_setting
        )
        call.resume_hint = None  # the message says it all
        billed = ", billed" if kind.paid else ""
        raise GeminiCallError(  # the upstream is slow, not the caller's input
            f"{kind.title} did not finish within {limit:g} s ({kind.deadline_setting}). It keeps running at Google: "
            f"collect it later with {kind.hint(ref)} instead of starting another{billed} {kind.noun}"
        )
    if state.done:
        await heartbeat.done(kind.done_message or f"{kind.title} finished: fetching the {kind.noun}")
    return state


async def _cut_off(kind: JobKind, ref: JobRef, call: Call, *, cancel: bool) -> None:
    if cancel and kind.cancel is not None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_GRACE_S):
            try:
                await kind.cancel(ref, call)
            except Exception as exc:  # the call is over either way: say what is left running
                kind.logger.warning("%s: cancelling %s %s upstream failed: %s", call.tool, kind.what, ref.upstream, exc)
            else:
                kind.logger.warning(
                    "%s was cancelled while waiting for %s %s: cancelled it upstream too",
                    call.tool,
                    kind.what,
                    ref.upstream,
                )
                return
    kind.logger.warning(
        "%s was cut off (cancelled, deadline or server shutdown) while handling %s %s; it keeps running at Google: "
        "collect it with %s",
        call.tool,
        kind.what,
        ref.upstream,
        kind.hint(ref),
    )


# --- any job by its id: get_job, cancel_job, tasks -----------------------------------------------------------
def job_specs(services: Services) -> dict[str, RegisteredSpec]:
    """The first tool of each job kind this server has, by kind name (no tool module is imported)."""
    found: dict[str, RegisteredSpec] = {}
    for spec in services.specs:
        name = spec.job_name
        if name is not None:
            found.setdefault(name, spec)
    return found


def resolve(services: Services, job_id: str, field_name: str = "job_id") -> tuple[JobKind, JobRef]:
    ref = JobRef.parse(job_id, field_name)
    specs = job_specs(services)
    spec = specs.get(ref.kind)
    if spec is None:  # a kind a tool runs on one backend only (JobKind.on_backends): loads those tools
        spec = next((s for s in specs.values() if s.job and ref.kind in _names(s.job.on_backends)), None)
    if spec is None or spec.job is None:
        raise UserInputError(
            f"{field_name}: this server has no '{ref.kind}' jobs (the id comes from a server with other tools "
            "enabled): collect it there"
        )
    kind = next((k for k in (spec.job, *spec.job.on_backends.values()) if k.name == ref.kind), spec.job)
    backend = services.settings.backend
    if backend not in spec.backends:
        raise BackendUnsupported(
            f"{kind.title} jobs (from {spec.name}) are not available on the {backend} backend. "
            f"{spec.backend_hint}".strip()
        )
    if spec.job.serving(backend) is not kind:
        raise BackendUnsupported(
            f"{kind.title} jobs are not available on the {backend} backend ({spec.name} runs "
            f"{spec.job.serving(backend).title} here): collect {kind.what} {ref.upstream} from a server on the "
            "backend that started it"
        )
    return kind, ref


def _names(kinds: Mapping[str, JobKind]) -> set[str]:
    return {kind.name for kind in kinds.values()}


async def get_job(job_id: str, call: Call, *, wait: bool) -> CallToolResult:
    kind, ref = resolve(call.services, job_id)
    return await collect(kind, ref, call, wait=wait)


async def cancel_job(job_id: str, call: Call) -> CallToolResult:
    kind, ref = resolve(call.services, job_id)
    if kind.cancel is None:
        billed = " and is billed" if kind.paid else ""
        raise UserInputError(
            f"job_id: {kind.title} cannot stop a started {kind.noun} (its API has no cancel): {kind.what} "
            f"{ref.upstream} runs to the end{billed}. Collect it with {kind.hint(ref)}, or leave it: "
            f"{kind.title} drops it after {kind.kept_text()}"
        )
    await kind.cancel(ref, call)
    kind.logger.info("%s: cancelled %s %s", call.tool, kind.what, ref.upstream)
    data = CancelledJob(job_id=ref.id, status="cancelled").model_dump(mode="json", exclude_none=True)
    text = f"Cancelled {kind.what} {ref.upstream}: {kind.title} stops working on it."
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
