"""The emulator as a product: the real SDK against it for both backends, its control plane, faults, auth."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import anyio
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


# --- operations finish on command; tests wait on events, never on the clock --------------------------------
VEO = "veo-3.1-fast-generate-preview"


async def start_video(client: genai.Client, prompt: str = "a fox") -> types.GenerateVideosOperation:
    return await client.aio.models.generate_videos(model=VEO, source=types.GenerateVideosSource(prompt=prompt))


async def poll_once(client: genai.Client, operation: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    return await client.aio.operations.get(operation)


async def test_held_operations_run_until_finished_failed_or_all_finished(emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    client = sdk(emulator, vertex=True)
    first, second, third = [await start_video(client, prompt) for prompt in ("one", "two", "three")]
    assert emulator.operations() == [first.name, second.name, third.name]
    running = await poll_once(client, first)
    assert not running.done and not (running.metadata or {}).get("progressPercent")  # no progress unless set
    emulator.set_progress(str(first.name), 40)
    assert (await poll_once(client, first)).metadata == {"progressPercent": 40}
    assert not (await poll_once(client, first)).done  # still held: nothing but a test ends it
    emulator.finish_operation(str(first.name).rsplit("/", 1)[-1])  # the id alone is enough
    done = await poll_once(client, first)
    assert done.done and done.response and done.response.generated_videos
    video = done.response.generated_videos[0].video
    assert video is not None and video.video_bytes and video.video_bytes[4:8] == b"ftyp"
    emulator.fail_operation(str(second.name), "quota for this project exhausted", code=8)
    failed = await poll_once(client, second)
    assert failed.done and failed.error == {"code": 8, "message": "quota for this project exhausted"}
    with pytest.raises(ValueError, match="already finished"):
        emulator.fail_operation(str(second.name))
    assert emulator.finish_all() == [third.name]
    assert (await poll_once(client, third)).done
    with pytest.raises(KeyError, match="no emulated operation"):
        emulator.finish_operation("nope")
    with pytest.raises(ValueError, match="between 0 and 100"):
        emulator.set_progress(str(third.name), 101)
    await client.aio.aclose()


async def test_timed_operations_are_the_default_and_can_still_be_finished_on_command(emulator: Emulator) -> None:
    defaults = emulator.configure()
    assert not defaults.hold_operations and 0 < defaults.operation_duration_s <= 5  # the demo finishes alone
    client = sdk(emulator, vertex=True)
    emulator.configure(operation_duration_s=0)
    assert (await poll_once(client, await start_video(client))).done  # done at the first poll
    emulator.configure(operation_duration_s=3600)
    slow = await start_video(client)
    running = await poll_once(client, slow)
    assert not running.done and (running.metadata or {}).get("progressPercent") == 0
    emulator.finish_operation(str(slow.name))
    assert (await poll_once(client, slow)).done
    await client.aio.aclose()


async def test_held_requests_stay_in_flight_until_released(emulator: Emulator) -> None:
    emulator.add_fault(match="generateContent", hold=True, times=None)
    client = sdk(emulator)
    answers: list[str | None] = []
    async with anyio.create_task_group() as group:
        for prompt in ("first", "second"):

            async def ask(prompt: str = prompt) -> None:
                answer = await client.aio.models.generate_content(model="gemini-2.5-flash", contents=prompt)
                answers.append(answer.text)

            group.start_soon(ask)
        arrived = await emulator.await_requests("generateContent", 2)
        assert len(arrived) == 2 and answers == []  # both recorded, neither answered
        [second] = await emulator.await_requests("generateContent", where=lambda r: "second" in json.dumps(r["body"]))
        assert second["body"]["contents"][0]["parts"][0]["text"] == "second"
        assert emulator.release_held() == 1
    assert len(answers) == 2 and all(answers)
    assert (await client.aio.models.generate_content(model="gemini-2.5-flash", contents="x")).text  # not held
    await client.aio.aclose()


def test_waits_fail_with_what_did_arrive(emulator: Emulator) -> None:
    with pytest.raises(TimeoutError, match="countTokens") as late:
        emulator.wait_for_requests("countTokens", 1, timeout=0)
    assert "received so far: []" in str(late.value)
    with pytest.raises(TimeoutError, match="operation"):
        emulator.wait_for_operations(1, timeout=0)


async def test_operation_control_over_http(emulator: Emulator) -> None:
    async def call(path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        return await anyio.to_thread.run_sync(lambda: control(emulator, path, body, method))

    assert (await call("config", {"hold_operations": True}))["hold_operations"] is True
    client = sdk(emulator, vertex=True)
    operation = await start_video(client)
    [listed] = (await call("operations?count=1", method="GET"))["operations"]
    ident = str(operation.name).rsplit("/", 1)[-1]
    assert listed == {
        "name": operation.name,
        "id": ident,
        "done": False,
        "held": True,
        "progressPercent": None,
        "error": None,
    }
    assert (await call(f"operations/{ident}:progress", {"percent": 55}))["progressPercent"] == 55
    assert (await poll_once(client, operation)).metadata == {"progressPercent": 55}
    assert (await call(f"operations/{operation.name}:fail", {"message": "boom"}))["error"]["message"] == "boom"
    failed = await poll_once(client, operation)
    assert failed.done and failed.error == {"code": 13, "message": "boom"}
    for path, body, status in (
        (f"operations/{ident}:fail", {}, 409),
        ("operations/unknown:finish", None, 404),
        (f"operations/{ident}:progress", {}, 400),
        (f"operations/{ident}:rewind", None, 404),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            await call(path, body)
        assert refused.value.code == status, path
    other = await start_video(client)
    assert (await call("operations:finishAll")) == {"finished": [other.name]}
    assert (await poll_once(client, other)).done
    polls = (await call("requests?rpc=fetchPredictOperation&count=3", method="GET"))["requests"]
    assert len(polls) == 3 and {r["rpc"] for r in polls} == {"fetchPredictOperation"}
    with pytest.raises(urllib.error.HTTPError) as late:
        await call("requests?rpc=fetchPredictOperation&count=99&timeout=0", method="GET")
    assert late.value.code == 408
    await client.aio.aclose()


async def test_held_requests_are_released_over_http(emulator: Emulator) -> None:
    control(emulator, "faults", {"match": "countTokens", "hold": True}, method="POST")
    client = sdk(emulator)
    counted: list[int | None] = []
    async with anyio.create_task_group() as group:

        async def count() -> None:
            tokens = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="a b c")
            counted.append(tokens.total_tokens)

        group.start_soon(count)
        await emulator.await_requests("countTokens", 1)
        assert counted == []
        release = {"match": "countTokens"}
        assert await anyio.to_thread.run_sync(lambda: control(emulator, "faults:release", release, "POST")) == {
            "released": 1
        }
    assert counted and counted[0]
    await client.aio.aclose()
