#!/usr/bin/env bash
# Claude Code: register gemini-mcp for this user (stdio), or a remote one over HTTP with a bearer token.
set -euo pipefail
claude mcp add gemini --scope user --env GEMINI_API_KEY="$GEMINI_API_KEY" \
  -- /absolute/path/to/gemini-mcp-server/.venv/bin/gemini-mcp
claude mcp add --transport http gemini-remote http://127.0.0.1:8000/mcp \
  --header "Authorization: Bearer $GEMINI_MCP_AUTH_TOKEN"
