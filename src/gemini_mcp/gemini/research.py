"""The Deep Research agent through the Interactions API: start it (a paid background agent interaction, never sent
twice), say what it is doing while it runs, and read its report.

From the SDK's types (`_gaos/types/interactions/`): the agents (`agentoption.py`: deep-research-preview-04-2026,
deep-research-max-preview-04-2026, deep-research-pro-preview-12-2025), `DeepResearchAgentConfig` (type
"deep-research"; collaborative_planning; thinking_summaries auto/none; visualization off/auto;
enable_bigquery_tool). Agents run only in the background and take no generation_config. While running, the
interaction's `thought` steps summarise what the agent does (planning, searching, reading, writing); the types
have no progress percentage. The report is a `model_output` text block whose `url_citation` annotations name its
sources. A follow-up question continues a finished report with `previous_interaction_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.gemini.interaction_results import output_blocks, problem, thoughts
from gemini_mcp.gemini.interactions import create_agent_background

if TYPE_CHECKING:
    from google.genai import interactions as itypes

    from gemini_mcp.gemini.context import GeminiCall

DEFAULT_AGENT = "deep-research-preview-04-2026"
AGENTS = frozenset(
    {"deep-research-preview-04-2026", "deep-research-max-preview-04-2026", "deep-research-pro-preview-12-2025"}
)
ALIASES = {
    "deep research": DEFAULT_AGENT,
    "deep-research": DEFAULT_AGENT,
    "deep research max": "deep-research-max-preview-04-2026",
    "max": "deep-research-max-preview-04-2026",
}
REPHRASE = "Rephrase the question (keep it to public, lawful information)"


def compose_question(
    question: str, *, scope: str | None, prefer_sources: list[str] | None, output_format: str | None
) -> str:
    """The agent reads one prompt: the question, then the caller's constraints."""
    lines = [question.strip()]
    if scope:
        lines.append(f"Scope: {scope.strip()}")
    if prefer_sources:
        lines.append("Prefer these sources: " + ", ".join(s.strip() for s in prefer_sources if s.strip()))
    if output_format:
        lines.append(f"Format the report as: {output_format.strip()}")
    return "\n".join(lines)


async def start_research(
    call: GeminiCall,
    agent: str,
    prompt: str,
    *,
    collaborative_planning: bool = False,
    visualization: bool = False,
    previous_interaction_id: str | None = None,
) -> itypes.Interaction:
    # Thought summaries on: they are how a waiting user learns what the agent is doing.
    config: dict[str, Any] = {"type": "deep-research", "thinking_summaries": "auto"}
    if collaborative_planning:
        config["collaborative_planning"] = True
    config["visualization"] = "auto" if visualization else "off"
    return await create_agent_background(
        call, agent=agent, input=prompt, agent_config=config, previous_interaction_id=previous_interaction_id
    )


def doing(interaction: itypes.Interaction) -> str | None:
    """What the agent says it is doing now (its latest thought summary), in one short line."""
    said = thoughts(interaction)
    if not said:
        return None
    line = said[-1].strip().splitlines()[0] if said[-1].strip() else ""
    return f"Deep Research: {line[:140]}" if line else None


@dataclass(frozen=True)
class Source:
    title: str
    uri: str


@dataclass(frozen=True)
class Report:
    interaction_id: str
    text: str
    sources: list[Source]
    problem: GeminiCallError | None
    agent: str | None = None


def read_report(interaction: itypes.Interaction) -> Report:
    name = interaction.id or ""
    agent = str(interaction.agent) if interaction.agent else None
    refused = problem(interaction, who="Deep Research", noun="report", rephrase=REPHRASE)
    if refused is not None:
        return Report(name, "", [], refused, agent)
    texts: list[str] = []
    sources: dict[str, Source] = {}
    for block in output_blocks(interaction):
        if getattr(block, "type", None) != "text" or not getattr(block, "text", None):
            continue
        texts.append(str(block.text))
        for note in getattr(block, "annotations", None) or []:
            url = getattr(note, "url", None)
            if getattr(note, "type", None) == "url_citation" and url and url not in sources:
                sources[str(url)] = Source(str(getattr(note, "title", None) or url), str(url))
    text = "\n\n".join(texts)  # as written: the saved file is the agent's own markdown
    if not text.strip():
        return Report(
            name, "", [], GeminiCallError(f"Deep Research returned no report (interaction {name}). {REPHRASE}"), agent
        )
    return Report(name, text, list(sources.values()), None, agent)
