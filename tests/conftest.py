"""Shared fixtures: the emulator as a real loopback server, the MCP server pointed at it, MCP clients.

Every upstream call goes through the real google-genai SDK over HTTP to the emulator; nothing is mocked.
No test writes to the real user's folders: `user_folders` points XDG_CACHE_HOME (the schema cache) and
XDG_DATA_HOME (the default media folder) at a session folder, for servers in this process and for every
server subprocess (they inherit it, and `make_env` carries it for those started with a bare environment).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from gemini_mcp.config.settings import Settings
from gemini_mcp.emulator import Emulator
from gemini_mcp.server.app import build_server

# A recognisable fake key: tests scan outputs and logs for it to prove it never leaks.
FAKE_KEY = "gm-test-key-7f3a9c51d2e84b60"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


USER_FOLDERS = ("XDG_CACHE_HOME", "XDG_DATA_HOME")


@pytest.fixture(scope="session", autouse=True)
def user_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The session's stand-ins for this user's cache and data folders, set in this process's environment."""
    base = tmp_path_factory.mktemp("user-folders")
    folders = {"XDG_CACHE_HOME": str(base / "cache"), "XDG_DATA_HOME": str(base / "data")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in folders.items():
            patch.setenv(name, value)
        yield folders


def user_folders_env() -> dict[str, str]:
    """The session's user folders, for an environment built from scratch (`user_folders` has set them)."""
    return {name: os.environ[name] for name in USER_FOLDERS if name in os.environ}


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emulator(emulator_server: Emulator) -> Iterator[Emulator]:
    """The session's emulator with no recorded requests and no pending faults."""
    emulator_server.clear()
    yield emulator_server
    emulator_server.clear()


@pytest.fixture
def make_env(emulator: Emulator, tmp_path: Any) -> Callable[..., dict[str, str]]:
    """Environment for a server talking to the emulator; keyword arguments add or remove (None) variables."""

    def make(**changes: str | None) -> dict[str, str]:
        env = {
            "GEMINI_API_KEY": FAKE_KEY,
            "GOOGLE_GEMINI_BASE_URL": emulator.base_url,
            "GOOGLE_VERTEX_BASE_URL": emulator.base_url,
            "GEMINI_MCP_OUTPUT_DIR": str(tmp_path / "media"),
            # Every tool, the opt-in toolsets too: the suite exercises them all (tests of the default set
            # remove this with GEMINI_MCP_TOOLSETS=None).
            "GEMINI_MCP_TOOLSETS": "all",
            **user_folders_env(),
        }
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    return make


@pytest.fixture
def make_client(make_env: Callable[..., dict[str, str]]) -> Callable[..., Client]:
    """An in-memory MCP client of a fresh server built from `make_env(**changes)`."""

    def make(mode: str = "auto", **changes: str | None) -> Client:
        return Client(build_server(Settings.from_env(make_env(**changes))), mode=mode)

    return make


@pytest.fixture
async def client(make_client: Callable[..., Client]) -> AsyncIterator[Client]:
    async with make_client() as connected:
        yield connected


def stdio_params(env: dict[str, str], *args: str) -> StdioServerParameters:
    """Launch `python -m gemini_mcp` as a subprocess, the way a host launches `gemini-mcp`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI_", "GOOGLE_"))}
    full_env.pop("API_KEY", None)
    full_env.update(env)
    return StdioServerParameters(command=sys.executable, args=["-m", "gemini_mcp", *args], env=full_env)
