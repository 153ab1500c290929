"""MCP prompts (hosts show them as commands, e.g. `/describe_image`) and completions for their arguments.

Each prompt is a ready-made request to the agent that names the tool to call and its arguments, so a
user gets a good result without knowing the tools. Completions suggest voices, aspect ratios, shot counts
and the ids of media this server saved (for the `gemini://media/{media_id}` template).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from gemini_mcp.media.store import MEDIA_URI_PREFIX, MediaStore
from gemini_mcp.voices import DEFAULT_VOICE, VOICES

ASPECT_RATIOS = ["16:9", "9:16"]
MAX_COMPLETIONS = 100  # the protocol's cap per answer
# Uploaded files and YouTube videos are passed to Gemini by URI, not downloaded by the server.
_URI_HOSTS = r"^https://(generativelanguage\.googleapis\.com/|(www\.)?(youtube\.com|youtu\.be)/)"


def media_argument(reference: str) -> dict[str, str]:
    """The MediaInput for what a user typed: a URL, a Files API / gemini:// / YouTube URI, or a path."""
    reference = reference.strip()
    if reference.startswith((MEDIA_URI_PREFIX, "gs://", "files/")) or re.match(_URI_HOSTS, reference):
        return {"file_uri": reference}
    if reference.startswith(("http://", "https://")):
        return {"url": reference}
    return {"path": reference}


def _call(tool: str, arguments: dict[str, Any]) -> str:
    return f"`{tool}` with arguments:\n```json\n{json.dumps(arguments, indent=2, ensure_ascii=False)}\n```"


def describe_image(image: str, focus: str = "") -> str:
    question = "Describe this image in detail: subject, setting, composition, colours, any text it contains."
    if focus.strip():
        question += f" Pay special attention to: {focus.strip()}."
    request = _call("analyze_media", {"question": question, "media": [media_argument(image)]})
    return f"Call {request}\nThen give me the description."


def summarize_document(document: str, length: str = "one paragraph") -> str:
    question = f"Summarise this document in {length.strip() or 'one paragraph'}, then list its key points."
    return f"Call {_call('analyze_media', {'question': question, 'media': [media_argument(document)]})}"


def narrate_text(text: str, voice: str = DEFAULT_VOICE, style: str = "") -> str:
    arguments: dict[str, Any] = {"text": text, "voice": voice.strip() or DEFAULT_VOICE}
    if style.strip():
        arguments["style"] = style.strip()
    return f"Read this text aloud: call {_call('generate_speech', arguments)}\nThen tell me where the WAV was saved."


def storyboard_video(idea: str, shots: str = "3", aspect_ratio: str = "16:9") -> str:
    count = int(shots) if shots.strip().isdigit() and 1 <= int(shots) <= 6 else 3
    ratio = aspect_ratio if aspect_ratio in ASPECT_RATIOS else "16:9"
    return (
        f"Turn this idea into a short video: {idea}\n\n"
        f"1. Write a storyboard of {count} shots (framing, action, sound for each), and show it to me.\n"
        f"2. Draw the first shot's keyframe with `generate_image` (aspect_ratio '{ratio}').\n"
        f"3. Animate it with `generate_video`: the first shot's description as `prompt`, the keyframe's "
        f"gemini://media URI as `image`, aspect_ratio '{ratio}'. It takes 1-3 minutes; progress is reported.\n"
        "4. For each further shot, continue with `extend_video` on the previous video's URI.\n"
        "Give me the final video's resource link."
    )


def _prompt(fn: Callable[..., str], title: str, description: str) -> Prompt:
    """The Prompt for `fn`, from its signature. Prompt.from_function would build a pydantic validator for each
    (~1 ms apiece on every start, before `initialize` is answered) to cast arguments that MCP sends as strings
    already, which is all these functions take."""
    parameters = inspect.signature(fn).parameters.values()
    arguments = [
        PromptArgument(name=p.name, description=None, required=p.default is inspect.Parameter.empty) for p in parameters
    ]
    return Prompt(
        name=fn.__name__, title=title, description=description, arguments=arguments, fn=fn, context_kwarg=None
    )


PROMPTS = [
    _prompt(
        describe_image,
        title="Describe an image",
        description="Describe an image (path, URL or gemini://media URI) with Gemini, optionally with a focus.",
    ),
    _prompt(
        summarize_document,
        title="Summarise a document",
        description="Summarise a PDF, web page, audio or video file (path, URL, YouTube or gemini://media URI).",
    ),
    _prompt(
        narrate_text,
        title="Narrate text",
        description="Read a text aloud with a Gemini voice (WAV); optional style such as 'cheerfully'.",
    ),
    _prompt(
        storyboard_video,
        title="Storyboard a video",
        description="Plan a short video shot by shot, draw a keyframe, then animate and extend it with Veo.",
    ),
]


def register_prompts(server: MCPServer[Any], media: MediaStore) -> None:
    for prompt in PROMPTS:
        server.add_prompt(prompt)

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, ResourceTemplateReference):
            if ref.uri == MEDIA_URI_PREFIX + "{media_id}" and argument.name == "media_id":
                return _matching(await anyio.to_thread.run_sync(media.ids_newest_first), argument.value)
            return None
        if argument.name == "voice":
            return _matching(list(VOICES), argument.value)
        if argument.name == "aspect_ratio":
            return _matching(ASPECT_RATIOS, argument.value)
        if argument.name == "shots":
            return _matching([str(n) for n in range(1, 7)], argument.value)
        if argument.name == "length":
            return _matching(["one sentence", "one paragraph", "five bullet points", "one page"], argument.value)
        return None


def _matching(values: list[str], typed: str) -> Completion:
    typed = typed.lower()
    found = [v for v in values if v.lower().startswith(typed)]
    return Completion(values=found[:MAX_COMPLETIONS], total=len(found), has_more=len(found) > MAX_COMPLETIONS)
