"""The settings table (config/settings.py): every variable declared once, feeding `from_env`, `--help`, `doctor`
and the README; and no test server writing to the real user's cache or media folders."""

from __future__ import annotations

import ast
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from mcp import Client
from pydantic import SecretStr

from gemini_mcp.config.settings import (
    SETTINGS,
    VARIABLES,
    Setting,
    Settings,
    SettingsError,
    markdown_table,
    readme_table,
    replace_markdown_table,
    unknown_variables,
    variables_set,
)
from gemini_mcp.server.app import build_server
from tests.conftest import USER_FOLDERS, stdio_params

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "gemini_mcp"


# --- the README ------------------------------------------------------------------------------------------
def test_readme_configuration_table_is_the_settings_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table(readme) == markdown_table(), (
        "README.md's configuration table differs from the settings table in config/settings.py: "
        "run `python -m gemini_mcp.config --update README.md`"
    )
    documented = readme_table(readme)
    for setting in SETTINGS:  # every variable, with its default; nothing else
        row = next(line for line in documented.splitlines() if line.startswith(f"| `{setting.names[0]}`"))
        assert row.endswith(f"| {setting.default_markdown()} |")
    rows = documented.splitlines()[2:]
    assert len(rows) == len(SETTINGS)


def test_the_table_is_replaced_in_place_and_nothing_else_moves() -> None:
    document = "intro\n\n| variable | meaning | default |\n|---|---|---|\n| `OLD` | stale | — |\n\n### Next\ntext\n"
    updated = replace_markdown_table(document)
    assert updated.startswith("intro\n\n") and updated.endswith("\n\n### Next\ntext\n")
    assert readme_table(updated) == markdown_table() and "`OLD`" not in updated


# --- from_env reads every variable of the table ------------------------------------------------------------
def _sample(setting: Setting) -> str:
    """A valid value for the variable that is not its default."""
    annotation = setting.info.annotation
    if setting.field == "backend":
        return "true"
    if annotation is bool:
        return "false" if setting.info.default else "true"
    if annotation in (int, float):
        return "7"
    if get_origin(annotation) is typing.Literal:
        return str(get_args(annotation)[0])
    if get_origin(annotation) is tuple:
        return f"/a{os.pathsep}/b" if get_args(annotation)[0] is Path else "one, two"
    return "/tmp/sample" if Path in get_args(annotation) or annotation is Path else "sample-value"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.names[0])
def test_every_variable_sets_its_field(setting: Setting) -> None:
    default = getattr(Settings.from_env({}), setting.field)
    for name in setting.names:
        value = getattr(Settings.from_env({name: _sample(setting)}), setting.field)
        assert value != default, name
        if setting.secret:
            assert isinstance(value, SecretStr) or all(isinstance(v, SecretStr) for v in value)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.default_literal], ids=lambda s: s.names[0])
def test_every_documented_default_is_the_real_default(setting: Setting) -> None:
    literal = setting.default_literal
    assert literal is not None
    for name in setting.names:
        assert Settings.from_env({name: literal}) == Settings.from_env({}), (name, literal)


def test_each_variable_is_declared_once() -> None:
    names = [name for s in SETTINGS for name in s.names]
    assert len(names) == len(set(names)) == len(VARIABLES)
    assert all(name.isupper() for name in names)
    # the ones --help missed before there was one table
    for name in ("GEMINI_MCP_OUTPUT_MAX_MB", "GEMINI_MCP_OUTPUT_MAX_AGE_HOURS", "GEMINI_MCP_INLINE_MAX_BYTES"):
        assert name in VARIABLES
    assert {"GEMINI_MCP_SCHEMA_CACHE", "GOOGLE_GENAI_API_VERSION", "XDG_CACHE_HOME", "XDG_DATA_HOME"} <= set(VARIABLES)
    assert {s.field for s in SETTINGS if s.secret} == {"api_key", "auth_token", "state_keys"}


def test_key_precedence_and_the_variable_it_came_from() -> None:
    every = {"GOOGLE_API_KEY": "g", "GEMINI_API_KEY": "m", "API_KEY": "a"}
    for winner, value in every.items():
        settings = Settings.from_env(every)
        assert settings.api_key is not None and settings.api_key.get_secret_value() == value
        assert settings.api_key_variable == winner
        every = {k: v for k, v in every.items() if k != winner}
    assert Settings.from_env({"GEMINI_API_KEY": "  "}).api_key is None  # blank is unset


