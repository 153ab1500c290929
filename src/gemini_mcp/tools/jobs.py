"""Jobs of every long-running family: get_job collects one (status, or the finished result), cancel_job stops one.

A job id carries its kind, the upstream id and the output options (framework/jobs.py), so these tools answer
for any job this server's families start, whichever process started it.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_mcp.framework import jobs
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.jobs import AnyJobOutput, CancelledJob
from gemini_mcp.framework.spec import ToolInput, ToolSpec

JOB_ID = "From a long-running tool (wait=false), its progress or its error."


class GetJobInput(ToolInput):
    """Arguments of get_job."""

    job_id: Annotated[str, Field(min_length=1, description=JOB_ID)]
    wait: Annotated[bool, Field(description="true: poll, with progress, until ready.")] = False


class CancelJobInput(ToolInput):
    """Arguments of cancel_job."""

    job_id: Annotated[str, Field(min_length=1, description=JOB_ID)]


async def get_job(args: GetJobInput, call: Call) -> CallToolResult:
    return await jobs.get_job(args.job_id, call, wait=args.wait)


async def cancel_job(args: CancelJobInput, call: Call) -> CallToolResult:
    return await jobs.cancel_job(args.job_id, call)


TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name=jobs.COLLECT_TOOL,
        title="Collect a long-running job",
        description=(
            "Check a job a long-running tool started (wait=false, or after it was cut off or ran out of time): "
            "status 'running' with progress, or the finished result, delivered as that tool would. wait=true "
            "keeps polling with progress until it is done. Never starts (or bills) anything."
        ),
        input_model=GetJobInput,
        output_model=AnyJobOutput,
        handler=get_job,
        # Saves the finished result locally (each collection writes the file again): not read-only.
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
        ),
        waits_on_jobs=True,
    ),
    ToolSpec(
        name=jobs.CANCEL_TOOL,
        title="Cancel a long-running job",
        description=(
            "Stop a running job upstream so it does no more (billed) work; its result is lost. Only where the "
            "API can cancel: Veo videos cannot be stopped (the error says so)."
        ),
        input_model=CancelJobInput,
        output_model=CancelledJob,
        handler=cancel_job,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    ),
]
