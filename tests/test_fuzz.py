"""Bad input never crashes anything: hypothesis-driven arguments for every tool, from its own input schema,
plus a corpus of hostile inputs. Every call must return a result (success or tool error), never a protocol
error or traceback text, and the server must keep answering. Below the wire too: hostile raw stdio lines
(a corpus, and hypothesis-made envelopes) each get exactly one answer when they carry an id."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.server.app import build_server
from tests.conftest import FAKE_KEY
from tests.test_stdio_robustness import RawStdio

FUZZ_ENV = {
    "GOOGLE_GENAI_USE_VERTEXAI": "true",  # every tool family is served in Vertex mode
    "GEMINI_API_KEY": None,
    "GOOGLE_API_KEY": FAKE_KEY,
    "GEMINI_MCP_RETRIES": "1",
    "GEMINI_MCP_VIDEO_POLL_SECONDS": "0.01",
    "GEMINI_MCP_VIDEO_DEADLINE": "2",
    "GEMINI_MCP_TIMEOUT": "5",
    "GEMINI_MCP_URL_TIMEOUT": "2",
}
WEIRD_STRINGS = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "💥" * 50, "x" * 20_000, "../../etc/passwd", "file:///etc/passwd", "{}", "null", "-1"]
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | WEIRD_STRINGS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def from_schema(schema: dict[str, Any], defs: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly valid values for `schema`, sometimes anything at all (wrong types are part of the point)."""
    if depth > 4:
        return ANY_JSON
    if "$ref" in schema:
        return from_schema(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(option, defs, depth + 1) for option in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=10)
    kind = schema.get("type")
    valid: st.SearchStrategy[Any]
    if kind == "string":
        valid = st.text(max_size=60) | WEIRD_STRINGS
    elif kind == "integer":
        valid = st.integers(min_value=-10, max_value=10) | st.sampled_from([0, -1, 2**31, 10**12])
    elif kind == "number":
        valid = st.floats(min_value=-5, max_value=5, allow_nan=False) | st.sampled_from([0.0, -1.0, 1e9])
    elif kind == "boolean":
        valid = st.booleans()
    elif kind == "null":
        valid = st.none()
    elif kind == "array":
        valid = st.lists(from_schema(schema.get("items", {}), defs, depth + 1), max_size=4)
    elif kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in properties]
        optional = [name for name in properties if name not in required]
        valid = st.fixed_dictionaries(
            {name: from_schema(properties[name], defs, depth + 1) for name in required},
            optional={name: from_schema(properties[name], defs, depth + 1) for name in optional},
        )
    else:
        valid = ANY_JSON
    return valid | ANY_JSON if depth else valid


HOSTILE: list[tuple[str, dict[str, Any]]] = [
    ("generate_text", {"prompt": 123}),
    ("generate_text", {"prompt": ["a"]}),
    ("generate_text", {"prompt": "x" * 200_000, "max_output_tokens": 0}),
    ("generate_text", {"prompt": "x", "temperature": "hot"}),
    ("generate_text", {"prompt": "x", "contents": [{"role": "system", "parts": []}]}),
    ("generate_text", {"prompt": "x", "media": [{"data": "%%%not base64%%%"}]}),
    ("generate_text", {"prompt": "x", "media": [{"data": base64.b64encode(b"\x00" * 64).decode()}]}),
    ("generate_text", {"prompt": "x", "media": [{"path": "../../../../etc/shadow"}]}),
    ("generate_text", {"prompt": "x", "media": [{"path": "/proc/self/environ"}]}),
    ("generate_text", {"prompt": "x", "media": [{"url": "file:///etc/passwd"}]}),
    ("generate_text", {"prompt": "x", "media": [{"url": "http://10.0.0.1/x.png"}]}),
    ("generate_text", {"prompt": "x", "media": [{"url": "http://[::1]:22/"}]}),
    ("generate_text", {"prompt": "x", "media": [{"url": "gopher://127.0.0.1:25/"}]}),
    ("generate_json", {"prompt": "x", "schema": {"type": "OBJECT", "properties": {"a": {"type": "OBJECT"}}}}),
    ("generate_json", {"prompt": "x", "schema": {"type": "object", "properties": {}}}),
    ("generate_image", {"prompt": "x", "number_of_images": 0}),
    ("generate_image", {"prompt": "x", "number_of_images": -3}),
    ("generate_image", {"prompt": "x", "aspect_ratio": "0:0"}),
    ("edit_image", {"instruction": "x", "images": [{"file_uri": "gemini://media/../../etc"}]}),
    ("generate_speech", {"text": "x", "speakers": [{"speaker": "\x00", "voice": "Nope"}] * 5}),
    ("generate_video", {"prompt": "x", "number_of_videos": -1}),
    ("generate_video", {"prompt": "x", "duration_seconds": 10**9}),
    ("get_video_operation", {"operation_name": "projects/x/../../operations/y"}),
    ("embed_text", {"texts": [], "output_dimensionality": 0}),
    ("embed_text", {"texts": ["\x00"] * 3, "task_type": "NOPE"}),
    ("chat_send", {"chat_id": "chat-does-not-exist", "message": "hi"}),
    ("plan_function_calls", {"prompt": "x", "functions": [{"name": "a" * 500, "description": ""}]}),
    ("count_tokens", {"prompt": None}),
    ("list_models", {"contains": {"$gt": ""}}),
    ("no_such_tool", {}),
]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        value = {"type": "object", "properties": {"x": value}}
    return value


