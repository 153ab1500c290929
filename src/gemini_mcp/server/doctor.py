"""`gemini-mcp doctor`: check the environment a host will start the server in, and say what to fix.

Each check gives a Finding (ok / warn / fail) with what was found and, when something is wrong, the fix.
Exit status 1 when any check fails. Secrets are never printed: only which variable holds them. With
`--demo`, every check runs against the environment `gemini-mcp --demo` serves with (the built-in emulator).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

from gemini_mcp import __version__
from gemini_mcp.config.settings import Settings, SettingsError, unknown_variables, variables_set
from gemini_mcp.errors import redact

Status = Literal["ok", "warn", "fail"]
MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}
ONLY = {"all": "", "stdio": "stdio only", "http": "HTTP only"}


@dataclass
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""
    items: list[str] = field(default_factory=list)  # one line each, under the finding


def check_versions() -> Finding:
    versions = [f"Python {sys.version.split()[0]}", f"gemini-mcp {__version__}"]
    for package in ("mcp", "google-genai", "pydantic", "anyio"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            fix = "reinstall: pip install gemini-mcp-server"
            return Finding("versions", "fail", f"{package} is not installed", fix)
    return Finding("versions", "ok", ", ".join(versions))


def check_demo(settings: Settings) -> Finding:
    return Finding(
        "mode",
        "ok",
        f"demo: the checks below run against the built-in offline emulator at {settings.base_url}, not Gemini; "
        "--demo sets your own keys and project aside",
    )


def check_settings(settings: Settings, environ: Mapping[str, str] | None, origins: Mapping[str, str]) -> Finding:
    """Which of our variables are set, and from where; secrets masked, URLs stripped of credentials."""
    found = variables_set(environ)
    items = []
    for var in found:
        notes = [origins.get(var.variable, "")]
        notes.append("secret" if var.setting.secret else "")
        notes.append(ONLY[var.setting.env.transport])
        notes.append(f"ignored: {var.shadowed_by} wins" if var.shadowed_by else "")
        shown = var.shown if var.setting.secret else redact(var.shown, settings.secrets())
        note = ", ".join(n for n in notes if n)
        items.append(f"{var.variable} = {shown}" + (f"  ({note})" if note else ""))
    if not found:
        return Finding("settings", "ok", "none of this server's variables is set: every setting is at its default")
    detail = (
        f"{len(found)} of this server's variables set (from the environment unless noted); every other setting "
        "is at its default (see --help)"
    )
    return Finding("settings", "ok", detail, items=items)


def check_unknown_variables(environ: Mapping[str, str] | None) -> list[Finding]:
    unknown = unknown_variables(environ)
    if not unknown:
        return []
    guesses = [f"{name}: did you mean {close}?" for name, close in unknown if close]
    return [
        Finding(
            "unknown variables",
            "warn",
            f"{', '.join(name for name, _ in unknown)}: no setting of this server has that name, so it has no effect",
            " ".join([*guesses, "'gemini-mcp --help' lists every setting."]),
        )
    ]


def check_credentials(settings: Settings, environ: Mapping[str, str] | None) -> Finding:
    present = [var.variable for var in variables_set(environ) if var.setting.field == "api_key"]
    if settings.backend == "vertex":
        if settings.uses_project:
            detail = f"Vertex AI, project {settings.project}, location {settings.location or 'us-central1'}"
            if present:
                detail += f" (the project wins over {present[0]}, as in the SDK)"
            return Finding("credentials", "ok", detail + "; application default credentials are used")
        if settings.api_key is not None:
            return Finding("credentials", "ok", f"Vertex AI express mode, key from {settings.api_key_variable}")
        fix = settings.missing_credentials_message()
        return Finding("credentials", "fail", "Vertex AI mode without credentials", fix)
    if settings.api_key is None:
        return Finding("credentials", "fail", "no API key in the environment", settings.missing_credentials_message())
    detail = f"Gemini Developer API, key from {settings.api_key_variable}"
    if len(present) > 1:
        detail += f" ({', '.join(present[1:])} also set and ignored)"
    return Finding("credentials", "ok", detail)


def check_backend_tools(settings: Settings) -> Finding:
    if settings.backend == "vertex":
        return Finding("backend", "ok", "Vertex AI: video with Veo 3.1, Imagen included")
    return Finding(
        "backend",
        "ok",
        "Gemini Developer API: video with Gemini Omni (Interactions API); Imagen, Veo by name and "
        "get_video_operation need Vertex AI mode (GOOGLE_GENAI_USE_VERTEXAI=true)",
    )


def check_output_dir(settings: Settings) -> Finding:
    folder = settings.output_dir.expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True) as probe:
            probe.write(b"ok")
    except OSError as exc:
        return Finding(
            "output folder",
            "fail",
            f"{folder} is not writable ({exc.strerror or exc})",
            "set GEMINI_MCP_OUTPUT_DIR to a folder this user can write",
        )
    return Finding("output folder", "ok", f"{folder} is writable")


def check_allowed_dirs(settings: Settings) -> Finding:
    folders = settings.allowed_dirs or (Path.cwd(),)
    missing = [str(d) for d in folders if not Path(d).expanduser().is_dir()]
    listed = ", ".join(str(d) for d in folders)
    if missing:
        return Finding(
            "local media folders",
            "warn",
            f"{', '.join(missing)} do not exist",
            "fix GEMINI_MCP_ALLOWED_DIRS (folders separated by ':')",
        )
    source = "GEMINI_MCP_ALLOWED_DIRS" if settings.allowed_dirs else "the working directory"
    detail = f"{listed}, from {source}; a host's MCP roots take precedence when it sends them"
    return Finding("local media folders", "ok", detail)


async def check_endpoint(settings: Settings) -> list[Finding]:
    from gemini_mcp.gemini.endpoint import key_status, reachable

    ok, detail = await reachable(settings)
    if not ok:
        return [
            Finding(
                "endpoint",
                "fail",
                detail,
                "check the network or proxy (HTTPS_PROXY), or GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL",
            )
        ]
    findings = [Finding("endpoint", "ok", f"{detail} answers")]
    status = await key_status(settings)
    if status is None:
        return findings
    if status == 200:
        findings.append(Finding("API key", "ok", "accepted: listing models works"))
    elif status in (400, 401, 403):
        findings.append(
            Finding(
                "API key",
                "fail",
                f"rejected (HTTP {status})",
                f"check {settings.api_key_variable}: create a key at https://aistudio.google.com/apikey",
            )
        )
    else:
        findings.append(Finding("API key", "warn", f"listing models answered HTTP {status}", "try again later"))
    return findings


async def diagnose(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    network: bool = True,
    origins: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every check, for `settings` read from `environ` (default: this process's environment); `origins` names
    where a variable came from when it was not the environment (e.g. `--demo`)."""
    findings = [
        check_versions(),
        *([check_demo(settings)] if settings.demo else []),
        check_settings(settings, environ, origins or {}),
        *check_unknown_variables(environ),
        check_credentials(settings, environ),
        check_backend_tools(settings),
        check_output_dir(settings),
        check_allowed_dirs(settings),
    ]
    if network and settings.has_credentials:
        findings.extend(await check_endpoint(settings))
    return findings


