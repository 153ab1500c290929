"""Logging to stderr (stdout is the MCP channel in stdio mode) with secrets redacted from every record.

Every logger propagates to the one root handler below and its RedactingFilter, uvicorn's too: the HTTP server
runs uvicorn with `log_config=None`, because uvicorn's own handlers would print access lines (request paths
with `key=`, `access_token=` and media-link `sig=` query values) unfiltered."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from gemini_mcp.errors import redact


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with API keys and tokens removed, wherever they came from."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if record.exc_info:
            # Tracebacks can quote request headers; format them now, redacted, and drop the raw exception.
            cleaned += "\n" + redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: Sequence[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # sse_starlette logs every streamed chunk (whole results, media included) at DEBUG.
    for noisy in ("httpx", "httpx2", "httpcore", "google_genai", "sse_starlette"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
