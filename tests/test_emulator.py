"""The emulator as a product: the real SDK against it for both backends, its control plane, faults, auth."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio


def sdk(emulator: Emulator, *, vertex: bool = False, key: str = FAKE_KEY, **options: Any) -> genai.Client:
    return genai.Client(
        vertexai=vertex, api_key=key, http_options=types.HttpOptions(base_url=emulator.base_url, **options)
    )


def control(emulator: Emulator, path: str, body: dict[str, Any] | None = None, method: str = "GET") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.base_url}/_emulator/{path}", data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("vertex", [False, True], ids=["developer-api", "vertex-express"])
async def test_both_backends_answer_generate_count_and_list(emulator: Emulator, vertex: bool) -> None:
    client = sdk(emulator, vertex=vertex)
    answer = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="ping")
    assert answer.text and "ping" in answer.text
    assert answer.usage_metadata is not None and answer.usage_metadata.total_token_count
    tokens = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="four words right here")
    assert tokens.total_tokens and tokens.total_tokens > 0
    names = [model.name async for model in await client.aio.models.list()]
    assert any(name and name.endswith("gemini-2.5-flash") for name in names)
    assert {r["backend"] for r in emulator.requests()} == {"vertex" if vertex else "gemini"}
    await client.aio.aclose()


async def test_project_paths_are_vertex(emulator: Emulator) -> None:
    from google.oauth2.credentials import Credentials

    client = genai.Client(
        vertexai=True,
        project="demo-project",
        location="europe-west4",
        credentials=Credentials(token="ya29.emulated"),
        http_options=types.HttpOptions(base_url=emulator.base_url),
    )
    answer = await client.aio.models.generate_content(model="gemini-2.5-pro", contents="hi")
    assert answer.text
    [request] = emulator.requests()
    assert request["path"].startswith("/v1beta1/projects/demo-project/locations/europe-west4/")
    assert request["backend"] == "vertex" and request["has_bearer"] and not request["has_api_key"]


async def test_same_request_same_answer(emulator: Emulator) -> None:
    client = sdk(emulator)
    first = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="deterministic?")
    second = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="deterministic?")
    assert first.text == second.text
    assert first.response_id == second.response_id


async def test_google_error_envelope_for_validation_failures(emulator: Emulator) -> None:
    client = sdk(emulator)
    with pytest.raises(errors.ClientError) as unknown:
        await client.aio.models.generate_content(model="gemini-7-mega", contents="x")
    assert unknown.value.code == 404 and unknown.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as retired:
        await client.aio.models.generate_content(model="gemini-1.5-flash", contents="x")
    assert retired.value.code == 404
    with pytest.raises(errors.ClientError) as sampling:
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="x", config=types.GenerateContentConfig(temperature=5)
        )
    assert sampling.value.code == 400 and sampling.value.status == "INVALID_ARGUMENT"
    with pytest.raises(errors.ClientError) as thinking:
        await client.aio.models.generate_content(
            model="gemini-2.0-flash",
            contents="x",
            config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=100)),
        )
    assert "Thinking is not supported" in str(thinking.value.message)
    with pytest.raises(errors.ClientError) as schema:
        await client.aio.models.generate_content(
            model="gemini-2.5-flash",
            contents="x",
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema={"type": "OBJECT"}
            ),
        )
    assert "non-empty for OBJECT" in str(schema.value.message)


def _post_without_key(emulator: Emulator) -> urllib.error.HTTPError:
    request = urllib.request.Request(
        f"{emulator.base_url}/v1beta/models/gemini-2.5-flash:generateContent",
        data=json.dumps({"contents": [{"parts": [{"text": "x"}]}]}).encode(),
        headers={"content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(request, timeout=5)
    return missing.value


async def test_missing_and_invalid_keys_are_refused_like_google(emulator: Emulator) -> None:
    import anyio

    missing = await anyio.to_thread.run_sync(_post_without_key, emulator)
    assert missing.code == 403
    assert json.loads(missing.read())["error"]["status"] == "PERMISSION_DENIED"
    with pytest.raises(errors.ClientError) as invalid:
        await sdk(emulator, key="invalid-key").aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert invalid.value.code == 400 and "API key not valid" in str(invalid.value.message)
    assert all(FAKE_KEY not in json.dumps(r) for r in emulator.requests())


async def test_scripted_faults_apply_in_order_then_expire(emulator: Emulator) -> None:
    client = sdk(emulator)
    emulator.add_fault(match="generateContent", status=429, message="slow down", times=2)
    for _ in range(2):
        with pytest.raises(errors.ClientError) as limited:
            await client.aio.models.generate_content(model="gemini-2.5-flash", contents="x")
        assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    assert (await client.aio.models.generate_content(model="gemini-2.5-flash", contents="x")).text


async def test_fault_can_replace_the_answer_and_add_headers(emulator: Emulator) -> None:
    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": "scripted"}]}, "finishReason": "STOP"}]}
    emulator.add_fault(match="generateContent", response=body, headers={"x-emulated": "yes"})
    answer = await sdk(emulator).aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert answer.text == "scripted"
    assert answer.sdk_http_response is not None and answer.sdk_http_response.headers is not None
    assert answer.sdk_http_response.headers.get("x-emulated") == "yes"


@pytest.mark.parametrize(
    "fault", [{"truncate_after": 10}, {"reset": True}, {"malformed": True}], ids=["truncated", "reset", "malformed"]
)
async def test_broken_transport_faults_surface_as_errors(emulator: Emulator, fault: dict[str, Any]) -> None:
    emulator.add_fault(match="generateContent", **fault)
    with pytest.raises(Exception) as failure:
        await sdk(emulator).aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert FAKE_KEY not in str(failure.value)
    assert (await sdk(emulator).aio.models.generate_content(model="gemini-2.5-flash", contents="x")).text


async def test_streaming_arrives_in_several_events(emulator: Emulator) -> None:
    client = sdk(emulator)
    chunks = [
        chunk.text
        async for chunk in await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="tell me a slightly longer story please"
        )
    ]
    assert len(chunks) > 1
    assert "tell me a slightly longer story please" in "".join(c or "" for c in chunks)


async def test_latency_setting_delays_answers(emulator: Emulator) -> None:
    import time

    emulator.configure(latency_s=0.3)
    started = time.monotonic()
    await sdk(emulator).aio.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert time.monotonic() - started >= 0.3


def test_control_plane_over_http(emulator: Emulator) -> None:
    assert control(emulator, "health") == {"ok": True}
    control(emulator, "faults", {"match": "countTokens", "status": 500}, method="POST")
    assert control(emulator, "faults")["faults"][0]["status"] == 500
    control(emulator, "faults", method="DELETE")
    assert control(emulator, "faults")["faults"] == []
    assert control(emulator, "config", {"latency_s": 0.01}, method="POST")["latency_s"] == 0.01
    with pytest.raises(urllib.error.HTTPError) as bad:
        control(emulator, "config", {"no_such_setting": 1}, method="POST")
    assert bad.value.code == 400
    assert control(emulator, "requests") == {"requests": []}


async def test_models_list_pages(emulator: Emulator) -> None:
    client = sdk(emulator)
    pager = await client.aio.models.list(config={"page_size": 5})
    names = [model.name async for model in pager]
    assert len(names) == len(set(names)) > 5
    assert sum(1 for r in emulator.requests() if r["rpc"] == "list") > 1
