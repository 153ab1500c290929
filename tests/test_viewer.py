"""The media viewer (MCP Apps, framework/apps.py) as a user sees it, in a real headless Chromium.

A client that declares the `io.modelcontextprotocol/ui` extension sees `_meta.ui.resourceUri` on the media and job
tools and the `ui://` viewer among the resources; any other client sees exactly what it saw before. The browser
tests load the viewer the way a host does: the tool's `_meta.ui.resourceUri` is read with resources/read, the page
runs in a sandboxed iframe of a minimal host page (tests/viewer_host.html) that speaks the ext-apps postMessage
protocol, hands the view the real result of a real tool call against the emulator, and forwards the view's
resources/read and tools/call to the real server. Each state is screenshotted under the test's tmp_path (and,
with GEMINI_MCP_VIEWER_SHOTS=<folder>, copied there: docs/viewer/ holds the README's).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.framework.apps import VIEWER_URI
from gemini_mcp.server.app import build_server
from tests.conftest import FAKE_KEY
from tests.viewer_browser import Browser, Page, chromium_path
from tests.viewer_media import playable_mp4

pytestmark = pytest.mark.anyio
needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="needs a chromium binary (Debian: apt-get install chromium; .ci/run installs it)"
)

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
DEVELOPER = {"GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05"}
VERTEX = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": FAKE_KEY,
    "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.05",
}
SHOTS_ENV = "GEMINI_MCP_VIEWER_SHOTS"
HOST_PAGE = Path(__file__).with_name("viewer_host.html")
MEDIA_TOOLS = {"generate_image", "edit_image", "generate_speech", "generate_video", "extend_video", "generate_music"}
JOB_TOOLS = {"get_job", "generate_video", "deep_research", "batch_generate"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def apps_client(make_env: Callable[..., dict[str, str]]) -> Callable[..., Client]:
    """A client of a fresh server that declares MCP Apps, as an Apps host does at initialize."""

    def make(mode: str = "auto", **changes: str | None) -> Client:
        return Client(build_server(Settings.from_env(make_env(**changes))), mode=mode, extensions=[APPS])

    return make


# --- what each kind of client is told -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_only_clients_declaring_apps_see_the_viewer_and_results_stay_the_same(
    make_client: Callable[..., Client], apps_client: Callable[..., Client], emulator: Emulator, mode: str
) -> None:
    async with make_client(mode=mode) as plain, apps_client(mode=mode) as apps:
        plain_tools = {tool.name: tool for tool in (await plain.list_tools()).tools}
        apps_tools = {tool.name: tool for tool in (await apps.list_tools()).tools}
        plain_resources = [str(r.uri) for r in (await plain.list_resources()).resources]
        apps_resources = [str(r.uri) for r in (await apps.list_resources()).resources]
        [viewer] = (await apps.read_resource(VIEWER_URI)).contents
        plain_image = await plain.call_tool("generate_image", {"prompt": "a red kite"})
        apps_image = await apps.call_tool("generate_image", {"prompt": "a red kite"})
    # Other clients: no `_meta.ui` on any tool and no ui:// resource, as before the viewer existed.
    assert all(tool.meta is None or "ui" not in tool.meta for tool in plain_tools.values())
    assert plain_resources == ["gemini://capabilities", "gemini://spend"]
    # Apps clients: the media and job tools point at the viewer, and nothing else about any tool differs.
    pointing = {name for name, tool in apps_tools.items() if (tool.meta or {}).get("ui", {}).get("resourceUri")}
    assert pointing >= MEDIA_TOOLS | JOB_TOOLS
    assert not pointing & {"generate_text", "list_models", "cancel_job", "list_voices", "chat_send"}
    assert {apps_tools[name].meta["ui"]["resourceUri"] for name in pointing} == {VIEWER_URI}  # type: ignore[index]
    for name, tool in apps_tools.items():
        assert tool.model_copy(update={"meta": plain_tools[name].meta}) == plain_tools[name]
    assert apps_resources == [VIEWER_URI, *plain_resources]
    assert viewer.mime_type == APP_MIME_TYPE
    assert viewer.meta == {"ui": {"csp": {}, "prefersBorder": True}}  # no network at all
    assert "<script" in viewer.text and "http://" not in viewer.text and "https://" not in viewer.text  # type: ignore[union-attr]
    # Tool results are the same for both (only the saved file's name and id differ).
    for result in (plain_image, apps_image):
        assert not result.is_error and "ui" not in (result.meta or {})
    assert [b.type for b in plain_image.content] == [b.type for b in apps_image.content]
    assert set(plain_image.structured_content or {}) == set(apps_image.structured_content or {})


# --- the viewer in a browser ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def host_url() -> Iterator[str]:
    """The host page, served from a loopback HTTP server."""
    page = HOST_PAGE.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with Browser.start(tmp_path) as running:
        yield running


def wire(value: Any) -> Any:
    """An MCP result as the host receives it on the wire."""
    return value.model_dump(mode="json", by_alias=True, exclude_none=True)


class Host:
    """The host's side: the page with the view, and the MCP client it forwards the view's requests to."""

    def __init__(self, page: Page, client: Client, url: str, shots: Path) -> None:
        self.page = page
        self.client = client
        self.url = url
        self.shots = shots
        self.view = 0  # the isolated world in the viewer's frame

    async def start(self) -> None:
        await self.page.bind("forwardToServer", self.forward)
        await self.page.send("Page.navigate", url=self.url)
        await self.page.wait_for("typeof window.loadView === 'function'", what="the host page")

    async def forward(self, payload: str) -> None:
        message = json.loads(payload)
        params = message.get("params") or {}
        result: Any = None
        error: str | None = None
        try:
            if message["method"] == "tools/call":
                result = wire(await self.client.call_tool(params["name"], params.get("arguments") or {}))
            else:
                result = wire(await self.client.read_resource(params["uri"]))
        except MCPError as exc:
            error = exc.error.message
        await self.page.evaluate(f"hostAnswer({json.dumps(message['id'])}, {json.dumps(result)}, {json.dumps(error)})")

    async def show(
        self,
        tool: str,
        arguments: dict[str, Any],
        result: CallToolResult | None,
        *,
        theme: str = "light",
        width: int = 560,
    ) -> None:
        """Render `tool`'s viewer (found the way a host finds it) with the call's input and result (None: the call
        is still running; `send_result` hands it over later)."""
        listed = {t.name: t for t in (await self.client.list_tools()).tools}
        uri = listed[tool].meta["ui"]["resourceUri"]  # type: ignore[index]
        [html] = (await self.client.read_resource(uri)).contents
        assert html.mime_type == APP_MIME_TYPE
        context = {
            "theme": theme,
            "displayMode": "inline",
            "availableDisplayModes": ["inline"],
            "containerDimensions": {"width": width, "maxHeight": 800},
            "platform": "desktop",
            "locale": "en-US",
        }
        await self.page.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=False
        )
        given = [html.text, context, arguments, wire(result) if result is not None else None]  # type: ignore[union-attr]
        await self.page.evaluate(f"loadView(...{json.dumps(given)})")
        await self.page.wait_for("window.host.initialized", what="the view's ui/notifications/initialized")
        self.view = await self.page.frame_world()

    async def send_result(self, result: CallToolResult) -> None:
        await self.page.evaluate(f"sendResult({json.dumps(wire(result))})")

    async def in_view(self, expression: str) -> Any:
        return await self.page.evaluate(expression, self.view)

    async def until(self, expression: str, what: str) -> Any:
        return await self.page.wait_for(expression, context=self.view, what=what)

    async def press_on(self, selector: str, key: str, code: str, key_code: int) -> None:
        """Focus `selector` in the view and press a key on it, as a keyboard user does."""
        await self.in_view(f"document.querySelector({json.dumps(selector)}).focus()")
        assert await self.in_view(f"document.activeElement === document.querySelector({json.dumps(selector)})")
        await self.page.press(key, code, key_code)

    async def screenshot(self, name: str) -> Path:
        height = int(await self.page.evaluate("document.getElementById('view').getBoundingClientRect().height"))
        width = int(await self.page.evaluate("document.documentElement.clientWidth"))
        path = await self.page.screenshot(self.shots / f"{name}.png", width=width, height=max(80, min(height, 800)))
        copy_to = os.environ.get(SHOTS_ENV)
        if copy_to:
            Path(copy_to).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(copy_to) / path.name)
        return path

    def network(self) -> list[str]:
        """Every http(s)/ws request the page made besides loading the host page itself."""
        urls = [
            event["params"]["request"]["url"]
            for event in self.page.events
            if event["method"] == "Network.requestWillBeSent"
        ]
        return [url for url in urls if url.split(":")[0] in ("http", "https", "ws", "wss") and url != self.url]


@pytest.fixture
async def host(browser: Browser, host_url: str, tmp_path: Path) -> AsyncIterator[Callable[[Client], Any]]:
    async def make(client: Client) -> Host:
        page = await browser.new_page()
        made = Host(page, client, host_url, tmp_path)
        await made.start()
        return made

    yield make


@needs_chromium
async def test_images_are_drawn_full_size_on_click_and_downloadable_by_keyboard(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator
) -> None:
    async with apps_client(**VERTEX) as client:  # Imagen, for a gallery of two
        arguments = {"prompt": "a red kite over the sea", "number_of_images": 2, "model": "imagen-4.0-generate-001"}
        result = await client.call_tool("generate_image", arguments)
        assert not result.is_error, text_of(result)
        images = result.structured_content["images"]  # type: ignore[index]
        view: Host = await host(client)
        await view.show("generate_image", arguments, result)
        drawn = await view.until(
            "[...document.querySelectorAll('.gallery img')].every(i => i.complete && i.naturalWidth > 0) &&"
            " [...document.querySelectorAll('.gallery img')]"
            ".map(i => [i.naturalWidth, i.naturalHeight, i.dataset.uri])",
            "the images drawn",
        )
        assert drawn == [[item["width"], item["height"], item["uri"]] for item in images]
        # Each one is the saved file's bytes, read through the host's resources/read (no path, no key).
        sources = await view.in_view("[...document.querySelectorAll('.gallery img')].map(i => i.src)")
        for source, item in zip(sources, images, strict=True):
            assert base64.b64decode(source.split(",", 1)[1]) == Path(item["path"]).read_bytes()
        reads = await view.page.evaluate("window.host.calls")
        assert [call["params"]["uri"] for call in reads] == [item["uri"] for item in images]
        await view.screenshot("image-gallery")

        # Keyboard: Enter on the first thumbnail opens it full size; Escape closes it; Tab reaches its Download.
        await view.press_on(".gallery .thumb", "Enter", "Enter", 13)
        opened = await view.until(
            "document.getElementById('zoom').open && document.getElementById('zoom-img').naturalWidth", "the full size"
        )
        assert opened == images[0]["width"]
        assert await view.in_view("document.activeElement.id") == "zoom-close"
        await view.screenshot("image-full-size")
        await view.page.press("Escape", "Escape", 27)
        await view.until("!document.getElementById('zoom').open", "the dialog closed")
        await view.press_on(".gallery .thumb", "Tab", "Tab", 9)
        assert await view.in_view("document.activeElement.textContent") == "Download"
        await view.page.press(" ", "Space", 32)
        downloads = await view.page.wait_for("window.host.downloads.length && window.host.downloads", what="download")
        [content] = downloads[0]["contents"]
        assert content["resource"]["uri"] == images[0]["uri"]
        assert base64.b64decode(content["resource"]["blob"]) == Path(images[0]["path"]).read_bytes()

        # A narrow pane: no sideways scrolling; the host's dark theme is followed when it changes.
        await view.show("generate_image", arguments, result, width=320)
        await view.until("[...document.querySelectorAll('.gallery img')].every(i => i.naturalWidth > 0)", "redrawn")
        assert await view.in_view("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        await view.page.evaluate("changeContext({theme: 'dark'})")
        await view.until("document.documentElement.dataset.theme === 'dark'", "the dark theme")
        background = await view.in_view("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 24, 39)"
        await view.screenshot("image-narrow-dark")
        assert view.network() == []
    assert FAKE_KEY not in json.dumps(await view.page.evaluate("window.host.log"))


@needs_chromium
async def test_speech_plays_with_its_duration(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator
) -> None:
    async with apps_client() as client:
        arguments = {"text": "Hello from the Gemini media viewer. This clip is a few seconds long.", "voice": "Puck"}
        result = await client.call_tool("generate_speech", arguments)
        assert not result.is_error, text_of(result)
        data = result.structured_content or {}
        view: Host = await host(client)
        # While the call runs (the host has sent only its input), the view says it is working, with the time.
        await view.show("generate_speech", arguments, None)
        first = await view.until("document.getElementById('elapsed')?.textContent", "the elapsed time")
        await view.until(f"document.getElementById('elapsed').textContent !== {json.dumps(first)}", "time passing")
        await view.send_result(result)
        duration = await view.until(
            "(a => a && a.readyState >= 1 && a.duration)(document.querySelector('audio'))", "the audio's metadata"
        )
        assert duration == pytest.approx(data["duration_s"], abs=0.01)
        shown = await view.in_view("document.querySelector('.duration').textContent")
        assert shown == f"0:{round(data['duration_s']):02d}"
        source = await view.in_view("document.querySelector('audio').src")
        assert source.startswith("data:audio/wav;base64,")
        assert base64.b64decode(source.split(",", 1)[1]) == Path(data["audio"]["path"]).read_bytes()
        assert await view.in_view("document.querySelector('audio').error") is None
        await view.screenshot("audio")
        assert view.network() == []


@needs_chromium
async def test_a_video_plays_with_its_duration(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator
) -> None:
    # Veo's answer carries a real H.264 MP4 (the emulator's own has no decodable track, see below).
    emulator.configure(operation_duration_s=0)
    movie = playable_mp4(seconds=6)
    answer = {"videos": [{"bytesBase64Encoded": base64.b64encode(movie).decode(), "mimeType": "video/mp4"}]}
    emulator.add_fault("fetchPredictOperation", response={"name": "scripted", "done": True, "response": answer})
    async with apps_client(**VERTEX) as client:
        arguments = {"prompt": "a paper boat on a river", "duration_seconds": 6, "model": "veo-3.1-generate-preview"}
        result = await client.call_tool("generate_video", arguments)
        assert not result.is_error, text_of(result)
        [video] = (result.structured_content or {})["videos"]
        assert Path(video["path"]).read_bytes() == movie
        view: Host = await host(client)
        await view.show("generate_video", arguments, result)
        metadata = await view.until(
            "(v => v && v.readyState >= 2 && [v.duration, v.videoWidth, v.videoHeight, v.src])"
            "(document.querySelector('video'))",
            "the video's metadata and first frame",
        )
        assert metadata[:3] == [6, 160, 96] and video["duration_s"] == 6
        assert base64.b64decode(metadata[3].split(",", 1)[1]) == movie  # read through the host's resources/read
        assert await view.in_view("document.querySelector('.duration').textContent") == "0:06"
        assert await view.in_view("document.querySelector('video').error") is None
        await view.screenshot("video")
        assert view.network() == []


@needs_chromium
async def test_a_video_the_browser_cannot_decode_says_so_and_stays_downloadable(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator
) -> None:
    emulator.configure(operation_duration_s=0)
    async with apps_client(**DEVELOPER) as client:
        arguments = {"prompt": "a paper boat on a river", "duration_seconds": 6}
        result = await client.call_tool("generate_video", arguments)
        assert not result.is_error, text_of(result)
        [video] = (result.structured_content or {})["videos"]
        view: Host = await host(client)
        await view.show("generate_video", arguments, result)
        source = await view.until("(v => v && v.src)(document.querySelector('video'))", "the video's source")
        assert base64.b64decode(source.split(",", 1)[1]) == Path(video["path"]).read_bytes()
        # The emulator's MP4 is a container without a decodable track (emulator/movies.py): Chromium refuses it.
        note = await view.until(
            "(n => n && n.textContent.includes('cannot be played') && n.textContent)"
            "(document.querySelector('.item [role=status]'))",
            "the note that the video cannot play",
        )
        assert note == "This video cannot be played here; download it to play it."
        assert await view.in_view("document.querySelector('.duration').textContent") == "0:06"  # from the result
        await view.press_on(".item button", "Enter", "Enter", 13)
        downloads = await view.page.wait_for("window.host.downloads.length && window.host.downloads", what="download")
        assert base64.b64decode(downloads[0]["contents"][0]["resource"]["blob"]) == Path(video["path"]).read_bytes()


async def operation_of(emulator: Emulator) -> str:
    [operation] = await emulator.await_operations(1)
    return operation


@needs_chromium
async def test_a_running_job_shows_its_progress_and_elapsed_time_then_its_video(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator, tmp_path: Path
) -> None:
    emulator.configure(hold_operations=True)
    async with apps_client(**VERTEX) as client:
        arguments = {"prompt": "a lighthouse in a storm", "wait": False, "model": "veo-3.1-generate-preview"}
        started = await client.call_tool("generate_video", arguments)
        assert not started.is_error, text_of(started)
        job_id = (started.structured_content or {})["job_id"]
        operation = await operation_of(emulator)
        view: Host = await host(client)
        await view.show("generate_video", arguments, started, theme="dark")
        await view.until("document.querySelector('.job .percent')?.textContent === 'not reported'", "the job")
        first = await view.in_view("document.querySelector('.job .elapsed').textContent")
        await view.until(
            f"document.querySelector('.job .elapsed').textContent !== {json.dumps(first)}", "the elapsed time advancing"
        )
        for percent in (30, 70):
            emulator.set_progress(operation, percent)
            await view.press_on(".job .refresh", "Enter", "Enter", 13)  # or wait for the view's own poll
            await view.until(f"document.querySelector('.job .percent').textContent === '{percent}%'", f"{percent}%")
            assert await view.in_view("document.querySelector('.job progress').value") == percent
            if percent == 30:
                await view.screenshot("job-running")
        polls = [c for c in await view.page.evaluate("window.host.calls") if c["method"] == "tools/call"]
        assert {json.dumps(c["params"], sort_keys=True) for c in polls} == {
            json.dumps({"name": "get_job", "arguments": {"job_id": job_id, "wait": False}}, sort_keys=True)
        }
        emulator.finish_operation(operation)
        await view.press_on(".job .refresh", "Enter", "Enter", 13)
        source = await view.until("(v => v && v.src)(document.querySelector('video'))", "the finished video")
        collected = [f for f in (tmp_path / "media").iterdir() if f.suffix == ".mp4"]
        assert [base64.b64decode(source.split(",", 1)[1])] == [f.read_bytes() for f in collected]
        assert await view.in_view("document.querySelector('.job')") is None
        assert view.network() == []


@needs_chromium
async def test_the_cancel_button_cancels_the_job_on_the_server(
    apps_client: Callable[..., Client], host: Callable[[Client], Any], emulator: Emulator
) -> None:
    emulator.configure(hold_operations=True)
    async with apps_client(**DEVELOPER) as client:
        arguments = {"prompt": "a comet over the mountains", "wait": False}
        started = await client.call_tool("generate_video", arguments)
        assert not started.is_error, text_of(started)
        job_id = (started.structured_content or {})["job_id"]
        assert job_id.startswith("omni.")
        view: Host = await host(client)
        await view.show("generate_video", arguments, started)
        await view.until("!!document.querySelector('.job .cancel')", "the cancel button")
        await view.press_on(".job .cancel", " ", "Space", 32)
        await view.until("document.getElementById('app').dataset.state === 'cancelled'", "the job cancelled")
        said = await view.in_view("document.querySelector('.job [role=status]').textContent")
        assert said.startswith("Cancelled Gemini Omni")
        [cancel] = emulator.requests("interactions.cancel")
        assert cancel["path"].endswith("/cancel")
        await view.screenshot("job-cancelled")
        after = await client.call_tool("get_job", {"job_id": job_id})
        assert after.is_error and "was cancelled" in text_of(after)
        calls = [c["params"] for c in await view.page.evaluate("window.host.calls") if c["method"] == "tools/call"]
        assert {"name": "cancel_job", "arguments": {"job_id": job_id}} in calls
        assert view.network() == []
