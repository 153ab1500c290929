"""The Interactions API (`client.aio.interactions`) with the behaviour of the rest of the server.

google-genai builds its Interactions client (`_gaos/`, a generated client with its own HTTP layer) from the
parent client, and it sends through the parent's httpx client. So everything under `gemini/client.py` holds
for it too, with nothing to wrap here:

- the transport (`gemini/transport.py`): our concurrency limit, `Retry-After` honoured once and capped (the
  header is dropped once waited for, so the generated client's own uncapped wait does not double it), large
  inline media of a polled interaction decoded to disk in chunks (`gemini/offload.py`: the video block's
  `data` becomes a `uri` naming the file), and the never-pay-twice rule: a create with `"background": true`
  is in `transport.PAID_CREATES`, so once it may have reached the API it is never sent again;
- its retries and timeouts come from the same `HttpOptions` (`retry_options`: our attempts, delays and
  transient statuses instead of its own default of 4 retries; `timeout`: GEMINI_MCP_TIMEOUT per request);
- its errors (`google.genai._interactions_errors`, not `errors.APIError`) are mapped into our taxonomy by
  `failures.describe_failure`, which reads their status and body only (the request carries the key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.genai import interactions as itypes

    from gemini_mcp.gemini.context import GeminiCall

# The statuses of an interaction that is still working; any other status is final.
RUNNING = frozenset({"in_progress", "queued"})


async def _resource(call: GeminiCall) -> Any:
    client = await call.client()
    return client.aio.interactions


async def _create(call: GeminiCall, body: dict[str, Any], **optional: Any) -> itypes.Interaction:
    """`interactions.create` with `body` and each optional field that is set (mappings copied to plain dicts)."""
    for key, value in optional.items():
        if value is not None:
            body[key] = dict(value) if isinstance(value, Mapping) else value
    resource = await _resource(call)
    interaction: itypes.Interaction = await resource.create(**body)
    return interaction


async def create_background(
    call: GeminiCall,
    *,
    model: str,
    input: str | Sequence[Mapping[str, Any]],
    response_format: Mapping[str, Any] | None = None,
    generation_config: Mapping[str, Any] | None = None,
    previous_interaction_id: str | None = None,
) -> itypes.Interaction:
    """Start a background interaction (stored, so that it can be polled, cancelled and continued)."""
    return await _create(
        call,
        {"model": model, "input": input, "background": True, "store": True},
        response_format=response_format,
        generation_config=generation_config,
        previous_interaction_id=previous_interaction_id,
    )


async def create_agent_background(
    call: GeminiCall,
    *,
    agent: str,
    input: str | Sequence[Mapping[str, Any]],
    agent_config: Mapping[str, Any] | None = None,
    previous_interaction_id: str | None = None,
) -> itypes.Interaction:
    """Start an agent (Deep Research) in the background: agents take `agent_config`, never generation_config."""
    return await _create(
        call,
        {"agent": agent, "input": input, "background": True, "store": True},
        agent_config=agent_config,
        previous_interaction_id=previous_interaction_id,
    )


async def create_interaction(
    call: GeminiCall,
    *,
    model: str,
    input: str | Sequence[Mapping[str, Any]],
    generation_config: Mapping[str, Any] | None = None,
    store: bool = False,
    previous_interaction_id: str | None = None,
    system_instruction: str | None = None,
) -> itypes.Interaction:
    """A foreground interaction that answers in one response (not a paid background create: it is retried like
    any generate call). Not stored by default: nothing needs to read it again. A continued conversation
    (`previous_interaction_id`) inherits only the turns: the system instruction and the generation config apply
    to one interaction, so a caller sends them again each time."""
    return await _create(
        call,
        {"model": model, "input": input, "store": store},
        generation_config=generation_config,
        previous_interaction_id=previous_interaction_id,
        system_instruction=system_instruction,
    )


async def get_interaction(call: GeminiCall, interaction_id: str, *, include_input: bool = False) -> itypes.Interaction:
    resource = await _resource(call)
    if include_input:
        interaction: itypes.Interaction = await resource.get(interaction_id, include_input=True)
    else:
        interaction = await resource.get(interaction_id)
    return interaction


async def delete_interaction(call: GeminiCall, interaction_id: str) -> None:
    """Delete a stored interaction (the API answers with an empty object; an unknown id is a 404)."""
    resource = await _resource(call)
    await resource.delete(interaction_id)


async def cancel_interaction(call: GeminiCall, interaction_id: str) -> itypes.Interaction:
    """Ask the API to stop a background interaction (it answers with the interaction, now cancelled)."""
    resource = await _resource(call)
    interaction: itypes.Interaction = await resource.cancel(interaction_id)
    return interaction
