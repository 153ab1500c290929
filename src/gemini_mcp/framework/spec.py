"""How a tool is declared: its input and output models, annotations, backends and handler."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, WithJsonSchema

from gemini_mcp.config.settings import Backend, Settings
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.jobs import JobKind, Started, job_handler
from gemini_mcp.framework.spend import CostHook, paid_input, paid_output
from gemini_mcp.framework.views import ToolOutput, declare_output

__all__ = ["Handler", "ToolInput", "ToolOutput", "ToolSpec"]  # ToolOutput lives with the runner's views

InputT = TypeVar("InputT", bound=BaseModel)


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown arguments are errors, not silently dropped."""

    # defer_build: a model's validator is built on its first call, not at start-up (schemas come from the cache).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


Handler = Callable[[Any, Call], Awaitable[CallToolResult]]

# How a nested object whose keys its field's description names is published: a bare object (the model still
# validates it, with errors naming the place). Spelling out the item's properties in every tool costs the agent
# context on every turn and says nothing the description does not.
BARE_OBJECT = WithJsonSchema({"type": "object"})


@dataclass(frozen=True)
class ToolSpec(Generic[InputT]):
    """Everything that describes one tool; the description is written for the agent that reads it.

    Each tool belongs to one toolset (`toolset`, by default its family module's name), which hosts and
    settings choose whole (framework/toolsets.py).

    A tool with `job` starts (or collects) that kind of long-running job: its handler may return `Started`,
    and framework/jobs.py waits with progress, honours cancellation and the kind's deadline, answers
    `wait: false` with the job id, and serves it through get_job / cancel_job and the MCP tasks extension.
    """

    name: str
    title: str
    description: str
    input_model: type[InputT]
    output_model: type[BaseModel]
    handler: Callable[[InputT, Call], Awaitable[CallToolResult | Started]]
    annotations: ToolAnnotations
    backends: frozenset[Backend] = frozenset({"gemini", "vertex"})
    backend_hint: str = ""  # how to switch, when the current backend cannot serve the tool
    job: JobKind | None = None  # bounded by the kind's deadline setting, not GEMINI_MCP_CALL_DEADLINE
    waits_on_jobs: bool = False  # get_job: collects any kind, each bounded by its own deadline (framework/jobs.py)
    # The toolset it is offered in (framework/toolsets.py); empty: its family, the module that declares it.
    toolset: str = ""
    # Offered only when its toolset (or the tool) is named, not in the default set: for families most agents do not
    # need, so that a server with every family does not make each of them pay the context of all of them.
    opt_in: bool = False
    # A paid tool: what a call will cost, from its validated input, before any upstream request. The framework
    # then budgets, confirms, records and never pays twice (framework/spend.py); the tool takes
    # `idempotency_key` and `confirm_cost` and its result carries `cost`, added here.
    cost: CostHook | None = None

    def __post_init__(self) -> None:
        if self.cost is not None:
            object.__setattr__(self, "input_model", paid_input(self.input_model))
            object.__setattr__(self, "output_model", paid_output(self.output_model))
        declare_output(self.output_model)
        if self.job is not None:
            object.__setattr__(self, "handler", job_handler(self.job, self.handler))

    @property
    def job_name(self) -> str | None:
        """The kind of job this tool starts or collects (known from the catalog without loading the module)."""
        return self.job.name if self.job is not None else None

    @property
    def is_loaded(self) -> bool:
        """False for a LazyToolSpec whose module is not imported yet (framework/catalog.py)."""
        return True

    def deadline_s(self, settings: Settings) -> float:
        """How long one call may take in all; a job's call also fetches and saves the result after waiting."""
        if self.job is not None:
            return self.job.deadline(settings) + settings.request_timeout_s
        if self.waits_on_jobs:
            return math.inf  # the job's own kind bounds the wait; each request has its timeout
        return settings.call_deadline_s

    @property
    def deadline_setting(self) -> str:
        """The variable that sets `deadline_s`, named when a call runs out of time."""
        return self.job.deadline_setting if self.job is not None else "GEMINI_MCP_CALL_DEADLINE"
