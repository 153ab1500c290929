// A third-party client: the official TypeScript SDK drives gemini-mcp the way Node-based hosts do.
// Usage: node ts_sdk_client.mjs stdio <command> [args...]   |   node ts_sdk_client.mjs http <url> [bearer-token]
// Prints one JSON summary line on stdout; the Python test (tests/test_interop.py) checks it.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [mode, target, ...rest] = process.argv.slice(2);
const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: "ignore" })
    : new StreamableHTTPClientTransport(new URL(target), {
        requestInit: rest[0] ? { headers: { Authorization: `Bearer ${rest[0]}` } } : {},
      });

const client = new Client({ name: "ts-sdk-interop", version: "1.0.0" });
await client.connect(transport);

async function callWithProgress(name, args) {
  const progress = [];
  const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
    onprogress: (p) => progress.push({ progress: p.progress, total: p.total, message: p.message }),
    timeout: 60000,
  });
  return {
    isError: Boolean(result.isError),
    content: result.content.map((c) => ({ type: c.type, mimeType: c.mimeType, uri: c.uri, bytes: c.data?.length })),
    structured: result.structuredContent ?? null,
    progress,
  };
}

const tools = (await client.listTools()).tools;
const speech = await callWithProgress("generate_speech", { text: "Hello from the TypeScript SDK", output: "both" });
const image = await callWithProgress("generate_image", { prompt: "a red kite over hills", output: "both" });
const link = image.content.find((c) => c.type === "resource_link");
const resource = link ? await client.readResource({ uri: link.uri }) : null;

console.log(
  JSON.stringify({
    server: client.getServerVersion(),
    tools: tools.map((t) => ({ name: t.name, hasOutputSchema: Boolean(t.outputSchema), annotations: t.annotations })),
    speech,
    image,
    resource: resource
      ? resource.contents.map((c) => ({ uri: c.uri, mimeType: c.mimeType, blobChars: c.blob?.length ?? 0 }))
      : null,
  }),
);
await client.close();