HOSTILE.append(("generate_json", {"prompt": "x", "schema": nested(60)}))


def assert_sane(result: CallToolResult) -> None:
    dumped = result.model_dump_json()
    assert "Traceback" not in dumped and 'File "' not in dumped
    assert FAKE_KEY not in dumped


@pytest.fixture
def server_factory(make_env: Callable[..., dict[str, str]], emulator: Emulator) -> Callable[[], Any]:
    emulator.configure(operation_duration_s=0)

    def make() -> Any:
        return build_server(Settings.from_env(make_env(**FUZZ_ENV)))

    return make


@pytest.mark.anyio
async def test_hostile_corpus(server_factory: Callable[[], Any]) -> None:
    async with Client(server_factory()) as client:
        for name, arguments in HOSTILE:
            result = await client.call_tool(name, arguments)
            assert result.is_error, (name, arguments)
            assert_sane(result)
        many_turns = await client.call_tool("generate_text", {"contents": [{"parts": [{"text": "a"}] * 3}] * 200})
        assert_sane(many_turns)
        assert (await client.list_tools()).tools  # still answering


def test_schema_driven_fuzzing(server_factory: Callable[[], Any]) -> None:
    async def schemas() -> dict[str, dict[str, Any]]:
        async with Client(server_factory()) as client:
            return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}

    tools = anyio.run(schemas)
    strategies = {name: from_schema(schema, schema.get("$defs", {})) for name, schema in tools.items()}

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(strategies)), label="tool")
        arguments = data.draw(strategies[name], label="arguments")

        async def call() -> None:
            async with Client(server_factory()) as client:
                with anyio.fail_after(20):
                    result = await client.call_tool(
                        name, arguments if isinstance(arguments, dict) else {"x": arguments}
                    )
                assert_sane(result)
                assert (await client.list_tools()).tools

        anyio.run(call)

    check()


# Raw stdio lines; `{id}` becomes a fresh id (a string id where it is quoted). Shapes the SDK serves or
# answers itself are mixed with the ones only our transport answers.
HOSTILE_LINES: list[bytes] = [
    b'{"jsonrpc":"2.0","id":{id},"method":"ping"}',
    b'\xef\xbb\xbf{"jsonrpc":"2.0","id":{id},"method":"ping"}',
    b'  {"jsonrpc":"2.0","id":"{id}","method":"ping"}  \r',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","params":[1,2]}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","params":"x"}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","params":null}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","params":{"_meta":5}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","params":{"_meta":{"progressToken":{}}}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","result":{}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"p\\u0069ng"}',
    b'{"jsonrpc":"2.0","id":{id}}',
    b'{"jsonrpc":"2.0","id":{id},"method":""}',
    b'{"jsonrpc":"2.0","id":{id},"method":"' + b"m" * 100_000 + b'"}',
    b'{"jsonrpc":"2.0","id":{id},"method":["ping"]}',
    b'{"jsonrpc":"2.0","id":{id},"method":"ping","jsonrpc":"1.0"}',
    b'{"id":{id},"method":"ping","jsonrpc":"2.0"',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping"}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping",,}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":NaN}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":1e999999}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":"\\ud800\\udc00\\ud800"}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":"\xc3\x28\xa0\xa1"}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":"\x00"}}',
    b'{"id":{id},"jsonrpc":"2.0","method":"ping","params":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}",
    b'{"params":{"x":' + b"[" * 5000 + b"]" * 5000 + b'},"id":{id},"jsonrpc":"2.0","method":"ping"}',
    b'{"params":{"x":"' + b'\\"' * 1000 + b'"},"id":{id},"jsonrpc":"2.0","method":"ping"}',
    b'[{"jsonrpc":"2.0","id":{id},"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]',
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{"name":"count_tokens","arguments":[]}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{"name":"count_tokens","arguments":'
    + b'{"a":' * 150
    + b"1"
    + b"}" * 150
    + b"}}",
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{"name":{"$gt":""},"arguments":{}}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"resources/read","params":{"uri":"gemini://media/../../etc/passwd"}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"resources/read","params":{"uri":5}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{"protocolVersion":5}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"prompts/get","params":{"name":"\\u0000"}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":'
    b'"2026-07-28"}}}',
    b'{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{"cursor":{"x":1}}}',
]
# Lines without an id the server could echo: none of them may disturb the others.
IDLESS_LINES: list[bytes] = [
    b"",
    b"\xef\xbb\xbf",
    b"null",
    b"[]",
    b"{}",
    b"\xff\xfe\x00\x01",
    b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{"x":1}}}',
    b'{"jsonrpc":"2.0","method":"notifications/progress","params":[]}',
    b'{"jsonrpc":"2.0","id":424242,"result":{}}',
    b'{"jsonrpc":"2.0","id":434343,"error":{"code":"x"}}',
    b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
    b'{"jsonrpc":"2.0","id":[1],"method":"ping"}',
    b'{"jsonrpc":"2.0","method":"ping","params":{"x":"cut',
]


