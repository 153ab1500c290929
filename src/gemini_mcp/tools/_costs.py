"""The cost hooks of the paid tools (`ToolSpec(cost=…)`): what a planned call costs, from its validated input.

Each hook picks the model as its tool will (the same helpers, so the estimate prices the model that runs) and
prices the units it asks for with gemini/prices.py. None calls the API; framework/spend.py does the rest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gemini_mcp.framework.call import Call
from gemini_mcp.gemini.models import Task, pick, resolve
from gemini_mcp.gemini.omni import LIMITS
from gemini_mcp.gemini.prices import (
    Estimate,
    PriceTable,
    per_image,
    per_second,
    per_task,
    per_tokens,
    prices,
    tokens_in,
)

VEO_DEFAULT_S = 8  # Veo's length when none is asked for
EXTEND_S = 7  # what an extension adds, about
OMNI_DEFAULT_S = 8  # assumed: Omni's own default length is not documented in its types
MUSIC_DEFAULT_S = 30  # a Lyria clip; a song without duration_s is priced at this length too (said in the basis)
BATCH_OUTPUT_TOKENS = 1000  # assumed answer length per request when max_output_tokens is not set


def _table(call: Call) -> PriceTable:
    return prices(call.settings.prices_file)


def image_cost(args: Any, call: Call) -> Estimate:
    from gemini_mcp.tools.images import choose_model, is_imagen  # the tool's own choice of model

    model = choose_model(args, call)
    size = None if is_imagen(model) else (args.image_size or "1K")
    return per_image(_table(call), model, args.number_of_images, size)


def edit_image_cost(args: Any, call: Call) -> Estimate:
    model = pick(call, args.model, Task.IMAGE).model
    return per_image(_table(call), model, 1, "1K")


def _video_model(call: Call, name: str | None, task: Task) -> str:
    return resolve(name, task, call.settings.backend).model


def video_cost(args: Any, call: Call) -> Estimate:
    task = Task.VIDEO_HQ if args.quality == "high" and args.model is None else Task.VIDEO
    model = _video_model(call, args.model, task)
    limits = LIMITS.get(model)
    if limits is not None:  # Gemini Omni
        edits = args.video is not None or args.previous_interaction_id is not None
        seconds = args.duration_seconds or (limits.max_s if edits else OMNI_DEFAULT_S)
    else:
        seconds = args.duration_seconds or VEO_DEFAULT_S
    return per_second(_table(call), model, seconds, args.resolution)


def extend_video_cost(args: Any, call: Call) -> Estimate:
    model = _video_model(call, args.model, Task.VIDEO)
    return per_second(_table(call), model, EXTEND_S, "720p")


def music_cost(args: Any, call: Call) -> Estimate:
    from gemini_mcp.tools.music import music_model

    model = music_model(args.model)
    return per_second(_table(call), model, args.duration_s or MUSIC_DEFAULT_S)


def research_cost(args: Any, call: Call) -> Estimate:
    from gemini_mcp.tools.research import research_agent

    return per_task(_table(call), research_agent(args.agent))


def batch_cost(args: Any, call: Call) -> Estimate:
    embed = args.task == "embed"
    model = pick(call, args.model, Task.EMBEDDING if embed else Task.TEXT).model
    prompt_tokens = sum(tokens_in(item.prompt) for item in args.requests)
    if args.system_instruction and not embed:
        prompt_tokens += tokens_in(args.system_instruction) * len(args.requests)
    output_tokens = 0 if embed else (args.max_output_tokens or BATCH_OUTPUT_TOKENS) * len(args.requests)
    estimate = per_tokens(_table(call), model, prompt_tokens, output_tokens, batch=True)
    if not embed and args.max_output_tokens is None and estimate.usd is not None:
        assumed = f"{BATCH_OUTPUT_TOKENS} output tokens assumed per answer (set max_output_tokens to bound it)"
        return replace(estimate, basis=f"{estimate.basis}; {assumed}")
    return estimate
