"""Log messages to the client (`logging/setLevel`, `notifications/message`), per session.

Hosts such as the MCP Inspector show these beside a call: here, that Gemini answered with a retryable
status and the call is being retried, which otherwise looks like a hang. The client chooses the lowest
level it wants with `logging/setLevel` (default: warning). The capability is gone in protocol 2026-07-28
(SEP-2577); sessions that negotiate it simply never receive these messages.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import EmptyResult, LoggingLevel, SetLevelRequestParams

from gemini_mcp.framework.mcp_adapter import connection_of, lowlevel_server

logger = logging.getLogger("gemini_mcp.client_logging")

LEVELS: list[LoggingLevel] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
DEFAULT_LEVEL: LoggingLevel = "warning"

# Connections come and go with their clients: keep their chosen levels only as long as they live.
_levels: weakref.WeakKeyDictionary[Any, LoggingLevel] = weakref.WeakKeyDictionary()


def register_client_logging(server: MCPServer[Any]) -> None:
    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        try:
            _levels[connection_of(ctx.session)] = params.level
        except TypeError:  # a session object that cannot be weakly referenced: keep the default
            logger.debug("log level not kept for %r", type(ctx.session).__name__)
        return EmptyResult()

    # No MCPServer API registers this handler; on the low-level server it also advertises `logging`.
    lowlevel_server(server).add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def wanted(session: Any, level: LoggingLevel) -> bool:
    try:
        chosen = _levels.get(connection_of(session), DEFAULT_LEVEL)
    except TypeError:
        chosen = DEFAULT_LEVEL
    return LEVELS.index(level) >= LEVELS.index(chosen)


async def log_to_client(context: Context[Any, Any] | None, level: LoggingLevel, message: str) -> None:
    """Send `message` to the client of this request if it wants `level`; never fails the call."""
    if context is None:
        return
    try:
        request = context.request_context
        if not wanted(request.session, level):
            return
        # Deprecated in 2026-07-28, still what 2025-11-25 hosts use. A filter, not `catch_warnings()` around the
        # await: that swaps the process-wide filters while other tasks run, and two such calls interleaving
        # can leave every warning ignored for good.
        warnings.filterwarnings(
            "ignore", message="The logging capability is deprecated", category=MCPDeprecationWarning
        )
        await context.log(level, message, logger_name="gemini")
    except Exception as exc:  # no session, a closed stream, a protocol without logging: drop the message
        logger.debug("log message not sent to the client: %s", exc)