async def doctor(
    environ: Mapping[str, str] | None = None,
    *,
    network: bool = True,
    demo: bool = False,
    origins: Mapping[str, str] | None = None,
) -> list[Finding]:
    """`gemini-mcp doctor`: like `diagnose`, and a value the server cannot use is a finding, not a crash."""
    try:
        settings = Settings.from_env(environ, demo=True if demo else None)
    except SettingsError as bad:
        problems = Finding(
            "settings",
            "fail",
            f"{len(bad.problems)} value(s) the server cannot use, so it would not start",
            "fix or unset each variable named above; `gemini-mcp --help` lists every setting and its default",
            items=bad.problems,
        )
        return [check_versions(), problems, *check_unknown_variables(environ)]
    return await diagnose(settings, environ, network=network, origins=origins)


def report(findings: list[Finding], as_json: bool = False, demo: bool = False) -> str:
    if as_json:
        return json.dumps([asdict(f) for f in findings], indent=2)
    lines = []
    for finding in findings:
        lines.append(f"{MARKS[finding.status]} {finding.check}: {finding.detail}")
        lines.extend(f"    {item}" for item in finding.items)
        if finding.fix:
            lines.append(f"    fix: {finding.fix}")
    failed = sum(f.status == "fail" for f in findings)
    if failed:
        lines.append(f"{failed} problem(s) to fix")
    elif demo:
        lines.append(
            "all good: the demo works offline. For Gemini itself, set GEMINI_API_KEY and run 'gemini-mcp doctor' "
            "without --demo"
        )
    else:
        lines.append("all good: add the server to your MCP host (see README)")
    return "\n".join(lines)
