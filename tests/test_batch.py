"""batch_generate through MCP: inline and JSONL batches as jobs, states, results saved one for one, cancel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, ResourceLink, TextContent

from gemini_mcp.emulator import Emulator
from tests.conftest import FAKE_KEY

pytestmark = pytest.mark.anyio
FAST = {"GEMINI_MCP_BATCH_POLL_SECONDS": "0.05"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.fixture
def fast(make_client: Callable[..., Client], emulator: Emulator) -> Callable[..., Client]:
    emulator.configure(operation_duration_s=0)  # done at the first poll; tests that watch a batch hold it

    def make(**env: str) -> Client:
        return make_client(**{**FAST, **env})

    return make


def saved_lines(result: CallToolResult) -> list[dict[str, Any]]:
    path = Path(result.structured_content["results"]["path"])
    return [json.loads(line) for line in path.read_text().splitlines()]


async def start(client: Client, **args: Any) -> str:
    result = await client.call_tool("batch_generate", args)
    assert not result.is_error, text_of(result)
    assert result.structured_content["status"] == "running"
    job: str = result.structured_content["job_id"]
    return job


@pytest.mark.parametrize("inline_mb", ["10", "0.01"], ids=["inline", "jsonl-file"])
async def test_a_thousand_requests_come_back_one_for_one(
    fast: Callable[..., Client], emulator: Emulator, inline_mb: str
) -> None:
    requests = [{"prompt": f"Translate item {i}", "key": f"sku-{i}"} for i in range(1000)]
    async with fast(GEMINI_MCP_BATCH_INLINE_MAX_MB=inline_mb) as client:
        job = await start(client, requests=requests, temperature=0.2, display_name="catalogue")
        assert job.startswith("batch.")
        done = await client.call_tool("get_job", {"job_id": job, "wait": True})
    assert not done.is_error, text_of(done)
    out = done.structured_content
    assert out["status"] == "done" and out["state"] == "SUCCEEDED" and out["job_id"] == job
    assert (out["requests"], out["succeeded"], out["failed"]) == (1000, 1000, 0)
    lines = saved_lines(done)
    assert [line["index"] for line in lines] == list(range(1000))
    for i, line in enumerate(lines):
        assert line["key"] == f"sku-{i}" and line["text"].endswith(f"Answer to: Translate item {i}"), line
    assert any(isinstance(block, ResourceLink) for block in done.content)
    assert "1000 of 1000 requests succeeded" in text_of(done)

    [create] = [r for r in emulator.requests() if r["rpc"] == "batchGenerateContent"]
    source = create["body"]["batch"]["inputConfig"]
    if inline_mb == "10":
        inlined = source["requests"]["requests"]
        assert len(inlined) == 1000 and inlined[7]["request"]["generationConfig"]["temperature"] == 0.2
    else:
        assert source["fileName"].startswith("files/")  # the requests went as an uploaded JSONL file


async def test_the_state_goes_pending_running_succeeded(fast: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with fast() as client:
        job = await start(client, requests=[{"prompt": "One"}, {"prompt": "Two [[fail]]"}, {"prompt": "Three"}])
        [name] = emulator.operations()
        pending = await client.call_tool("get_job", {"job_id": job})
        assert pending.structured_content["state"] == "PENDING" and pending.structured_content["requests"] == 3
        emulator.set_progress(name, 40)
        running = await client.call_tool("get_job", {"job_id": job})
        assert running.structured_content["state"] == "RUNNING" and running.structured_content["status"] == "running"
        emulator.finish_operation(name)
        done = await client.call_tool("get_job", {"job_id": job})
    out = done.structured_content
    assert (out["state"], out["succeeded"], out["failed"]) == ("SUCCEEDED", 2, 1)
    [error] = out["first_errors"]
    assert error["index"] == 1 and "Internal error" in error["error"]
    assert [("error" in line, line["index"]) for line in saved_lines(done)] == [(False, 0), (True, 1), (False, 2)]


async def test_cancel_job_cancels_the_batch(fast: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with fast() as client:
        job = await start(client, requests=[{"prompt": "One"}])
        cancelled = await client.call_tool("cancel_job", {"job_id": job})
        assert not cancelled.is_error, text_of(cancelled)
        assert [r["path"] for r in emulator.requests() if r["path"].endswith(":cancel")]
        after = await client.call_tool("get_job", {"job_id": job})
    assert after.is_error and "was cancelled" in text_of(after)


async def test_waiting_with_progress_and_a_failed_batch(fast: Callable[..., Client], emulator: Emulator) -> None:
    emulator.configure(hold_operations=True)
    async with fast() as client:
        beats: list[str | None] = []

        async def watch(value: float, total: float | None, message: str | None) -> None:
            beats.append(message)
            if len(beats) == 2:
                emulator.fail_operation(emulator.operations()[0], "Batch quota exceeded.")

        with anyio.fail_after(20):
            result = await client.call_tool(
                "batch_generate", {"requests": [{"prompt": "One"}], "wait": True}, progress_callback=watch
            )
    assert result.is_error and "ended FAILED" in text_of(result)
    assert "get_job(job_id='batch." in (beats[0] or "")


async def test_an_embeddings_batch(fast: Callable[..., Client], emulator: Emulator) -> None:
    async with fast() as client:
        job = await start(
            client,
            requests=[{"prompt": "red apples"}, {"prompt": "green pears"}],
            task="embed",
            task_type="RETRIEVAL_DOCUMENT",
            output_dimensionality=8,
        )
        done = await client.call_tool("get_job", {"job_id": job, "wait": True})
    assert not done.is_error, text_of(done)
    lines = saved_lines(done)
    assert [len(line["values"]) for line in lines] == [8, 8]
    [create] = [r for r in emulator.requests() if r["rpc"] == "asyncBatchEmbedContent"]
    assert create["model"] == "gemini-embedding-001"


async def test_bad_batches_are_clear_tool_errors(fast: Callable[..., Client], emulator: Emulator) -> None:
    async with fast() as client:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"requests": []}, "requests: the batch is empty"),
            ({"requests": [{"prompt": "a", "key": "x"}, {"prompt": "b", "key": "x"}]}, "requests[1].key: "),
            ({"requests": [{"prompt": "a"}], "task_type": "CLUSTERING"}, "task_type: only for task 'embed'"),
            ({"requests": [{"prompt": "a"}], "task": "embed", "temperature": 1}, "temperature: only for task"),
            ({"requests": [{"prompt": "a"}], "model": "gemini-1.5-flash"}, "model"),
        ]
        for args, start_of in cases:
            result = await client.call_tool("batch_generate", args)
            assert result.is_error, args
            assert start_of in text_of(result), text_of(result)
        unknown = await client.call_tool("get_job", {"job_id": "batch.eyJvcCI6ImJhdGNoZXMvbm9zdWNoIn0"})
        assert unknown.is_error and FAKE_KEY not in text_of(unknown)
    assert not [r for r in emulator.requests() if r["rpc"] == "batchGenerateContent"]


async def test_a_batch_create_is_never_sent_twice(fast: Callable[..., Client], emulator: Emulator) -> None:
    emulator.add_fault("batchGenerateContent", status=503, times=None)
    async with fast() as client:
        result = await client.call_tool("batch_generate", {"requests": [{"prompt": "One"}]})
    assert result.is_error and "batch_generate again starts, and bills, another batch" in text_of(result)
    assert len(emulator.requests("batchGenerateContent")) == 1


async def test_the_batch_toolset(make_client: Callable[..., Client]) -> None:
    async with make_client(GEMINI_MCP_TOOLSETS="batch") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"batch_generate", "get_job", "cancel_job"}
    assert "half the price" in (tools["batch_generate"].description or "")
    assert tools["batch_generate"].annotations.idempotent_hint is False  # type: ignore[union-attr]


async def test_a_batch_that_does_not_exist(fast: Callable[..., Client]) -> None:
    async with fast() as client:
        result = await client.call_tool("get_job", {"job_id": "batch.eyJvcCI6ImJhdGNoZXMvbm9zdWNoIn0"})
    assert result.is_error and text_of(result).startswith("job_id: batch batches/nosuch does not exist")