def test_vertex_detection() -> None:
    assert Settings.from_env({}).backend == "gemini"
    assert Settings.from_env({"GOOGLE_GENAI_USE_VERTEXAI": "TRUE"}).backend == "vertex"
    assert Settings.from_env({"GOOGLE_GENAI_USE_ENTERPRISE": "1"}).backend == "vertex"
    both = {"GOOGLE_GENAI_USE_VERTEXAI": "false", "GOOGLE_GENAI_USE_ENTERPRISE": "true"}
    assert Settings.from_env(both).backend == "gemini"  # the first one set wins
    project = Settings.from_env({"GOOGLE_GENAI_USE_VERTEXAI": "yes", "GOOGLE_CLOUD_PROJECT": "p"})
    assert project.uses_project and project.location == "us-central1"


def test_lists_paths_and_secrets(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GEMINI_MCP_ALLOWED_DIRS": f"{tmp_path}{os.pathsep}~/media{os.pathsep}",
            "GEMINI_MCP_ALLOWED_HOSTS": "a:1, b:2,,",
            "GEMINI_MCP_STATE_KEYS": "first-key, second-key",
            "GEMINI_MCP_AUTH_TOKEN": "token-value",
            "GEMINI_MCP_OUTPUT_DIR": "~/out",
        }
    )
    assert settings.allowed_dirs == (tmp_path, Path.home() / "media")
    assert settings.output_dir == Path.home() / "out"  # hosts pass env blocks without a shell to expand `~`
    assert settings.allowed_hosts == ("a:1", "b:2")
    assert [k.get_secret_value() for k in settings.state_keys] == ["first-key", "second-key"]
    assert settings.secrets() == ["token-value", "first-key", "second-key"]
    assert "token-value" not in repr(settings) and "first-key" not in repr(settings)


def test_bad_values_name_the_variable_and_what_it_expects() -> None:
    env = {
        "GEMINI_MCP_TIMEOUT": "abc",
        "GEMINI_MCP_RETRIES": "0",
        "GOOGLE_GENAI_USE_VERTEXAI": "maybe",
        "GEMINI_MCP_LOG_LEVEL": "loud",
        "GEMINI_MCP_STATELESS": "sometimes",
        "XDG_DATA_HOME": "",  # blank is unset, never an error
    }
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    problems = raised.value.problems
    assert problems == [
        "GOOGLE_GENAI_USE_VERTEXAI='maybe' is not valid: expected true or false; fix it or unset it for the "
        "default (false)",
        "GEMINI_MCP_TIMEOUT='abc' is not valid: expected a number greater than 0; fix it or unset it for the "
        "default (120)",
        "GEMINI_MCP_RETRIES='0' is not valid: expected a whole number of 1 or more; fix it or unset it for the "
        "default (4)",
        "GEMINI_MCP_STATELESS='sometimes' is not valid: expected true or false; fix it or unset it for the "
        "default (false)",
        "GEMINI_MCP_LOG_LEVEL='loud' is not valid: expected one of DEBUG, INFO, WARNING, ERROR; fix it or unset "
        "it for the default (INFO)",
    ]


def test_a_secret_in_an_error_is_never_shown() -> None:
    token = VARIABLES["GEMINI_MCP_AUTH_TOKEN"]
    message = token.problem("GEMINI_MCP_AUTH_TOKEN", "s3cr3t-value")
    assert "s3cr3t-value" not in message and "GEMINI_MCP_AUTH_TOKEN (value hidden)" in message


# --- doctor's view ---------------------------------------------------------------------------------------
def test_variables_set_masks_secrets_and_names_the_winner() -> None:
    found = {
        v.variable: v
        for v in variables_set({"GEMINI_API_KEY": "key-one", "GOOGLE_API_KEY": "key-two", "GEMINI_MCP_TIMEOUT": "9"})
    }
    assert found["GOOGLE_API_KEY"].shown == "(hidden)" and found["GOOGLE_API_KEY"].shadowed_by is None
    assert found["GEMINI_API_KEY"].shown == "(hidden)" and found["GEMINI_API_KEY"].shadowed_by == "GOOGLE_API_KEY"
    assert found["GEMINI_MCP_TIMEOUT"].shown == "9"
    assert unknown_variables({"GEMINI_MCP_TIMEOUTS": "9", "GEMINI_MCP_TIMEOUT": "9", "OTHER": "x"}) == [
        ("GEMINI_MCP_TIMEOUTS", "GEMINI_MCP_TIMEOUT")
    ]


