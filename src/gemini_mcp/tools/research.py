"""Research: deep_research runs Google's Deep Research agent (an agent interaction in the background).

The agent plans, searches the web, reads sources and writes a cited report, over several minutes: a job
(framework/jobs.py) whose progress messages say what the agent reports doing (its thought summaries) and the
elapsed time; cancelling the call cancels the interaction; `wait: false` answers at once with a job id. The
report comes back as markdown text with its sources (title, uri) and is saved as a `.md` file. A follow-up
question on a finished report continues it (`previous_interaction_id`), so the agent keeps what it found.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from mcp_types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_mcp.errors import UserInputError
from gemini_mcp.framework.call import Call
from gemini_mcp.framework.delivery import media_blocks, save
from gemini_mcp.framework.jobs import JobKind, JobOutput, JobRef, JobState, Started
from gemini_mcp.framework.spec import ToolInput, ToolOutput, ToolSpec
from gemini_mcp.framework.toolkit import structured_result
from gemini_mcp.gemini.interaction_results import is_running, status_of
from gemini_mcp.gemini.interactions import cancel_interaction, get_interaction
from gemini_mcp.gemini.research import (
    AGENTS,
    ALIASES,
    DEFAULT_AGENT,
    compose_question,
    doing,
    read_report,
    start_research,
)
from gemini_mcp.media.store import SavedMedia
from gemini_mcp.tools._costs import research_cost

logger = logging.getLogger("gemini_mcp.tools.research")

MESSAGES = (
    "Deep Research is planning the research…",
    "Deep Research is searching the web…",
    "Reading and cross-checking sources…",
    "Writing the report with citations…",
    "Still researching: a thorough report takes 5 to 20 minutes…",
)
MAX_SOURCES = 20
BACKEND_HINT = "Deep Research runs on the Gemini Developer API: use a Gemini API key (GOOGLE_GENAI_USE_VERTEXAI unset)"


class ResearchInput(ToolInput):
    """Arguments of deep_research."""

    question: Annotated[str, Field(min_length=1, description="What to research.")]
    scope: Annotated[str | None, Field(description="Limits: period, region, depth.")] = None
    prefer_sources: Annotated[list[str] | None, Field(description="Sites or kinds of source to prefer.")] = None
    output_format: Annotated[str | None, Field(description="E.g. 'a table comparing X', '1-page brief'.")] = None
    agent: Annotated[str | None, Field(description="deep research (default), deep research max, or an id.")] = None
    previous_interaction_id: Annotated[
        str | None, Field(description="interaction_id of a finished report: ask a follow-up on it.")
    ] = None
    plan_first: Annotated[bool, Field(description="Return a plan to confirm in a follow-up.")] = False
    wait: Annotated[bool, Field(description="false: return a job_id at once (get_job).")] = True


class Source(BaseModel):
    title: str
    uri: str


class ResearchOutput(JobOutput, ToolOutput):
    interaction_id: Annotated[
        str | None, Field(description="Pass as previous_interaction_id for a follow-up question.")
    ] = None
    agent: str | None = None
    activity: Annotated[str | None, Field(description="What the agent reports doing (running).")] = None
    report: Annotated[str | None, Field(description="The report, markdown.")] = None
    sources: list[Source] | None = None
    file: Annotated[SavedMedia | None, Field(description="The saved .md report.")] = None
    notes: list[str] | None = None


def research_agent(name: str | None) -> str:
    if name is None or not name.strip():
        return DEFAULT_AGENT
    key = name.strip().lower()
    agent = ALIASES.get(key, key)
    if agent not in AGENTS:
        raise UserInputError(
            f"agent: '{name}' is not a Deep Research agent; use 'deep research' ({DEFAULT_AGENT}, default), "
            "'deep research max' (deep-research-max-preview-04-2026), or leave it out"
        )
    return agent


def check(args: ResearchInput) -> None:
    if not args.question.strip():
        raise UserInputError("question: say what to research")
    sources = args.prefer_sources or []
    if len(sources) > MAX_SOURCES:
        raise UserInputError(f"prefer_sources: at most {MAX_SOURCES} entries, got {len(sources)}")
    if any(not s.strip() for s in sources):
        raise UserInputError("prefer_sources: an entry is blank; name a site or a kind of source, or drop it")
    previous = args.previous_interaction_id
    if previous is not None:
        if not previous.strip():
            raise UserInputError("previous_interaction_id: blank; pass the interaction_id an earlier report returned")
        if previous.strip().startswith(f"{RESEARCH.name}."):
            raise UserInputError(
                "previous_interaction_id: that is a job_id; pass the report's interaction_id (in its result) instead"
            )


async def deep_research(args: ResearchInput, call: Call) -> Started:
    agent = research_agent(args.agent)
    call.model = agent
    check(args)
    prompt = compose_question(
        args.question, scope=args.scope, prefer_sources=args.prefer_sources, output_format=args.output_format
    )
    previous = (args.previous_interaction_id or "").strip() or None
    interaction = await start_research(
        call, agent, prompt, collaborative_planning=args.plan_first, previous_interaction_id=previous
    )
    return Started(interaction.id or "", _state(interaction), {}, {"hint": args.question}, wait=args.wait)


# --- the job ----------------------------------------------------------------------------------------------
def _state(interaction: Any) -> JobState:
    cancelled = status_of(interaction) == "cancelled"
    message = doing(interaction)
    if status_of(interaction) == "queued":
        message = "Deep Research: waiting in Google's queue…"
    return JobState(
        done=not is_running(interaction) and not cancelled, cancelled=cancelled, upstream=interaction, message=message
    )


async def _poll(ref: JobRef, call: Call) -> JobState:
    return _state(await get_interaction(call, ref.upstream))


async def _cancel(ref: JobRef, call: Call) -> None:
    await cancel_interaction(call, ref.upstream)


def _running(ref: JobRef, state: JobState, call: Call) -> ResearchOutput:
    interaction = state.upstream
    agent = str(interaction.agent) if interaction is not None and interaction.agent else call.model
    return ResearchOutput(
        job_id=ref.id,
        interaction_id=ref.upstream,
        status="running",
        agent=agent,
        activity=state.message,
        notes=call.notes or None,
    )


def _markdown(report: str, sources: list[Source]) -> str:
    missing = [s for s in sources if s.uri not in report]
    if not missing:
        return report
    listed = "".join(f"{i}. [{s.title}]({s.uri})\n" for i, s in enumerate(sources, 1))
    return f"{report.rstrip()}\n\n## Sources\n\n{listed}"


async def _collected(ref: JobRef, state: JobState, call: Call) -> CallToolResult:
    finished = read_report(state.upstream)
    call.model = call.model or finished.agent
    if finished.problem is not None:
        call.resume_hint = None  # the interaction is over: there is nothing left to collect
        raise finished.problem
    sources = [Source(title=s.title, uri=s.uri) for s in finished.sources]
    markdown = _markdown(finished.text, sources)
    hint = str(ref.local.get("hint", "research"))
    saved = await save(call.media, markdown.encode(), mime_type="text/markdown", kind="research", hint=hint)
    link = await media_blocks(call, saved, None, "link", description=f"Research report: {hint[:60]}")
    result = ResearchOutput(
        status="done",
        interaction_id=finished.interaction_id,
        agent=call.model,
        report=finished.text,
        sources=sources,
        file=saved,
        notes=call.notes or None,
    )
    tail = [f"Report saved: {saved.path}"]
    if sources:
        tail.insert(0, "Sources:\n" + "\n".join(f"- {s.title}: {s.uri}" for s in sources))
    tail.append(
        f"For a follow-up question, call deep_research with previous_interaction_id='{finished.interaction_id}'."
    )
    blocks: list[ContentBlock] = [TextContent(type="text", text=finished.text + "\n\n" + "\n\n".join(tail)), *link]
    return structured_result(result, blocks)


RESEARCH = JobKind(
    name="research",
    title="Deep Research",
    noun="research report",
    label="Deep Research interaction",
    poll=_poll,
    deliver=_collected,
    running=_running,
    cancel=_cancel,
    messages=MESSAGES,
    deadline_setting="GEMINI_MCP_RESEARCH_DEADLINE",  # reports take 5-20 minutes: longer than any other job
    deadline=lambda settings: settings.research_deadline_s,
    poll_interval=lambda settings: settings.research_poll_s,
    done_message="Deep Research finished: saving the report",
    started_message="Deep Research started: a report usually takes 5 to 20 minutes",
    expected_s=600.0,
    kept_s=24 * 3600,
    logger=logger,
)

TOOLS: list[ToolSpec[Any]] = [
    ToolSpec(
        name="deep_research",
        title="Deep research (agent)",
        description=(
            "Run Google's Deep Research agent: it plans, searches and reads many web sources and writes a cited "
            "markdown report. Takes minutes (usually 5-20) and costs much more than search_web: use search_web "
            "for quick facts. Progress says what the agent is doing; wait=false returns a job_id for get_job. "
            "Returns the report, its sources and a saved .md; previous_interaction_id asks a follow-up."
        ),
        input_model=ResearchInput,
        output_model=ResearchOutput,
        handler=deep_research,
        cost=research_cost,
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
        backends=frozenset({"gemini"}),
        backend_hint=BACKEND_HINT,
        job=RESEARCH,
    ),
]
