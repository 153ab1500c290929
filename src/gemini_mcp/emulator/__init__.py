"""The offline, wire-compatible Gemini API emulator (HTTP + WebSocket on loopback).

Point any google-genai program at it with `GOOGLE_GEMINI_BASE_URL` / `GOOGLE_VERTEX_BASE_URL` or
`HttpOptions(base_url=...)`. It validates what it receives like the real API, answers deterministically,
records requests and can inject faults (see `Emulator.add_fault`). Long-running operations finish by
themselves after `operation_duration_s`, or, with `hold_operations`, only when a test says so; the control
plane (`/_emulator/…`, described in `app.py`) and `Emulator` let tests finish, fail and advance operations,
hold requests in flight, and wait until the code under test got somewhere, so no test sleeps.
"""

from gemini_mcp.emulator.app import create_app
from gemini_mcp.emulator.runner import Emulator, serve
from gemini_mcp.emulator.state import Config, EmulatorState, Fault, Registry, RpcContext

__all__ = ["Config", "Emulator", "EmulatorState", "Fault", "Registry", "RpcContext", "create_app", "serve"]