# --- nothing outside config/ reads the environment for our settings ---------------------------------------
def test_no_module_outside_config_reads_the_environment() -> None:
    readers = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("config/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed: set[int] = set()
        if relative == "server/cli.py":  # the demo environment builder copies os.environ, then overrides it
            builder = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "demo_environment")
            allowed = {id(n) for n in ast.walk(builder)}
        for node in ast.walk(tree):
            reads = (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb")) or (
                isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & {"environ"}
            )
            if reads and id(node) not in allowed:
                readers.append(f"{relative}:{node.lineno}")
    assert readers == [], "read settings through gemini_mcp.config, not os.environ"


# --- the user's folders ----------------------------------------------------------------------------------
def test_the_folders_follow_home_and_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in USER_FOLDERS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings.from_env({})
    assert settings.output_dir == tmp_path / ".local" / "share" / "gemini-mcp" / "media"
    assert settings.schema_cache_dir == tmp_path / ".cache" / "gemini-mcp"
    given = Settings.from_env({"XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CACHE_HOME": str(tmp_path / "c")})
    assert given.output_dir == tmp_path / "d" / "gemini-mcp" / "media"
    assert given.schema_cache_dir == tmp_path / "c" / "gemini-mcp"
    assert Settings.from_env({"GEMINI_MCP_SCHEMA_CACHE": "off"}).schema_cache_dir is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "process"))  # a mapping without it: the process's
    assert Settings.from_env({"GEMINI_API_KEY": "k"}).schema_cache_dir == tmp_path / "process" / "gemini-mcp"


def test_in_process_servers_use_the_session_folders(user_folders: dict[str, str]) -> None:
    settings = Settings.from_env({"GEMINI_API_KEY": "k"})
    cache = Path(user_folders["XDG_CACHE_HOME"]) / "gemini-mcp"
    assert settings.schema_cache_dir == cache
    assert settings.output_dir == Path(user_folders["XDG_DATA_HOME"]) / "gemini-mcp" / "media"
    build_server(settings)
    assert list(cache.glob("schemas-*.json"))  # the schema cache was written there, not in ~/.cache


async def _save_an_image(env: dict[str, str], drop: tuple[str, ...] = ()) -> Path:
    params = stdio_params(env)
    assert params.env is not None
    for name in drop:
        params.env.pop(name, None)
    async with Client(params) as client:
        result = await client.call_tool("generate_image", {"prompt": "a kite", "output": "link"})
    assert not result.is_error, result
    return Path(result.structured_content["images"][0]["path"])  # type: ignore[index]


@pytest.mark.anyio
async def test_a_server_subprocess_writes_nothing_under_home(
    make_env: Callable[..., dict[str, str]], tmp_path: Path, user_folders: dict[str, str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    saved = await _save_an_image(make_env(GEMINI_MCP_OUTPUT_DIR=None, HOME=str(home)))
    assert saved.is_relative_to(Path(user_folders["XDG_DATA_HOME"]) / "gemini-mcp" / "media")
    assert list((Path(user_folders["XDG_CACHE_HOME"]) / "gemini-mcp").glob("schemas-*.json"))
    assert list(home.rglob("*")) == []


@pytest.mark.anyio
async def test_without_the_session_folders_a_server_would_write_under_home(
    make_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    """The control for the test above: the defaults do follow HOME, so an empty HOME there means something."""
    home = tmp_path / "home"
    env: dict[str, Any] = make_env(GEMINI_MCP_OUTPUT_DIR=None, HOME=str(home), XDG_CACHE_HOME=None, XDG_DATA_HOME=None)
    saved = await _save_an_image(env, drop=USER_FOLDERS)
    assert saved.is_relative_to(home / ".local" / "share" / "gemini-mcp" / "media")
    assert list((home / ".cache" / "gemini-mcp").glob("schemas-*.json"))
