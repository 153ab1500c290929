"""Stand-ins for the model APIs of real agent hosts (Claude Code, Codex), and a proxy that lets nothing out.

Each is a tiny HTTP server on 127.0.0.1 in a daemon thread that records what it receives, so a test can read
what the host handed its model (the tools it offered, the tool results) and what else it tried to reach.
"""
