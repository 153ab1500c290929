"""Reading a finished interaction, for every family built on the Interactions API (music, research, transcripts).

An interaction (`_gaos/types/interactions/interaction.py`) ends `completed`, `failed`, `cancelled`,
`incomplete`, `budget_exceeded` or `requires_action`; its results are the content blocks of its `model_output`
steps, what the model said on the way its `thought` steps, and a failure its `errors` (codes such as SAFETY or
INTERNAL) and the failing step's `error` (a google.rpc.Status whose ErrorInfo reason may be SAFETY).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gemini_mcp.errors import GeminiCallError
from gemini_mcp.gemini.interactions import RUNNING

if TYPE_CHECKING:
    from google.genai import interactions as itypes

ENDINGS = {
    "failed": "failed",
    "cancelled": "was cancelled",
    "incomplete": "stopped before it was complete",
    "budget_exceeded": "stopped: the request's budget was used up",
    "requires_action": "stopped, asking for an action this server does not take",
}


def status_of(interaction: itypes.Interaction) -> str:
    return str(getattr(interaction.status, "value", interaction.status))


def is_running(interaction: itypes.Interaction) -> bool:
    return status_of(interaction) in RUNNING


def output_blocks(interaction: itypes.Interaction) -> list[Any]:
    """The content blocks of every `model_output` step, in order."""
    return [
        block
        for step in interaction.steps or []
        if getattr(step, "type", None) == "model_output"
        for block in getattr(step, "content", None) or []
    ]


def thoughts(interaction: itypes.Interaction) -> list[str]:
    """The summaries of the `thought` steps so far (what an agent says it is doing)."""
    said: list[str] = []
    for step in interaction.steps or []:
        if getattr(step, "type", None) != "thought":
            continue
        for item in getattr(step, "summary", None) or []:
            text = getattr(item, "text", None)
            if text:
                said.append(str(text))
    return said


def _messages(interaction: itypes.Interaction) -> list[str]:
    said = [str(error.message) for error in interaction.errors or [] if error.message]
    for step in interaction.steps or []:
        error = getattr(step, "error", None)
        message = getattr(error, "message", None) if error is not None else None
        if message and str(message) not in said:
            said.append(str(message))
    return said


def _safety(interaction: itypes.Interaction) -> bool:
    if any(str(error.code or "").upper() == "SAFETY" for error in interaction.errors or []):
        return True
    for step in interaction.steps or []:
        for detail in getattr(getattr(step, "error", None), "details", None) or []:
            reason = detail.get("reason") if isinstance(detail, dict) else getattr(detail, "reason", None)
            if str(reason or "").upper() == "SAFETY":
                return True
    return False


def problem(interaction: itypes.Interaction, *, who: str, noun: str, rephrase: str) -> GeminiCallError | None:
    """Why a finished interaction has no result to deliver (None when it completed), worded for the agent:
    who refused or failed, what the API said, the interaction's id, and what to do."""
    status = status_of(interaction)
    name = interaction.id or "?"
    said = "; ".join(_messages(interaction))
    if status == "completed":
        return None
    if _safety(interaction):
        return GeminiCallError(
            f"{who}'s safety rules blocked the {noun}: {said or 'no reason given'} (interaction {name}). {rephrase}"
        )
    what = ENDINGS.get(status, f"ended with status '{status}'")
    fix = "Start a new one if you still need it" if status == "cancelled" else "Adjust the request and try again"
    return GeminiCallError(f"{who}'s {noun} {what}" + (f": {said}" if said else "") + f" (interaction {name}). {fix}")
