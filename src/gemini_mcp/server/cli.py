"""The `gemini-mcp` command: serve MCP over stdio (default) or HTTP, or run the offline Gemini emulator."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Awaitable, Sequence

from gemini_mcp import __version__
from gemini_mcp.config.settings import Settings, SettingsError, help_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gemini-mcp",
        description="MCP server for Google's Gemini API. With no command, serves MCP over stdio.",
        epilog=help_text() + "\n\nexamples:\n"
        "  gemini-mcp                                  # stdio, for Claude Desktop / VS Code / Cursor\n"
        "  gemini-mcp --transport http --port 8000     # Streamable HTTP at http://127.0.0.1:8000/mcp\n"
        "  gemini-mcp doctor                           # check the set-up, say what to fix\n"
        "  gemini-mcp --demo doctor                    # check the demo set-up (the built-in emulator)\n"
        "  gemini-mcp --demo                           # try every tool offline (emulated answers)\n"
        "  gemini-mcp --toolsets text,media            # fewer tools: less context for the agent to read\n"
        "  gemini-mcp emulator --port 8765             # offline Gemini API; then\n"
        "  GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765 GEMINI_API_KEY=any gemini-mcp",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gemini-mcp {__version__}")
    parser.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="how MCP clients connect (default: stdio)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000)")
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="HTTP: keep no per-client state (run many replicas behind a load balancer); same as GEMINI_MCP_STATELESS",
    )
    parser.add_argument("--legacy-sse", action="store_true", help="HTTP: also serve the legacy SSE transport at /sse")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="HTTP: a browser Origin allowed to connect (repeatable; GEMINI_MCP_ALLOWED_ORIGINS)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=None,
        metavar="HOST[:PORT]",
        help="HTTP: a Host header value accepted (repeatable; GEMINI_MCP_ALLOWED_HOSTS)",
    )
    tools = parser.add_argument_group(
        "which tools are offered",
        "toolsets: text, understanding, functions, search, chats, embeddings, images, speech,\n"
        "video, live, models, jobs; media = images,speech,video; all (the default). A toolset\n"
        "with long-running jobs (video) brings get_job and cancel_job. Over HTTP the headers\n"
        "X-MCP-Toolsets, X-MCP-Tools, X-MCP-Exclude-Tools and X-MCP-Read-Only narrow this per\n"
        "request (they never widen it).",
    )
    tools.add_argument(
        "--toolsets",
        action="append",
        metavar="NAME[,NAME]",
        help="offer only these toolsets (repeatable; GEMINI_MCP_TOOLSETS)",
    )
    tools.add_argument(
        "--tools",
        action="append",
        metavar="TOOL[,TOOL]",
        help="also offer these single tools; alone, offer only them (repeatable; GEMINI_MCP_TOOLS)",
    )
    tools.add_argument(
        "--exclude-tools",
        action="append",
        metavar="TOOL[,TOOL]",
        help="never offer these tools (repeatable; GEMINI_MCP_EXCLUDE_TOOLS)",
    )
    tools.add_argument(
        "--read-only",
        action="store_true",
        help="offer only the tools annotated read-only (GEMINI_MCP_READ_ONLY)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try every tool with no key and no network: the built-in emulator answers (Vertex express mode, so "
        "Imagen and Veo work too), and every result is labelled as emulated",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="log level for stderr (default: GEMINI_MCP_LOG_LEVEL or INFO)",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    emulator = commands.add_parser(
        "emulator",
        help="run the offline, wire-compatible Gemini API emulator",
        description="Run the offline Gemini API emulator (HTTP) for trying the tools and testing agents.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    doctor = commands.add_parser(
        "doctor",
        help="check settings, credentials, backend, folders and the Gemini endpoint, and say what to fix",
        description="Check the environment the server will run in (run it with the same env as your MCP host). "
        "With --demo before it, check the demo's environment: the built-in emulator instead of Gemini.",
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--offline", action="store_true", help="skip the network checks")
    # SUPPRESS: a subcommand's default would otherwise overwrite `gemini-mcp --demo doctor`'s --demo.
    doctor.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="check the demo's environment instead"
    )
    return parser


DEMO_KEY = "demo-key-for-the-offline-emulator"
NO_CLIENT_HINT = "An MCP host (Claude Desktop, VS Code, ...) starts this command itself with pipes; see README."


def demo_environment(set_by_demo: list[str] | None = None) -> dict[str, str]:
    """The environment with every credential replaced by the built-in emulator (started here, on loopback).

    `set_by_demo`, when given, receives the names of the variables this changed (doctor says so)."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from gemini_mcp.emulator import Emulator
    from gemini_mcp.emulator.tls import make_tls_files

    # TLS, because the SDK opens the Live API only over wss://; the server trusts this throwaway CA.
    folder = Path(tempfile.mkdtemp(prefix="gemini-mcp-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tls = make_tls_files(folder)
    emulator = Emulator(ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file).start()  # a daemon thread
    credentials = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(credentials)}
    # The Developer API, as for a user with a Gemini API key: video is Gemini Omni there (Interactions API).
    environ.update(
        GEMINI_API_KEY=DEMO_KEY,
        GOOGLE_GEMINI_BASE_URL=emulator.base_url,
        GOOGLE_VERTEX_BASE_URL=emulator.base_url,
        GEMINI_MCP_CA_FILE=tls.ca_file,
    )
    environ.setdefault("GEMINI_MCP_VIDEO_POLL_SECONDS", "1")  # emulated videos finish in seconds
    if set_by_demo is not None:
        set_by_demo.extend(k for k, v in environ.items() if os.environ.get(k) != v)
    return environ


def _banner(settings: Settings) -> str:
    if settings.demo:
        return (
            f"gemini-mcp {__version__}: DEMO over {settings.transport}: every answer comes from the built-in "
            "offline emulator and is labelled so. Set GEMINI_API_KEY and drop --demo for Gemini itself."
        )
    if settings.has_credentials:
        source = f"Vertex project {settings.project}" if settings.uses_project else settings.api_key_variable
        credentials = f"credentials from {source}"
    else:
        credentials = "no API key yet: tools will explain what to set"
    return (
        f"gemini-mcp {__version__}: serving MCP over stdio ({settings.backend} backend, {credentials}).\n"
        "An MCP host (Claude Desktop, VS Code, ...) starts this command itself; see README. Ctrl+C stops it."
    )


def _names(values: list[str] | None) -> tuple[str, ...] | None:
    """A repeatable comma-separated flag's names, lowercased as the variables' are; None when not given."""
    if not values:
        return None
    return tuple(name.strip().lower() for value in values for name in value.split(",") if name.strip())


def _settings(environ: dict[str, str] | None, args: argparse.Namespace) -> Settings | None:
    """The settings from the environment and the flags; None, once the bad values are reported in one line."""
    try:
        return Settings.from_env(
            environ,
            demo=True if args.demo else None,
            transport=args.transport,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            stateless=True if args.stateless else None,
            legacy_sse=True if args.legacy_sse else None,
            allowed_origins=tuple(args.allow_origin) if args.allow_origin else None,
            allowed_hosts=tuple(args.allow_host) if args.allow_host else None,
            toolsets=_names(args.toolsets),
            tools=_names(args.tools),
            exclude_tools=_names(args.exclude_tools),
            read_only=True if args.read_only else None,
        )
    except SettingsError as bad:
        print(f"gemini-mcp: cannot start: {bad}", file=sys.stderr)
        return None


def _tools_known(settings: Settings) -> bool:
    """Whether every toolset and tool the settings name exists; if not, says so in one line. Names are checked
    against the tool catalog, so this reads it only when some are given."""
    if not (settings.toolsets or settings.tools or settings.exclude_tools):
        return True
    from gemini_mcp.server.app import check_tool_selection

    try:
        check_tool_selection(settings)
    except SettingsError as bad:
        print(f"gemini-mcp: cannot start: {bad}", file=sys.stderr)
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import anyio

    if args.command == "emulator":
        from gemini_mcp.emulator import serve

        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(lambda: serve(args.host, args.port))
        return 0

    if args.command == "doctor":
        from gemini_mcp.server.doctor import doctor, report

        set_by_demo: list[str] = []
        environ = demo_environment(set_by_demo) if args.demo else None
        origins = dict.fromkeys(set_by_demo, "set by --demo")
        findings = anyio.run(lambda: doctor(environ, network=not args.offline, demo=args.demo, origins=origins))
        print(report(findings, as_json=args.json, demo=args.demo))
        return 1 if any(f.status == "fail" for f in findings) else 0

    # Before anything else, so a bad value is reported even when there turns out to be no client to serve.
    settings = _settings(None, args)
    if settings is None or not _tools_known(settings):
        return 2
    if args.transport == "stdio":
        from gemini_mcp.server.stdio import stdio_without_client

        if reason := stdio_without_client():
            print(
                f"gemini-mcp: {reason}, so there is no MCP client to serve; exiting. {NO_CLIENT_HINT}", file=sys.stderr
            )
            return 0
    if args.demo:
        settings = _settings(demo_environment(), args)
        if settings is None:
            return 2
    from gemini_mcp.server.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets())
    from gemini_mcp.server.app import build_server

    try:
        server = build_server(settings)
    except SettingsError as bad:  # checked above already; the demo's environment could differ
        print(f"gemini-mcp: cannot start: {bad}", file=sys.stderr)
        return 2
    if settings.demo or (settings.transport == "stdio" and sys.stdin is not None and sys.stdin.isatty()):
        print(_banner(settings), file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        if settings.transport == "http":
            from gemini_mcp.server.http import StartupRefused, check_startup, serve_http

            try:
                check_startup(settings)
            except StartupRefused as refused:
                print(f"gemini-mcp: {refused}", file=sys.stderr)
                return 2
            anyio.run(lambda: serve_http(server, settings))  # uvicorn shuts down gracefully on signals
        else:
            from gemini_mcp.server.shutdown import Shutdown, serve_until_signalled
            from gemini_mcp.server.stdio import run_stdio

            def serve_stdio(shutdown: Shutdown) -> Awaitable[bool]:
                return run_stdio(server, shutdown, settings.stdio_max_line_mb)

            received = anyio.run(lambda: serve_until_signalled(serve_stdio, settings.shutdown_grace_s))
            if not received:
                print(
                    f"gemini-mcp: stdin closed before any message arrived, so there was no MCP client to serve. "
                    f"{NO_CLIENT_HINT}",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
