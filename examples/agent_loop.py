"""A minimal agent loop: a Gemini model decides which gemini-mcp tools to call, the loop calls them over MCP
and feeds the results back, until the model answers in text.

    GEMINI_API_KEY=... python examples/agent_loop.py "Draw an image of a red kite, then describe it"
    python examples/agent_loop.py --demo                 # offline, emulated answers, with a default goal
    python examples/agent_loop.py --demo "Say good morning in a cheerful voice"

With no goal it uses a default one (and says so). In demo mode the emulator plays the planning model: it
calls the tool whose name or description best matches the goal's words, passing the goal as the prompt.

The same pattern works with any model that does function calling: MCP tool schemas are JSON Schema, which is
what function declarations take (`parameters_json_schema`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import anyio
from google import genai
from google.genai import types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult, TextContent

DEFAULT_TOOLS = "generate_image,generate_speech,analyze_media,search_web,list_voices"
DEFAULT_GOAL = "Draw an image of a red kite over green hills"
SYSTEM = (
    "You are an assistant with Gemini media tools. Call tools to do what the user asks; when you have what you "
    "need, answer briefly and mention the gemini://media URIs of what you made."
)


def declaration(tool: Any) -> types.FunctionDeclaration:
    """An MCP tool as a Gemini function declaration: the input schema is used as it is."""
    return types.FunctionDeclaration(
        name=tool.name, description=tool.description or "", parameters_json_schema=tool.input_schema
    )


def tool_output(result: CallToolResult) -> dict[str, Any]:
    """What the model sees of a tool result: the structured content, else the text; errors say so."""
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    if result.is_error:
        return {"error": text}
    return {"output": result.structured_content} if result.structured_content is not None else {"output": text}


async def run(goal: str, model: str, tool_names: list[str], max_steps: int, env: dict[str, str]) -> str:
    brain = genai.Client()  # reads GEMINI_API_KEY (or the demo emulator's settings) from the environment
    server = StdioServerParameters(command=sys.executable, args=["-m", "gemini_mcp"], env=env)
    async with Client(server) as mcp:
        listed = (await mcp.list_tools()).tools
        unknown = sorted(set(tool_names) - {t.name for t in listed})
        if not unknown:
            tools = [t for t in listed if t.name in tool_names]
            return await agent(mcp, brain, goal, model, tools, max_steps)
    # Raised here, not inside the client's task group, which would wrap it in an exception group.
    raise SystemExit(f"--tools: the server has no {', '.join(unknown)}; it has: {', '.join(t.name for t in listed)}")


async def agent(mcp: Client, brain: genai.Client, goal: str, model: str, tools: list[Any], max_steps: int) -> str:
    """Ask the model, run the tool calls it makes over MCP, feed the results back; until it answers in text."""
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM,
        tools=[types.Tool(function_declarations=[declaration(t) for t in tools])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents: list[types.Content] = [types.Content(role="user", parts=[types.Part.from_text(text=goal)])]
    for step in range(1, max_steps + 1):
        response = await brain.aio.models.generate_content(model=model, contents=contents, config=config)
        calls = response.function_calls or []
        if not calls:
            return response.text or ""
        contents.append(response.candidates[0].content)  # type: ignore[index,arg-type]
        answers = []
        for call in calls:
            print(f"step {step}: {call.name}({json.dumps(call.args, ensure_ascii=False)})", flush=True)
            result = await mcp.call_tool(call.name or "", dict(call.args or {}))
            output = tool_output(result)
            print(f"    → {json.dumps(output, ensure_ascii=False)[:300]}", flush=True)
            answers.append(types.Part.from_function_response(name=call.name or "", response=output))
        contents.append(types.Content(role="user", parts=answers))
    return f"(stopped after {max_steps} steps)"


def demo_environment() -> dict[str, str]:
    """The server's own demo set-up (`gemini-mcp --demo`): one offline emulator, here for both the agent's
    model and the server's tools. This process becomes that environment, so `genai.Client()` reads it too."""
    from gemini_mcp.server.cli import demo_environment as server_demo

    environ = server_demo()
    environ["SSL_CERT_FILE"] = environ["GEMINI_MCP_CA_FILE"]  # the SDK's own trust setting, for the brain
    os.environ.clear()
    os.environ.update(environ)
    return environ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("goal", nargs="?", help=f"what the agent should do (default: {DEFAULT_GOAL!r})")
    parser.add_argument("--model", default="gemini-2.5-flash", help="the model that plans the tool calls")
    parser.add_argument("--tools", default=DEFAULT_TOOLS, help="comma-separated MCP tools the model may call")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--demo", action="store_true", help="offline: the built-in emulator plays Gemini")
    args = parser.parse_args()
    credentials = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT")
    if not args.demo and not any(os.environ.get(name) for name in credentials):
        parser.error("set GEMINI_API_KEY (or GOOGLE_API_KEY, or Vertex settings), or add --demo to try it offline")
    goal = args.goal
    if not goal:
        goal = DEFAULT_GOAL
        print(f"no goal given: using the default goal {goal!r}", flush=True)
    env = demo_environment() if args.demo else dict(os.environ)
    tool_names = [name.strip() for name in args.tools.split(",") if name.strip()]
    answer = anyio.run(run, goal, args.model, tool_names, args.max_steps, env)
    print(f"\nanswer: {answer}")


if __name__ == "__main__":
    main()
