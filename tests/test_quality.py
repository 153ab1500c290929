"""The code stays formatted, lint-clean, type-checked, layered and honest about its dependencies: ruff, mypy,
import-linter (the one-way layers of shared/DESIGN.md) and deptry (every import declared) run in the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> list[str]:
    beside_python = Path(sys.executable).with_name(name)
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "format", "--check", "src", "tests", "benchmarks", "examples"],
        ["ruff", "check", "src", "tests", "benchmarks", "examples"],
        ["mypy"],
        ["lint-imports"],
        ["deptry", "src"],
    ],
    ids=["ruff-format", "ruff-check", "mypy", "import-layers", "deptry"],
)
def test_quality_gate(command: list[str]) -> None:
    result = subprocess.run([*_tool(command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
