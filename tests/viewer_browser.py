"""A headless Chromium driven over the Chrome DevTools Protocol, for tests that look at pages as a user would.

The browser is Debian's `chromium` package (never a downloaded one); `.ci/run` installs it. A test starts it
with `Browser.start(folder)`, opens a page, evaluates JavaScript in it, answers calls the page makes through a
binding (`Runtime.addBinding`: the page calls `window.<name>(text)`, the test receives it as an event), waits
for a condition with `wait_for` (event-driven: it re-checks after each event the page sends, and on a slow
tick only as a fallback), and takes screenshots.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser")
START_TIMEOUT_S = 60
CALL_TIMEOUT_S = 60


def chromium_path() -> str | None:
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


class PageError(AssertionError):
    """JavaScript evaluated in the page threw."""


class Page:
    """One tab: evaluate, wait, screenshot, and hear the page's binding calls."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.events: list[dict[str, Any]] = []  # every event of this tab, in order
        self._changed = anyio.Event()
        self.bindings: dict[str, Callable[[str], Awaitable[None]]] = {}
        self.console: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.send(method, session=self.session, **params)

    def _event(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        method = message["method"]
        params = message.get("params", {})
        if method == "Runtime.bindingCalled" and params.get("name") in self.bindings:
            handler = self.bindings[params["name"]]
            self.browser.group.start_soon(handler, params["payload"])
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.console.append(f"exception: {details.get('exception', {}).get('description', details.get('text'))}")
        self._changed.set()
        self._changed = anyio.Event()

    async def bind(self, name: str, handler: Callable[[str], Awaitable[None]]) -> None:
        """`window.<name>(text)` in the page (and its reloads) calls `handler(text)` in the test."""
        self.bindings[name] = handler
        await self.send("Runtime.addBinding", name=name)

    async def evaluate(self, expression: str, context: int | None = None) -> Any:
        """The value of `expression` (awaited when it is a promise), as JSON; in the execution `context` when given
        (see `frame_world`), else in the page's own."""
        where = {"contextId": context} if context is not None else {}
        answer = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True, userGesture=True, **where
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise PageError(details.get("exception", {}).get("description") or details.get("text"))
        return answer["result"].get("value")

    async def frame_world(self) -> int:
        """An isolated world in the page's first iframe (a sandboxed, cross-origin frame the page's own script cannot
        reach): it shares the frame's DOM, so the test reads and clicks what a user would see there."""
        tree = await self.send("Page.getFrameTree")
        child = tree["frameTree"]["childFrames"][0]["frame"]["id"]
        world = await self.send("Page.createIsolatedWorld", frameId=child, worldName="viewer-test")
        context: int = world["executionContextId"]
        return context

    async def wait_for(
        self, expression: str, *, context: int | None = None, patience_s: float = CALL_TIMEOUT_S, what: str = ""
    ) -> Any:
        """Re-evaluates `expression` whenever the page sends an event (a second at most between looks) until it
        is truthy; its value. Fails after `patience_s` with the page's console for context."""
        with anyio.move_on_after(patience_s):
            while True:
                changed = self._changed
                value = await self.evaluate(expression, context)
                if value:
                    return value
                with anyio.move_on_after(1):  # the page may change without telling CDP (a timer, a media load)
                    await changed.wait()
        console = "\n".join(self.console[-30:])
        raise AssertionError(f"timed out waiting for {what or expression}; page console:\n{console}")

    async def press(self, key: str, code: str | None = None, key_code: int = 0) -> None:
        """A real key press (keydown, char, keyup) on whatever has the focus."""
        text = key if len(key) == 1 else ("\r" if key == "Enter" else "")
        common = {"key": key, "code": code or key, "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code}
        await self.send("Input.dispatchKeyEvent", type="keyDown" if text else "rawKeyDown", text=text, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    async def screenshot(self, path: Path, *, width: int, height: int) -> Path:
        """A PNG of the viewport (`width` x `height` CSS pixels)."""
        await self.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Browser:
    """A headless Chromium with its own profile folder, spoken to over its DevTools WebSocket."""

    def __init__(self, socket: ClientConnection, group: anyio.abc.TaskGroup) -> None:
        self.socket = socket
        self.group = group
        self._ids = itertools.count(1)
        self._waiting: dict[int, MemoryObjectSendStream[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}

    @classmethod
    @asynccontextmanager
    async def start(cls, folder: Path, *, executable: str | None = None) -> AsyncIterator[Browser]:
        executable = executable or chromium_path()
        if executable is None:
            raise RuntimeError("chromium not found")
        profile = folder / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        process = await anyio.open_process(
            [
                executable,
                "--headless=new",
                "--no-sandbox",  # CI runs as root; the pages are the test's own
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
                "--hide-scrollbars",
                "--autoplay-policy=no-user-gesture-required",
                # The viewer's sandboxed iframe in the page's own process, so one DevTools session reaches it.
                "--disable-site-isolation-trials",
                "--disable-features=IsolateOrigins,site-per-process,IsolateSandboxedIframes",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            stderr = BufferedByteReceiveStream(process.stderr)
            with anyio.fail_after(START_TIMEOUT_S):
                url = await _devtools_url(stderr)
            async with anyio.create_task_group() as group:
                group.start_soon(_drain, stderr)  # Chromium keeps writing: a full pipe would stall it
                async with connect(url, max_size=None) as socket:
                    browser = cls(socket, group)
                    group.start_soon(browser._read)
                    try:
                        yield browser
                    finally:
                        group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                process.terminate()
                with anyio.move_on_after(10) as waited:
                    await process.wait()
                if waited.cancelled_caught:
                    process.kill()
                    await process.wait()
                await process.aclose()

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message:
                waiting = self._waiting.pop(message["id"], None)
                if waiting is not None:
                    await waiting.send(message)
            elif message.get("sessionId") in self.pages:
                self.pages[message["sessionId"]]._event(message)

    async def send(self, method: str, *, session: str | None = None, **params: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        sender: MemoryObjectSendStream[dict[str, Any]]
        receiver: MemoryObjectReceiveStream[dict[str, Any]]
        sender, receiver = anyio.create_memory_object_stream(1)
        self._waiting[request_id] = sender
        message: dict[str, Any] = {"id": request_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self.socket.send(json.dumps(message))
        with anyio.fail_after(CALL_TIMEOUT_S), receiver:
            answer = await receiver.receive()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def new_page(self, *, width: int = 800, height: int = 600) -> Page:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        page = Page(self, attached["sessionId"])
        self.pages[page.session] = page
        for domain in ("Page", "Runtime", "Network"):
            await page.send(f"{domain}.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
        )
        return page


async def _devtools_url(stderr: BufferedByteReceiveStream) -> str:
    """The browser's DevTools WebSocket, from the line Chromium prints on stderr when it listens."""
    seen: list[str] = []
    try:
        while True:
            line = (await stderr.receive_until(b"\n", 65536)).decode(errors="replace").strip()
            seen.append(line)
            if line.startswith("DevTools listening on "):
                return line.removeprefix("DevTools listening on ")
    except (anyio.EndOfStream, anyio.IncompleteRead):
        pass
    raise RuntimeError("chromium exited before listening for DevTools:\n" + "\n".join(seen[-20:]))


async def _drain(stderr: BufferedByteReceiveStream) -> None:
    try:
        while True:
            await stderr.receive()
    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass
