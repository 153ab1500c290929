"""The stdio transport as an attacker or a careless host meets it, over real pipes to `python -m gemini_mcp`:
every request with an id is answered (malformed ones with a JSON-RPC error), an over-long line is refused
without killing the server, start-up without a client exits cleanly, and shutdown (stdin EOF, SIGTERM)
delivers the answers of the calls in flight, or an error for each call that outlasts the grace."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY
from tests.media_samples import png

ROOT = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"
WAIT_S = 60  # a bound for a broken server to fail the test instead of hanging it; nothing is timed


def server_env(env: dict[str, str]) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    full.pop("API_KEY", None)
    full.update(env)
    return full


class RawStdio:
    """Raw bytes to `python -m gemini_mcp` over pipes, every line it writes back parsed and kept."""

    def __init__(self, env: dict[str, str], capabilities: dict[str, Any] | None = None) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read while the server runs, kept until collected
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gemini_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=server_env(env),
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.received: list[dict[str, Any]] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.send(
            {
                "jsonrpc": "2.0",
                "id": "init",
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities or {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        )
        assert "result" in self.answer("init")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))  # anything that is not JSON fails the test here
        self.lines.put(None)

    def send_line(self, raw: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(raw + b"\n")
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_line(json.dumps(message).encode())

    def call(self, request_id: int | str, name: str, arguments: dict[str, Any]) -> None:
        params = {"name": name, "arguments": arguments}
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})

    def next(self) -> dict[str, Any]:
        message = self.lines.get(timeout=WAIT_S)
        if message is None:
            raise EOFError("the server closed stdout")
        self.received.append(message)
        return message

    def answer(self, request_id: int | str | None) -> dict[str, Any]:
        """The next response (result or error) with this id; other messages are kept in `received`."""
        while True:
            message = self.next()
            if "method" not in message and message.get("id") == request_id:
                return message

    def ping(self, request_id: int | str = "ping") -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "ping"})
        assert self.answer(request_id)["result"] == {}

    def close_stdin(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def rest(self) -> list[dict[str, Any]]:
        """Everything the server writes from now until it exits."""
        rest = []
        while (message := self.lines.get(timeout=WAIT_S)) is not None:
            self.received.append(message)
            rest.append(message)
        return rest

    def finish(self, tracebacks_logged: bool = False) -> str:
        """Wait for the exit (code 0) and return stderr, which must hold no key, nor a traceback unless
        `tracebacks_logged` (the SDK logs one for a handler that raises, e.g. an unknown prompt)."""
        assert self.process.wait(timeout=WAIT_S) == 0
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace")
        assert FAKE_KEY not in text, text
        assert tracebacks_logged or "Traceback" not in text, text
        assert all(FAKE_KEY not in json.dumps(m) for m in self.received)
        return text

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def wait_for_stderr(self, words: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while words not in self.stderr_text():
            assert time.monotonic() < deadline, f"{words!r} never logged:\n{self.stderr_text()}"
            time.sleep(0.02)

    def responses(self, request_id: int | str | None) -> list[dict[str, Any]]:
        return [m for m in self.received if "method" not in m and m.get("id") == request_id]


@pytest.fixture
def env(make_env: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_env(GEMINI_MCP_RETRIES="1")


def request(request_id: object, method: object = "ping", params: object = None, **extra: object) -> bytes:
    message: dict[str, object] = {"jsonrpc": "2.0", "id": request_id, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


def deep_text(levels: int) -> str:
    return '{"x":' * levels + '"bottom"' + "}" * levels


# (what, raw line carrying the id 7, the JSON-RPC error code it must be answered with)
ANSWERED_WITH_THEIR_ID: list[tuple[str, bytes, int]] = [
    (
        "arguments nested 1000 deep",
        b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"count_tokens","arguments":'
        + deep_text(1000).encode()
        + b"}}",
        -32602,
    ),
    (
        "nesting before the id",
        b'{"params":' + deep_text(1000).encode() + b',"jsonrpc":"2.0","id":7,"method":"ping"}',
        -32602,
    ),
    ("params an array", request(7, params=[1, 2]), -32602),
    ("params a string", request(7, params="x"), -32602),
    ("params a number", request(7, params=5), -32602),
    ("params true", request(7, params=True), -32602),
    ("no method", b'{"jsonrpc":"2.0","id":7}', -32600),
    ("method a number", request(7, method=5), -32600),
    ("method null", request(7, method=None), -32600),
    ("method an object", request(7, method={"name": "ping"}), -32600),
    ("no jsonrpc", b'{"id":7,"method":"ping"}', -32600),
    ("jsonrpc 1.0", b'{"jsonrpc":"1.0","id":7,"method":"ping"}', -32600),
    ("jsonrpc a number", b'{"jsonrpc":2.0,"id":7,"method":"ping"}', -32600),
    ("a trailing comma", b'{"jsonrpc":"2.0","id":7,"method":"ping",}', -32700),
    ("trailing garbage", b'{"jsonrpc":"2.0","id":7,"method":"ping"} and more', -32700),
    ("cut short", b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"a":', -32700),
    ("a lone surrogate", b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"\\ud800"}}', -32700),
    ("a raw control character", b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"a\x01b"}}', -32700),
    ("a batch", b'[{"jsonrpc":"2.0","id":7,"method":"ping"}]', -32600),
    ("unknown method", request(7, method="no/such/method"), -32601),
    ("tools/call without a name", request(7, method="tools/call", params={}), -32602),
]

# (what, raw line whose id cannot be echoed) → answered -32600 or -32700 with id null
ANSWERED_WITHOUT_ID: list[tuple[str, bytes, int]] = [
    ("id 1.5", request(1.5), -32600),
    ("id true", request(True), -32600),
    ("id null", request(None), -32600),
    ("id an object", request({"n": 7}), -32600),
    ("a bare number", b"5", -32600),
    ("a string", b'"ping"', -32600),
    ("an empty batch", b"[]", -32600),
    ("single quotes", b"{'jsonrpc':'2.0','id':7,'method':'ping'}", -32700),
]


def test_malformed_requests_are_answered_and_the_server_keeps_serving(env: dict[str, str]) -> None:
    client = RawStdio(env)
    for what, line, code in ANSWERED_WITH_THEIR_ID:
        client.send_line(line)
        answer = client.answer(7)
        assert answer.get("error", {}).get("code") == code, (what, answer)
        assert "Traceback" not in answer["error"]["message"]
        client.ping()
    for what, line, code in ANSWERED_WITHOUT_ID:
        client.send_line(line)
        answer = client.next()
        assert answer.get("id", "missing") is None and answer["error"]["code"] == code, (what, answer)
        client.ping()
    client.send_line(b"")
    client.send_line(b"   \r")
    client.send_line(b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":[1]}')  # nothing to answer
    client.send_line(b'{"jsonrpc":"2.0","id":99,"result":"not an object"}')  # a bad response: nothing either
    client.ping("after")
    client.close_stdin()
    client.rest()
    client.finish()
    assert len(client.responses(7)) == len(ANSWERED_WITH_THEIR_ID)  # exactly one answer each
    assert client.responses(99) == []


def test_a_byte_order_mark_is_ignored(env: dict[str, str]) -> None:
    client = RawStdio(env)
    client.send_line(BOM + request(1))
    assert client.answer(1)["result"] == {}
    client.send_line(BOM + BOM + request(2, method="tools/call", params={"name": "list_voices", "arguments": {}}))
    result = client.answer(2)["result"]
    assert not result.get("isError") and "Kore" in json.dumps(result)
    client.close_stdin()
    client.rest()
    client.finish()


def test_invalid_utf8_is_replaced_not_refused(env: dict[str, str]) -> None:
    client = RawStdio(env)
    client.send_line(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"note":"\xff\xfe"}}}')
    assert client.answer(1)["result"] == {}
    client.close_stdin()
    client.rest()
    client.finish()


def test_a_line_over_the_cap_is_refused_and_the_server_keeps_serving(env: dict[str, str]) -> None:
    client = RawStdio({**env, "GEMINI_MCP_STDIO_MAX_LINE_MB": "1"})
    prompt = "y" * 3_000_000
    client.call(5, "count_tokens", {"prompt": prompt})
    refused = client.answer(5)["error"]
    assert refused["code"] == -32600
    assert "GEMINI_MCP_STDIO_MAX_LINE_MB" in refused["message"] and "1 MB" in refused["message"]
    client.ping()
    # The id after the payload cannot be read without buffering the line: refused with id null.
    client.send_line(b'{"jsonrpc":"2.0","method":"ping","params":{"pad":"' + b"z" * 2_000_000 + b'"},"id":6}')
    assert client.answer(None)["error"]["code"] == -32600
    client.call(8, "count_tokens", {"prompt": "x" * 900_000})  # under the cap: served
    assert not client.answer(8)["result"].get("isError")
    client.close_stdin()
    client.rest()
    client.finish()
    assert client.responses(6) == []


def _run_without_client(*command: str, stdin: int | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        env=server_env({"GEMINI_API_KEY": FAKE_KEY}),
        check=False,
    )


@pytest.mark.parametrize("how", ["/dev/null", "closed", "empty pipe"])
def test_no_client_on_stdin_exits_cleanly_with_one_line(how: str) -> None:
    if how == "/dev/null":
        out = _run_without_client(sys.executable, "-m", "gemini_mcp", stdin=subprocess.DEVNULL)
    elif how == "closed":
        out = _run_without_client("sh", "-c", 'exec "$0" -m gemini_mcp <&-', sys.executable, stdin=None)
    else:
        out = subprocess.run(
            [sys.executable, "-m", "gemini_mcp"],
            input="",
            capture_output=True,
            text=True,
            timeout=WAIT_S,
            env=server_env({"GEMINI_API_KEY": FAKE_KEY}),
            check=False,
        )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert "stdin" in lines[0] and "no MCP client" in lines[0]
    assert FAKE_KEY not in out.stderr


def test_stdin_eof_delivers_the_results_of_calls_in_flight(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True, times=None)  # all three in flight until released
    client = RawStdio(env)
    for n in range(3):
        client.call(n, "generate_text", {"prompt": f"finish {n}"})
    emulator.wait_for_requests("generateContent", 3)
    client.close_stdin()
    client.wait_for_stderr("stdin closed: letting 3 request(s) in flight finish")
    emulator.release_held()  # the calls end during the drain
    client.rest()
    client.finish()
    for n in range(3):
        (answer,) = client.responses(n)
        assert not answer["result"].get("isError"), answer
        assert f"finish {n}" in answer["result"]["content"][0]["text"]


def test_stdin_eof_answers_a_call_that_outlasts_the_grace(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    client = RawStdio({**env, "GEMINI_MCP_SHUTDOWN_GRACE": "0.5"})
    client.call(2, "generate_text", {"prompt": "too slow"})
    emulator.wait_for_requests("generateContent", 1)
    client.close_stdin()
    client.rest()
    client.finish()
    (answer,) = client.responses(2)
    assert answer["error"]["code"] == -32000
    assert "GEMINI_MCP_SHUTDOWN_GRACE" in answer["error"]["message"] and "0.5 s" in answer["error"]["message"]


def test_stdin_eof_unblocks_a_call_waiting_for_the_client(
    env: dict[str, str], emulator: Emulator, tmp_path: Path
) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(png())
    # The roots/list request would wait 5 s for an answer; the grace is shorter, so only an immediate
    # "the client is gone" lets this call finish.
    client = RawStdio(
        {**env, "GEMINI_MCP_ALLOWED_DIRS": str(tmp_path), "GEMINI_MCP_SHUTDOWN_GRACE": "3"},
        capabilities={"roots": {}},
    )
    client.call(3, "generate_text", {"prompt": "describe", "media": [{"path": str(picture)}]})
    while client.next().get("method") != "roots/list":
        pass
    client.close_stdin()
    client.rest()
    client.finish()
    (answer,) = client.responses(3)
    assert "result" in answer and not answer["result"].get("isError"), answer


def test_sigterm_delivers_the_results_of_calls_in_flight(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True, times=None)  # both in flight until released
    client = RawStdio(env)
    client.call(1, "generate_text", {"prompt": "first"})
    client.call(2, "generate_text", {"prompt": "second"})
    emulator.wait_for_requests("generateContent", 2)
    client.process.send_signal(signal.SIGTERM)
    client.wait_for_stderr("SIGTERM: letting 2 request(s) in flight finish")
    emulator.release_held()  # the calls end during the drain
    client.rest()
    client.finish()
    for n, prompt in ((1, "first"), (2, "second")):
        (answer,) = client.responses(n)
        assert prompt in answer["result"]["content"][0]["text"]


def test_sigterm_refuses_new_requests_and_answers_what_outlasts_the_grace(
    env: dict[str, str], emulator: Emulator
) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    client = RawStdio({**env, "GEMINI_MCP_SHUTDOWN_GRACE": "3"})
    client.call(1, "generate_text", {"prompt": "too slow"})
    emulator.wait_for_requests("generateContent", 1)
    client.process.send_signal(signal.SIGTERM)
    client.wait_for_stderr("SIGTERM: letting 1 request(s) in flight finish")
    client.send(json.loads(request("late")))
    refused = client.answer("late")["error"]
    assert refused["code"] == -32000 and "shutting down" in refused["message"]
    client.rest()
    client.finish()
    (answer,) = client.responses(1)
    assert answer["error"]["code"] == -32000 and "GEMINI_MCP_SHUTDOWN_GRACE" in answer["error"]["message"]


def test_a_second_signal_stops_at_once_and_still_answers(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    client = RawStdio({**env, "GEMINI_MCP_SHUTDOWN_GRACE": "600"})
    client.call(1, "generate_text", {"prompt": "too slow"})
    emulator.wait_for_requests("generateContent", 1)
    client.process.send_signal(signal.SIGTERM)
    client.wait_for_stderr("SIGTERM: letting 1 request(s) in flight finish")
    client.process.send_signal(signal.SIGINT)
    client.rest()
    client.finish()
    (answer,) = client.responses(1)
    assert answer["error"]["code"] == -32000 and "cancelled by SIGINT" in answer["error"]["message"]


def test_sigterm_after_stdin_eof_stops_at_once(env: dict[str, str], emulator: Emulator) -> None:
    """The MCP spec's stdio shutdown: close stdin, wait, then SIGTERM if the server is still there."""
    emulator.add_fault(match="generateContent", hold=True)  # never released: outlasts the grace
    client = RawStdio({**env, "GEMINI_MCP_SHUTDOWN_GRACE": "600"})
    client.call(1, "generate_text", {"prompt": "too slow"})
    emulator.wait_for_requests("generateContent", 1)
    client.close_stdin()
    client.wait_for_stderr("stdin closed: letting 1 request(s) in flight finish")
    client.process.send_signal(signal.SIGTERM)
    client.rest()
    client.finish()
    (answer,) = client.responses(1)
    assert answer["error"]["code"] == -32000 and "cancelled by SIGTERM" in answer["error"]["message"]


def test_a_client_that_closes_stdout_ends_the_server_cleanly(env: dict[str, str], emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True)  # in flight until the client stops reading
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "gemini_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=server_env(env),
        )
        assert process.stdin is not None and process.stdout is not None
        hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode())
        process.stdin.write(b'\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        call = {"name": "generate_text", "arguments": {"prompt": "nobody reads this"}}
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call}).encode())
        process.stdin.write(b"\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 1
        emulator.wait_for_requests("generateContent", 1)
        process.stdout.close()  # the answer to call 2 has nowhere to go
        emulator.release_held()  # the call ends, and its answer meets the closed pipe
        assert process.wait(timeout=WAIT_S) == 0
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    assert "Traceback" not in text and "stdout" in text, text
    process.stdin.close()
