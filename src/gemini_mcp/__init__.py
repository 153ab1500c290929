"""gemini-mcp-server: every capability of Google's Gemini API as MCP tools."""

__version__ = "0.1.0"
