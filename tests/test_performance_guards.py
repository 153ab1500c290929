"""Guards for what the benchmarks measure, without timing anything: what loads at start-up, schema shape,
and that every benchmark script runs (on a tiny workload) and prints its ratios."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client

from gemini_mcp.framework.schema_refs import inline_refs
from gemini_mcp.tools import FAMILIES, specs_by_module

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
# What a script's quick run must print besides its ratios line (each script runs once here, not again elsewhere).
PRINTS = {
    "loop_stall.py": ["after: live_converse, WAV by path", "ratios: stall_over_conversion_before="],
    "stdio_line.py": ["ratios:", "linearity"],
}

START_UP = """
import json, sys, anyio
from mcp import Client
from gemini_mcp.server.app import build_server
from gemini_mcp.config.settings import Settings

async def main():
    server = build_server(Settings.from_env({"GEMINI_API_KEY": "k", "GEMINI_MCP_TOOLSETS": "all"}))
    async with Client(server) as client:
        tools = await client.list_tools()
        listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools.tools]
        tool_modules = sorted(m for m in sys.modules if m.startswith("gemini_mcp.tools."))
        answer = await client.call_tool("list_voices", {})
    heavy = ["google.genai", "google.auth", "gemini_mcp.emulator", "gemini_mcp.gemini.transport"]
    report = {
        "tools": listed,
        "heavy": [m for m in heavy if m in sys.modules],
        "tool_modules_at_start": tool_modules,
        "speech_loaded_by_call": "gemini_mcp.tools.speech" in sys.modules,
        "call_ok": not answer.is_error,
    }
    print(json.dumps(report))

anyio.run(main)
"""


def start_up(tmp_path: Path, **env: str) -> dict[str, Any]:
    # A fresh interpreter: this test process has long since imported everything. (uvicorn is not
    # listed, nor httpx2: the mcp package itself imports them, so the bare-MCPServer floor pays too.)
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), **env}
    out = subprocess.run(
        [sys.executable, "-c", START_UP], capture_output=True, text=True, timeout=120, check=True, env=environ
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_start_up_and_tools_list_do_not_load_the_sdk_or_the_emulator(tmp_path: Path) -> None:
    # What the tool package registers, so a new family is guarded without editing this test.
    registered = specs_by_module()
    expected_names = sorted(spec.name for _, spec in registered)
    assert len(expected_names) == len(set(expected_names))
    assert {module.rsplit(".", 1)[-1] for module, _ in registered} >= set(FAMILIES)  # no family lost its tools
    eager = start_up(tmp_path, GEMINI_MCP_SCHEMA_CACHE="0")
    first = start_up(tmp_path)  # imports the tool modules and writes the catalog
    lazy = start_up(tmp_path)  # registers the tools from the catalog
    for report in (eager, first, lazy):
        assert report["heavy"] == [] and report["call_ok"]
        assert sorted(tool["name"] for tool in report["tools"]) == expected_names
    assert lazy["tools"] == eager["tools"] == first["tools"]  # same names, schemas, annotations
    assert eager["tool_modules_at_start"] and first["tool_modules_at_start"]
    assert {module for module, _ in registered} <= set(eager["tool_modules_at_start"])  # the uncached path
    assert lazy["tool_modules_at_start"] == []  # no tool module (and none of its models) at start-up
    assert lazy["speech_loaded_by_call"]  # the first call loads its module


@pytest.mark.anyio
async def test_tool_schemas_carry_no_references(client: Client) -> None:
    # Inlined schemas validate without a reference registry (cheaper for validating clients, and some
    # hosts mishandle $ref in input schemas).
    for tool in (await client.list_tools()).tools:
        for schema in (tool.input_schema, tool.output_schema):
            if schema is not None:
                assert "$ref" not in json.dumps(schema), tool.name


def _person_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "home": {"$ref": "#/$defs/Address", "description": "where they live"},
            "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]},
            "manager": {"$ref": "#/$defs/Node"},
        },
        "$defs": {
            "Address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "Node": {
                "type": "object",
                "properties": {"next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}},
            },
        },
    }


def test_inline_refs_inlines_plain_definitions_and_keeps_recursive_ones() -> None:
    schema = _person_schema()
    inlined = inline_refs(schema)
    assert inlined["properties"]["home"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "description": "where they live",
    }
    assert inlined["properties"]["work"]["anyOf"][0]["required"] == ["city"]
    assert list(inlined["$defs"]) == ["Node"]  # recursive: kept, and still resolvable
    for instance, valid in [
        ({"home": {"city": "Oslo"}, "manager": {"next": {"next": None}}}, True),
        ({"home": {}}, False),
        ({"home": {"city": "Oslo"}, "manager": {"next": {"next": 3}}}, False),
    ]:
        for candidate in (schema, inlined):
            errors = list(jsonschema.Draft202012Validator(candidate).iter_errors(instance))
            assert (not errors) is valid, (candidate is inlined, instance)


def test_inline_refs_leaves_schemas_without_definitions_alone() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert inline_refs(schema) is schema


@pytest.mark.parametrize("script", BENCHMARKS)
def test_benchmark_runs_quickly_and_prints_ratios(script: str) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ratios:" in out.stdout or "result:" in out.stdout, out.stdout[-3000:]
    for expected in PRINTS.get(script, []):
        assert expected in out.stdout, (expected, out.stdout[-3000:])
