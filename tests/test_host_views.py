"""What a host's model sees of a result, whichever half the host shows it.

Claude Code and Codex hand their model the `structuredContent` JSON instead of the content blocks; Gemini CLI
hands it the content blocks and ignores `structuredContent`; Gemini CLI and Claude Code drop audio blocks, and
some hosts drop images. So for a tool of each family, normally and in demo mode, each half is read on its own
here, the way such a host reads it: (a) the structured content alone carries the answer, a one-line summary,
the notes, the saved paths and gemini://media URIs and, in demo mode, the demo label; (b) the text blocks
alone (no image, audio or link block) carry the same.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.emulator.tls import TlsFiles, make_tls_files
from gemini_mcp.framework.spec import ToolOutput
from gemini_mcp.framework.toolkit import DEMO_LABEL
from gemini_mcp.server.app import build_server
from tests import media_samples
from tests.conftest import FAKE_KEY
from tests.http_server import http_server

pytestmark = pytest.mark.anyio

VERTEX = {"GOOGLE_GENAI_USE_VERTEXAI": "true", "GEMINI_API_KEY": None, "GOOGLE_API_KEY": FAKE_KEY}
THINKING = "thinking_budget set to 100"  # the note generate_* make when max_output_tokens=200 leaves the budget
PNG = base64.b64encode(media_samples.png()).decode()
PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


@dataclass
class Seen:
    """What each half of one result says, read as a host that shows only that half would read it."""

    result: CallToolResult
    demo: bool
    structured: dict[str, Any] = field(init=False)
    json: str = field(init=False)  # the structured content as the model reads it
    values: str = field(init=False)  # its strings, unescaped (a multi-line answer is one JSON string)
    text: str = field(init=False)  # the text blocks only: image, audio and link blocks dropped

    def __post_init__(self) -> None:
        assert not self.result.is_error, self.result.content
        assert self.result.structured_content is not None
        self.structured = self.result.structured_content
        self.json = json.dumps(self.structured, ensure_ascii=False)
        self.values = "\n".join(strings(self.structured))
        self.text = "\n".join(block.text for block in self.result.content if isinstance(block, TextContent))

    def says(self, *pieces: str) -> Seen:
        """Each piece is in both halves."""
        for piece in pieces:
            assert piece in self.json or piece in self.values, (piece, self.json)
            assert piece in self.text, (piece, self.text)
        return self

    def check(self, *, notes: tuple[str, ...] = (), headline: bool = True) -> Seen:
        """The summary, the notes and the demo label, in both halves (`headline`: the summary is a line of the
        text, as it is unless the text is JSON)."""
        summary = self.structured["summary"]
        assert isinstance(summary, str) and summary.strip() and "\n" not in summary
        if headline:
            assert summary.removesuffix("…") in self.text
        for note in notes:
            assert any(note in given for given in self.structured["notes"]), (note, self.structured)
            assert note in self.text, (note, self.text)
        blocks = [block for block in self.result.content if isinstance(block, TextContent)]
        if self.demo:
            assert self.structured["demo"] == DEMO_LABEL
            assert next(iter(self.structured)) == "demo"  # the first thing a model reading the JSON meets
            assert blocks[-1].text == DEMO_LABEL
        else:
            assert "demo" not in self.structured and DEMO_LABEL not in self.text
        return self

    def saved(self, item: dict[str, Any]) -> str:
        """A saved file: its path and URI in both halves, the file on disk; returns its line of text."""
        assert Path(item["path"]).is_file()
        self.says(item["path"], item["uri"])
        [line] = [line for line in self.text.splitlines() if item["uri"] in line]
        assert item["path"] in line  # one line a model can act on without the media block
        return line


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from strings(item)


def audio_seconds(line: str, item: dict[str, Any]) -> float:
    """The length an audio line states, after checking its form."""
    found = re.fullmatch(
        rf"Audio saved: {re.escape(item['path'])} \((\d+\.\d) s, WAV\) — {re.escape(item['uri'])}", line
    )
    assert found, line
    return float(found[1])


@pytest.fixture(params=[False, True], ids=["plain", "demo"])
def demo(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def connect(make_env: Callable[..., dict[str, str]], demo: bool) -> Callable[..., Client]:
    def make(**changes: str | None) -> Client:
        return Client(build_server(Settings.from_env(make_env(**changes), demo=demo)))

    return make


async def call(client: Client, tool: str, arguments: dict[str, Any], demo: bool) -> Seen:
    return Seen(await client.call_tool(tool, arguments), demo)


# --- text and understanding ----------------------------------------------------------------------------------
async def test_generate_text(connect: Callable[..., Client], demo: bool) -> None:
    async with connect() as client:
        seen = await call(client, "generate_text", {"prompt": "Name a colour", "max_output_tokens": 200}, demo)
    seen.says(seen.structured["text"]).check(notes=(THINKING,))


async def test_generate_json(connect: Callable[..., Client], demo: bool) -> None:
    arguments = {"prompt": "Invent a person", "schema": PERSON, "max_output_tokens": 200}
    async with connect() as client:
        seen = await call(client, "generate_json", arguments, demo)
    data = seen.structured["data"]
    assert isinstance(data["name"], str)
    assert json.dumps(data, indent=2, ensure_ascii=False) in seen.text
    assert json.loads(seen.structured["summary"]) == data  # the JSON answer, on one line
    seen.check(notes=(THINKING,), headline=False)


async def test_analyze_media(connect: Callable[..., Client], demo: bool) -> None:
    arguments = {"question": "What is this?", "media": [{"data": PNG}], "max_output_tokens": 200}
    async with connect() as client:
        seen = await call(client, "analyze_media", arguments, demo)
    seen.says(seen.structured["text"]).check(notes=(THINKING,))


async def test_list_models(connect: Callable[..., Client], demo: bool) -> None:
    async with connect(GEMINI_API_KEY=None) as client:  # no key: the listing says what to set, as a note
        seen = await call(client, "list_models", {}, demo)
    [note] = seen.structured["notes"]
    assert "GEMINI_API_KEY" in note
    seen.says("gemini-2.5-pro").check(notes=(note,))  # the aliases name it: no key, no listing
    assert seen.structured["summary"].startswith("Backend: gemini")


# --- media ---------------------------------------------------------------------------------------------------
async def test_generate_image(connect: Callable[..., Client], demo: bool) -> None:
    # inline: no resource link, so only the text names the URI; jpeg: the Gemini image model says why it is PNG.
    arguments = {"prompt": "a red kite", "output": "inline", "output_mime_type": "image/jpeg"}
    async with connect() as client:
        seen = await call(client, "generate_image", arguments, demo)
    [image] = seen.structured["images"]
    assert seen.saved(image).startswith(f"Image saved: {image['path']} ({image['width']}x{image['height']}, PNG)")
    seen.check(notes=("returns PNG",))


async def test_generate_speech(connect: Callable[..., Client], demo: bool) -> None:
    async with connect() as client:
        seen = await call(client, "generate_speech", {"text": "Good morning", "output": "inline"}, demo)
    audio = seen.structured["audio"]
    assert audio_seconds(seen.saved(audio), audio) == pytest.approx(seen.structured["duration_s"], abs=0.051)
    seen.check()


async def test_generate_video_and_get_job_while_running_and_when_done(
    connect: Callable[..., Client], emulator: Emulator, demo: bool
) -> None:
    emulator.configure(hold_operations=True)
    # A tiny inline limit: the video asked for inline comes as a link, and a note says why.
    async with connect(**VERTEX, GEMINI_MCP_INLINE_MAX_BYTES="1024") as client:
        started = await call(client, "generate_video", {"prompt": "a comet", "wait": False, "output": "inline"}, demo)
        name, job_id = started.structured["operation_name"], started.structured["job_id"]
        started.says(name).check()  # how to collect it, in both halves
        assert started.structured["status"] == "running" and "collect" in started.structured["summary"].lower()
        early = await call(client, "get_job", {"job_id": job_id}, demo)
        early.says(name).check()
        emulator.finish_operation(name)
        done = await call(client, "get_job", {"job_id": job_id}, demo)
    [video] = done.structured["videos"]
    line = done.saved(video)
    assert line.startswith(f"Video saved: {video['path']} ({video['duration_s']:.1f} s, ")
    done.check(notes=("above the inline limit",))
    assert done.structured["status"] == "done" and done.structured["job_id"] == job_id


async def test_generate_video_waited_for(connect: Callable[..., Client], emulator: Emulator, demo: bool) -> None:
    emulator.configure(operation_duration_s=0)
    async with connect(**VERTEX, GEMINI_MCP_VIDEO_POLL_SECONDS="0.05") as client:
        seen = await call(client, "generate_video", {"prompt": "a comet"}, demo)
    [video] = seen.structured["videos"]
    seen.saved(video)
    seen.check()


# --- live ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def live_emulator(tls: TlsFiles) -> Iterator[Emulator]:
    # The SDK opens the Live API over wss:// only: this emulator serves TLS with a CA the server trusts.
    with Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as emulator:
        emulator.configure(stream_chunk_delay_s=0)
        yield emulator


async def test_live_converse(live_emulator: Emulator, tls: TlsFiles, tmp_path: Path, demo: bool) -> None:
    env = {
        "GEMINI_API_KEY": FAKE_KEY,
        "GOOGLE_GEMINI_BASE_URL": live_emulator.base_url,
        "GEMINI_MCP_CA_FILE": tls.ca_file,
        "GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "media"),
    }
    async with Client(build_server(Settings.from_env(env, demo=demo))) as client:
        seen = await call(client, "live_converse", {"text": "Hello there", "output": "inline"}, demo)
    audio = seen.structured["audio"]
    assert audio_seconds(seen.saved(audio), audio) == pytest.approx(
        seen.structured["timing"]["audio_seconds"], abs=0.051
    )
    seen.says(seen.structured["output_transcript"]).check()


# --- over HTTP: the signed download link, in text too ------------------------------------------------------------
async def test_a_download_link_is_in_both_halves(make_env: Callable[..., dict[str, str]]) -> None:
    token = "host-views-token-3e1f"
    with http_server(make_env(GEMINI_MCP_AUTH_TOKEN=token)) as server:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            seen = await call(client, "generate_speech", {"text": "hello", "output": "link"}, False)
        audio = seen.structured["audio"]
        link = audio["download_url"]
        assert seen.saved(audio).endswith(f" — download: {link}")  # the signature survived redaction
        async with httpx2.AsyncClient() as anyone:  # no Authorization header: the signature is enough
            fetched = await anyone.get(link, timeout=10)
        assert fetched.status_code == 200 and fetched.content == Path(audio["path"]).read_bytes()
    seen.check()


# --- the output schemas say so ---------------------------------------------------------------------------------
def nested_properties(schema: Any) -> Iterator[dict[str, Any]]:
    """The `properties` of every object schema inside `schema` (not its own)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for inner in value.values():
                    yield from object_properties(inner)
            elif key != "properties":
                yield from nested_properties(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from nested_properties(item)


def object_properties(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            yield schema["properties"]
        yield from nested_properties(schema)
    elif isinstance(schema, list):
        for item in schema:
            yield from object_properties(item)


async def test_every_output_schema_has_the_fields_at_its_top_only(client: Client) -> None:
    # (capabilities has a `demo` of its own, and some items `notes`: only the runner's own fields are looked for)
    # The client validates every structured result against these (the calls above pass through it).
    for tool in (await client.list_tools()).tools:
        assert tool.output_schema is not None, tool.name
        properties = tool.output_schema["properties"]
        assert properties["summary"]["type"] == properties["demo"]["type"] == "string", tool.name
        assert "notes" in properties, tool.name
        for inner in nested_properties(tool.output_schema):  # items nested in a result are never filled in
            for name, field_info in ToolOutput.model_fields.items():
                assert inner.get(name, {}).get("description") != field_info.description, (tool.name, name)
