"""batch_generate: many prompts (or texts to embed) as one Batch API job, at about half the price.

The batch runs at Google (minutes to hours, at most 24 h) as the job kind `BATCH` (framework/jobs.py):
`wait: false` (the default) answers with a job_id at once; get_job reports its state and, once it is done,
saves every answer as one JSONL file (a resource link; one line per request, in request order, with its key)
and summarises it in structured content (succeeded, failed, the first errors); cancel_job cancels it upstream.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp_types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, ConfigDict, Field

from gemini_mcp.errors import GeminiCallError, UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import deliver
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini import batches
from gemini_mcp.gemini.models import Task, pick
from gemini_mcp.gemini.request import SYSTEM_DESCRIPTION, SamplingFields, build_config
from gemini_mcp.gemini.schema import check_schema
from gemini_mcp.media.store import SavedMedia
from gemini_mcp.tools._costs import batch_cost
from gemini_mcp.tools._knowledge import CREATES, DEVELOPER_API_HINT, GEMINI_ONLY
from gemini_mcp.tools.embeddings import TaskType

MAX_REQUESTS = 50_000
FIRST_ERRORS = 5
PREVIEW = 3
# google-genai 3.6.1 reads a Developer API batch from the operation's metadata only: the operation's `error`
# (why a batch failed) never reaches BatchJob.error.
_NO_REASON = "the API's reason is not passed on by the SDK; the batch's page in Google AI Studio shows it"
RESULTS_MIME = "text/plain"  # JSON Lines, one object per line; served as text so any host can read it


class BatchRequest(BaseModel):
    # One request of the batch (no docstring: it would be repeated in the schema; `requests` describes it).
    model_config = ConfigDict(extra="forbid")
    prompt: Annotated[str, Field(min_length=1)]
    key: str | None = None


class BatchGenerateInput(ToolInput):
    """Arguments of batch_generate."""

    requests: Annotated[
        list[BatchRequest],
        Field(max_length=MAX_REQUESTS, description="{prompt, key?} each; results keep this order and keys."),
    ]
    task: Annotated[Literal["generate", "embed"], Field(description="embed: vectors instead of answers.")] = "generate"
    model: Annotated[str | None, Field(description="Default flash (embed: gemini-embedding-001).")] = None
    system_instruction: Annotated[str | None, Field(description=SYSTEM_DESCRIPTION)] = None
    temperature: Annotated[float | None, Field(ge=0.0, le=2.0, description="Lower: more focused.")] = None
    max_output_tokens: Annotated[int | None, Field(ge=1, description="Counts thinking. Only if asked.")] = None
    response_schema: Annotated[
        dict[str, Any] | None, Field(alias="schema", description="JSON answers matching this schema.")
    ] = None
    task_type: Annotated[TaskType | None, Field(description="embed: e.g. RETRIEVAL_DOCUMENT.")] = None
    output_dimensionality: Annotated[int | None, Field(ge=1, le=3072, description="embed: vector size.")] = None
    display_name: Annotated[str | None, Field(max_length=128, description="A label for the batch.")] = None
    wait: Annotated[bool, Field(description="true: wait for the results (up to a deadline).")] = False


class BatchError(ToolOutput):
    index: int
    key: str | None = None
    error: str


class BatchOutput(JobOutput, ToolOutput):
    batch: Annotated[str, Field(description="The Batch API's name for it (batches/ID).")]
    state: Annotated[str, Field(description="PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED or EXPIRED.")]
    requests: Annotated[int | None, Field(description="How many requests the batch holds.")] = None
    succeeded: int | None = None
    failed: int | None = None
    first_errors: Annotated[list[BatchError] | None, Field(description="Up to 5 failed requests.")] = None
    results: Annotated[SavedMedia | None, Field(description="The JSONL file of every result, in order.")] = None
    notes: list[str] | None = None


def _items(args: BatchGenerateInput) -> list[batches.Item]:
    if not args.requests:
        raise UserInputError(
            "requests: the batch is empty; give at least one {prompt} (for one or two requests, generate_text "
            "answers at once)"
        )
    seen: dict[str, int] = {}
    for index, request in enumerate(args.requests):
        if request.key is None:
            continue
        if request.key in seen:
            raise UserInputError(
                f"requests[{index}].key: '{request.key}' is also the key of requests[{seen[request.key]}]; keys "
                "name results, so each must be unique (or leave them out: results keep the requests' order)"
            )
        seen[request.key] = index
    return [batches.Item(index, request.key, request.prompt) for index, request in enumerate(args.requests)]


def _check_options(args: BatchGenerateInput) -> None:
    embed = args.task == "embed"
    wrong = (
        ["system_instruction", "temperature", "max_output_tokens", "schema"]
        if embed
        else ["task_type", "output_dimensionality"]
    )
    values = {
        "system_instruction": args.system_instruction,
        "temperature": args.temperature,
        "max_output_tokens": args.max_output_tokens,
        "schema": args.response_schema,
        "task_type": args.task_type,
        "output_dimensionality": args.output_dimensionality,
    }
    for name in wrong:
        if values[name] is not None:
            other = "generate" if embed else "embed"
            raise UserInputError(f"{name}: only for task '{other}', not '{args.task}'; leave it out")


async def batch_generate(args: BatchGenerateInput, call: Call) -> Started:
    items = _items(args)
    _check_options(args)
    kind: batches.Kind = args.task
    config: Any
    if kind == "embed":
        call.model = model = pick(call, args.model, Task.EMBEDDING).model
        config = {"task_type": args.task_type, "output_dimensionality": args.output_dimensionality}
    else:
        call.model = model = pick(call, args.model, Task.TEXT).model
        extra: dict[str, Any] = {"system_instruction": args.system_instruction}
        if args.response_schema is not None:
            dialect = check_schema(args.response_schema)
            extra["response_mime_type"] = "application/json"
            extra["response_schema" if dialect == "gemini" else "response_json_schema"] = args.response_schema
        sampling = SamplingFields(temperature=args.temperature, max_output_tokens=args.max_output_tokens)
        config = build_config(sampling, model, call.notes, **extra)
    inline_max = int(call.settings.batch_inline_max_mb * 1024 * 1024)
    batch, _ = await batches.start_batch(
        call, model, kind, items, config=config, display_name=args.display_name, inline_max_bytes=inline_max
    )
    options = {"k": kind, "n": len(items)}
    return Started(batch.name, _state(batch), options, {"hint": args.display_name or "batch"}, wait=args.wait)


# --- the batch job -------------------------------------------------------------------------------------------
def _state(batch: batches.Batch) -> JobState:
    over = batch.state in batches.FINISHED or batch.state in batches.STOPPED
    return JobState(done=over, cancelled=batch.state == "CANCELLED", upstream=batch)


def _kind_of(ref: JobRef) -> batches.Kind:
    return "embed" if ref.options.get("k") == "embed" else "generate"


def _count(ref: JobRef) -> int | None:
    count = ref.options.get("n")
    return count if isinstance(count, int) else None


async def _poll(ref: JobRef, call: Call) -> JobState:
    return _state(await batches.get_batch(call, ref.upstream))


def _running(ref: JobRef, state: JobState, call: Call) -> BatchOutput:
    batch: batches.Batch | None = state.upstream
    call.model = call.model or (batch.model if batch else None)
    return BatchOutput(
        job_id=ref.id,
        status="running",
        batch=ref.upstream,
        state=batch.state if batch else "PENDING",
        requests=_count(ref),
        notes=call.notes or None,
    )


def _line(result: batches.Result) -> dict[str, Any]:
    line: dict[str, Any] = {"index": result.index, "key": result.key}
    if result.error is not None:
        line["error"] = result.error
    elif result.values is not None:
        line["values"] = result.values
    else:
        line["text"] = result.text
        line["finish_reason"] = result.finish_reason
        if result.usage:
            line["usage"] = result.usage
    return line


async def _deliver(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    batch: batches.Batch = state.upstream
    call.model = call.model or batch.model
    if batch.state in batches.STOPPED:
        call.resume_hint = None  # the batch is over: nothing left to collect
        raise GeminiCallError(
            f"The batch {batch.name} ended {batch.state}: {batch.error or _NO_REASON}. Nothing was answered; check "
            "the requests (and the model), then start a new batch"
        )
    kind = _kind_of(ref)
    found = await batches.results(call, batch, kind)
    data = "".join(json.dumps(_line(result), ensure_ascii=False) + "\n" for result in found).encode()
    hint = str(ref.local.get("hint") or "batch")
    delivered = await deliver(
        call, data, mime_type=RESULTS_MIME, kind="batch", hint=hint, output="link", description=f"{hint} results"
    )
    failed = [result for result in found if result.error is not None]
    errors = [BatchError(index=r.index, key=r.key, error=r.error or "") for r in failed[:FIRST_ERRORS]]
    output = BatchOutput(
        status="done",
        batch=batch.name,
        state=batch.state,
        requests=_count(ref) or len(found),
        succeeded=len(found) - len(failed),
        failed=len(failed),
        first_errors=errors or None,
        results=delivered.saved,
        notes=call.notes or None,
    )
    lines = [
        f"Batch {batch.name} {batch.state}: {output.succeeded} of {output.requests} requests succeeded, "
        f"{output.failed} failed. Every result, one JSON line per request in order: {delivered.saved.path}"
    ]
    lines += [f"  requests[{e.index}] failed: {e.error}" for e in errors]
    for result in [r for r in found if r.error is None][:PREVIEW]:
        shown = (result.text or "")[:200] if kind == "generate" else f"{len(result.values or [])} values"
        lines.append(f"  [{result.index}]{' ' + result.key if result.key else ''}: {shown}")
    blocks: list[ContentBlock] = [TextContent(type="text", text="\n".join(lines)), *delivered.content]
    return structured_result(output, blocks)


async def _cancel(ref: JobRef, call: Call) -> None:
    await batches.cancel_batch(call, ref.upstream)


BATCH = JobKind(
    name="batch",
    title="The Batch API",
    noun="batch results",
    label="batch",
    poll=_poll,
    deliver=_deliver,
    running=_running,
    cancel=_cancel,
    messages=(
        "The batch is queued at Google…",
        "Google is working through the batch's requests…",
        "Batches usually finish within minutes to hours (at most 24 h)…",
    ),
    deadline_setting="GEMINI_MCP_BATCH_DEADLINE",
    deadline=lambda settings: settings.batch_deadline_s,
    poll_interval=lambda settings: settings.batch_poll_s,
    done_message="The batch finished: fetching the results",
    started_message="The batch started: it runs at Google, usually for minutes to hours",
    expected_s=1800.0,
    kept_s=48 * 3600,
)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        opt_in=True,
        name="batch_generate",
        title="Run many prompts as one batch (half price)",
        description=(
            "Run many independent prompts (or texts to embed) as one Batch API job at about half the price. Worth "
            "it for dozens to thousands of items when you can wait: it takes minutes to hours (at most 24 h); for "
            "a few items call generate_text. Shared model and settings. Returns a job_id at once: get_job reports "
            "the state, then saves every result as a JSONL file (resource link) with counts and first errors; "
            "cancel_job stops it."
        ),
        input_model=BatchGenerateInput,
        output_model=BatchOutput,
        handler=batch_generate,
        cost=batch_cost,
        annotations=CREATES,
        backends=GEMINI_ONLY,
        backend_hint=DEVELOPER_API_HINT,
        job=BATCH,
    ),
]
