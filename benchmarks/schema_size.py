"""Context cost: how many bytes (and roughly how many tokens) of tool definitions an agent host puts in front of
its model on every turn, per tool, per toolset and in total.

A host sends each tool's name, description and input schema with every model request. The input schemas are
what `framework/schemas.py` generates (the same function the server publishes with; tests/test_schema_budget.py
checks they are identical), measured as compact JSON; beside them, the schema pydantic would have published
(references inlined, as before the lean generator) and the tool's description. Tokens are estimated as
bytes / 4 (a common rule of thumb for English and JSON; real tokenizers differ by tens of percent). The budgets
are the ones tests/test_schema_budget.py enforces.

    python benchmarks/schema_size.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ratios, table
from tests.test_schema_budget import CATALOG_BUDGET_BYTES, LATER_FIELDS_BYTES, ORIGINAL_TOOLS, TOOL_BUDGET_BYTES

BYTES_PER_TOKEN = 4  # an estimate, not a tokenizer


def size(value: Any) -> int:
    """Bytes of `value` as compact JSON, the way MCP sends it."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def tokens(n: int) -> str:
    return f"~{round(n / BYTES_PER_TOKEN):,}"


def measure() -> list[dict[str, Any]]:
    from gemini_mcp.framework.schema_refs import inline_refs
    from gemini_mcp.framework.schemas import lean_input_schema
    from gemini_mcp.tools import specs_by_module

    rows = []
    for module, spec in specs_by_module():
        rows.append(
            {
                "toolset": getattr(spec, "toolset", None) or module.rsplit(".", 1)[-1],
                "tool": spec.name,
                "input": size(lean_input_schema(spec.input_model)),
                "pydantic": size(inline_refs(spec.input_model.model_json_schema(by_alias=True))),
                "description": len(spec.description.encode()),
                "opt_in": spec.opt_in,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the same run (it takes about a second)")
    parser.parse_args()
    rows = measure()
    table(
        "input schema per tool (compact JSON; tokens ≈ bytes / 4)",
        ["toolset", "tool", "input bytes", "tokens", "pydantic bytes", "description bytes"],
        [
            [r["toolset"], r["tool"], r["input"], tokens(r["input"]), r["pydantic"], r["description"]]
            for r in sorted(rows, key=lambda r: -r["input"])
        ],
    )
    sets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        sets[row["toolset"]].append(row)
    summary = []
    for name, members in sets.items():
        schema = sum(r["input"] for r in members)
        whole = schema + sum(r["description"] + len(r["tool"]) for r in members)
        summary.append([name, len(members), schema, tokens(schema), whole, tokens(whole)])
    for name, members in (("default", [r for r in rows if not r["opt_in"]]), ("all", rows)):
        schema = sum(r["input"] for r in members)
        whole = schema + sum(r["description"] + len(r["tool"]) for r in members)
        summary.append([name, len(members), schema, tokens(schema), whole, tokens(whole)])
    schema_total = sum(r["input"] for r in rows)
    table(
        "per toolset (with descriptions = input schemas + tool names and descriptions)",
        ["toolset", "tools", "input bytes", "tokens", "with descriptions", "tokens"],
        summary,
    )
    original = sum(r["input"] for r in rows if r["tool"] in ORIGINAL_TOOLS)
    largest = max(rows, key=lambda r: r["input"])
    print(
        f"\n{len(ORIGINAL_TOOLS)} original tools: {original} bytes (budget {CATALOG_BUDGET_BYTES}); largest: "
        f"{largest['tool']} {largest['input']} bytes (budget {TOOL_BUDGET_BYTES} per tool); pydantic's schemas: "
        f"{sum(r['pydantic'] for r in rows)} bytes\n"
        f"the same 23 without the fields they gained after the 16 KiB target was set ({LATER_FIELDS_BYTES} bytes, "
        f"listed in tests/test_schema_budget.py): {original - LATER_FIELDS_BYTES} bytes against {16 * 1024}"
    )
    ratios(
        total_over_budget=original / CATALOG_BUDGET_BYTES,
        first_wave_over_16k=(original - LATER_FIELDS_BYTES) / (16 * 1024),
        largest_over_tool_budget=largest["input"] / TOOL_BUDGET_BYTES,
        lean_over_pydantic=schema_total / sum(r["pydantic"] for r in rows),
    )


if __name__ == "__main__":
    main()