def _fill(template: bytes, n: int) -> tuple[bytes, int | str]:
    quoted = b'"{id}"' in template
    request_id: int | str = f"line-{n}" if quoted else 10_000 + n
    return template.replace(b"{id}", str(request_id).encode()), request_id


def test_hostile_stdio_lines_each_get_exactly_one_answer(make_env: Callable[..., dict[str, str]]) -> None:
    client = RawStdio(make_env(**FUZZ_ENV))
    expected = []
    for n, template in enumerate(HOSTILE_LINES):  # pipelined, as a hostile client would send them
        line, request_id = _fill(template, n)
        client.send_line(line)
        client.send_line(IDLESS_LINES[n % len(IDLESS_LINES)])
        expected.append(request_id)
    client.ping("last")
    client.close_stdin()
    client.rest()
    client.finish(tracebacks_logged=True)
    for request_id, template in zip(expected, HOSTILE_LINES, strict=True):
        assert len(client.responses(request_id)) == 1, template[:200]
    answered = {json.dumps(m.get("id")) for m in client.received if "method" not in m}
    assert answered <= {json.dumps(i) for i in [*expected, "init", "last", None]}


REQUEST_IDS = st.integers(min_value=-(2**63), max_value=2**63) | st.text(
    st.characters(codec="utf-8", exclude_characters='"\\'), max_size=12
).map(lambda text: "s" + text)
METHODS = st.sampled_from(["ping", "tools/list", "tools/call", "resources/list", "prompts/list", "no/such"])
TOOL_CALLS = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["count_tokens", "list_models", "list_voices", "no_such_tool"]) | ANY_JSON,
        "arguments": ANY_JSON,
        "_meta": ANY_JSON,
    },
)


@st.composite
def hostile_envelope(draw: st.DrawFn, request_id: int | str) -> bytes:
    """A request whose id survives but whose envelope, encoding or framing may be anything."""
    members: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        members["jsonrpc"] = "2.0" if draw(st.integers(0, 4)) else draw(ANY_JSON)
    if draw(st.integers(0, 9)):
        members["method"] = draw(METHODS) if draw(st.integers(0, 4)) else draw(ANY_JSON)
    if draw(st.booleans()):
        members["params"] = draw(TOOL_CALLS) if draw(st.booleans()) else draw(ANY_JSON)
    order = draw(st.permutations(list(members)))
    head = json.dumps({"id": request_id})[:-1]  # the id first, so a cut after it leaves it readable
    rest = "".join(f",{json.dumps(key)}:{json.dumps(members[key])}" for key in order)
    text = (head + rest + "}").encode()
    damage = draw(st.sampled_from(["none", "bom", "cut", "garbage", "deep", "padding"]))
    if damage == "bom":
        text = b"\xef\xbb\xbf" + text
    elif damage == "cut" and rest:
        text = text[: draw(st.integers(len(head) + 1, len(text) - 1))]
    elif damage == "garbage":
        text += draw(st.sampled_from([b",", b"}", b" x", b"\x00", b"{}"]))
    elif damage == "deep":
        text = text[:-1] + b',"deep":' + b"[" * 400 + b"]" * 400 + b"}"
    elif damage == "padding":
        text = b" \t" + text + b" \r"
    return text


def test_hypothesis_stdio_envelopes_each_get_exactly_one_answer(make_env: Callable[..., dict[str, str]]) -> None:
    env = make_env(**FUZZ_ENV)

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        ids = data.draw(st.lists(REQUEST_IDS, min_size=1, max_size=25, unique_by=lambda i: json.dumps(i)))
        lines = [data.draw(hostile_envelope(request_id), label=f"line {n}") for n, request_id in enumerate(ids)]
        client = RawStdio(env)
        for line in lines:
            client.send_line(line)
        client.ping("last")
        client.close_stdin()
        client.rest()
        client.finish(tracebacks_logged=True)
        for request_id, line in zip(ids, lines, strict=True):
            assert len(client.responses(request_id)) == 1, line[:300]

    check()
